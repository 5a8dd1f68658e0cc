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

absl::StatusOr<mvclient::ConnectionOptions> ResolveConnection(
    const GlobalOptions& options, const mvclient::EnvLookup& env) {
  mvclient::ConnectionOptions conn;
  auto given = [](const std::string& s) -> std::optional<std::string> {
    if (s.empty()) return std::nullopt;
    return s;
  };
  conn.address = mvclient::ResolveAddress(given(options.addr), env);
  absl::StatusOr<std::string> token =
      mvclient::ResolveToken(given(options.token_file), env);
  if (!token.ok()) return token.status();
  conn.token = *std::move(token);
  return conn;
}

absl::StatusOr<std::shared_ptr<mvclient::Client>> ConnectClient(
    const GlobalOptions& options) {
  absl::StatusOr<mvclient::ConnectionOptions> conn =
      ResolveConnection(options, mvclient::ProcessEnv());
  if (!conn.ok()) return conn.status();
  auto client = mvclient::Client::Connect(*conn);
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
