#include "client/cli/global_options.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "client/cli/exit_codes.h"
#include "client/cli/interrupt.h"

namespace mvcli {

void SetupGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--addr", options.addr,
                 "Server address HOST:PORT (default: $MODELVAULT_ADDR, "
                 "else 127.0.0.1:7070)")
      ->type_name("HOST:PORT");
  app.add_option("--token-file", options.token_file,
                 "File holding the bearer token (default: $MODELVAULT_TOKEN, "
                 "else $XDG_CONFIG_HOME/modelvault/token)")
      ->type_name("FILE");
  app.add_option("--cacert", options.tls.ca_cert,
                 "CA bundle (PEM): use TLS and verify the server with it "
                 "(default: $MODELVAULT_CACERT; neither = plaintext)")
      ->type_name("FILE");
  app.add_option("--client-cert", options.tls.client_cert,
                 "Client certificate (PEM) for mTLS; needs --client-key "
                 "(default: $MODELVAULT_CLIENT_CERT)")
      ->type_name("FILE");
  app.add_option("--client-key", options.tls.client_key,
                 "Private key (PEM) of --client-cert "
                 "(default: $MODELVAULT_CLIENT_KEY)")
      ->type_name("FILE");
  app.add_option("-o,--output", options.output_text,
                 "Output format: text or json (default text)")
      ->check(CLI::IsMember({"text", "json"}))
      ->each([&options](const std::string& value) {
        options.output =
            value == "json" ? OutputFormat::kJson : OutputFormat::kText;
      })
      ->type_name("FORMAT");
}

absl::Status RejectTokenInArgv(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--token" || absl::StartsWith(arg, "--token=")) {
      return absl::InvalidArgumentError(
          "--token: tokens are not accepted on the command line (other users "
          "can read it); use --token-file FILE or $MODELVAULT_TOKEN");
    }
  }
  return absl::OkStatus();
}

namespace {

std::optional<std::string> Given(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

absl::StatusOr<mvclient::ConnectionOptions> ResolveEndpoint(
    const GlobalOptions& options, const mvclient::EnvLookup& env) {
  mvclient::ConnectionOptions conn;
  conn.address = mvclient::ResolveAddress(Given(options.addr), env);
  auto tls =
      mvclient::LoadTlsCredentials(mvclient::ResolveTlsFiles(options.tls, env));
  if (!tls.ok()) return UsageError(tls.status().message());
  conn.tls = *std::move(tls);
  return conn;
}

absl::StatusOr<mvclient::ConnectionOptions> ResolveConnection(
    const GlobalOptions& options, const mvclient::EnvLookup& env) {
  absl::StatusOr<mvclient::ConnectionOptions> conn =
      ResolveEndpoint(options, env);
  if (!conn.ok()) return conn.status();
  absl::StatusOr<std::string> token =
      mvclient::ResolveToken(Given(options.token_file), env);
  bool has_client_cert =
      conn->tls.has_value() && !conn->tls->cert_chain.empty();
  if (!token.ok() && absl::IsUnauthenticated(token.status()) &&
      has_client_cert) {
    return conn;  // no token anywhere: the certificate alone authenticates
  }
  if (!token.ok()) return token.status();
  conn->token = *std::move(token);
  return conn;
}

absl::StatusOr<mvclient::ConnectionOptions> ResolveConnectionTokenOptional(
    const GlobalOptions& options, const mvclient::EnvLookup& env) {
  absl::StatusOr<mvclient::ConnectionOptions> conn =
      ResolveEndpoint(options, env);
  if (!conn.ok()) return conn.status();
  absl::StatusOr<std::string> token =
      mvclient::ResolveToken(Given(options.token_file), env);
  if (token.ok()) {
    conn->token = *std::move(token);
  } else if (!absl::IsUnauthenticated(token.status())) {
    return token.status();
  }
  return conn;
}

absl::StatusOr<std::shared_ptr<mvclient::Client>> ConnectClient(
    const GlobalOptions& options) {
  absl::StatusOr<mvclient::ConnectionOptions> conn =
      ResolveConnection(options, mvclient::ProcessEnv());
  if (!conn.ok()) return conn.status();
  return Connect(*conn);
}

absl::StatusOr<std::shared_ptr<mvclient::Client>> Connect(
    const mvclient::ConnectionOptions& connection) {
  auto client = mvclient::Client::Connect(connection);
  if (!client.ok()) return client.status();
  std::shared_ptr<mvclient::Client> shared = *std::move(client);
  SetInterruptTarget(shared);
  return shared;
}

int ReportError(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", ErrorLine(status).c_str());
  return ExitCodeFor(status);
}

int PrintResult(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fflush(stdout) != 0) {
    return ReportError(absl::InternalError("cannot write to stdout"));
  }
  return kExitOk;
}

}  // namespace mvcli
