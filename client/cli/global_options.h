// Options every mvault command accepts, and the glue every command shares:
// connecting with them and reporting an error.
//
//   --addr HOST:PORT        > $MODELVAULT_ADDR > 127.0.0.1:7070
//   --token-file FILE       > $MODELVAULT_TOKEN >
//                             $XDG_CONFIG_HOME/modelvault/token
//   --cacert, --client-cert, --client-key FILE   TLS (tls_config.h)
//   -o, --output text|json
// There is deliberately no way to pass a token itself on the command line;
// RejectTokenInArgv() explains that to whoever tries `--token`.
//
// Not thread-safe; used from main's thread.
#ifndef MODELVAULT_CLIENT_CLI_GLOBAL_OPTIONS_H_
#define MODELVAULT_CLIENT_CLI_GLOBAL_OPTIONS_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/cli/output.h"
#include "client/lib/client.h"
#include "client/lib/config.h"
#include "client/lib/tls_config.h"

namespace mvcli {

struct GlobalOptions {
  std::string addr;                  // "" = not given
  std::string token_file;            // "" = not given
  mvclient::TlsFiles tls;            // flags only; "" = not given
  std::string output_text = "text";  // as given; parsed into `output`
  OutputFormat output = OutputFormat::kText;
};

void SetupGlobalOptions(CLI::App& app, GlobalOptions& options);

// InvalidArgumentError if argv tries to pass a token (`--token[=X]`): argv is
// readable by every local user through /proc. Checked before parsing.
absl::Status RejectTokenInArgv(int argc, const char* const* argv);

// Address and TLS settings, without a token. Bad TLS settings (unreadable
// file, certificate without key...) are usage errors (UsageError()).
absl::StatusOr<mvclient::ConnectionOptions> ResolveEndpoint(
    const GlobalOptions& options, const mvclient::EnvLookup& env);

// ResolveEndpoint() plus the token. With a client certificate the token is
// optional (the certificate alone authenticates): if none is configured,
// the token is left empty and no authorization header is sent.
absl::StatusOr<mvclient::ConnectionOptions> ResolveConnection(
    const GlobalOptions& options, const mvclient::EnvLookup& env);

// ResolveConnection(), except that no token anywhere is no error: the
// connection then sends no authorization header (`mvault operator unseal`
// and `status`, which a sealed server answers without credentials).
absl::StatusOr<mvclient::ConnectionOptions> ResolveConnectionTokenOptional(
    const GlobalOptions& options, const mvclient::EnvLookup& env);

// Connects and registers the client as the target of Ctrl-C.
absl::StatusOr<std::shared_ptr<mvclient::Client>> Connect(
    const mvclient::ConnectionOptions& connection);

// ResolveConnection() with the process environment, then Connect().
absl::StatusOr<std::shared_ptr<mvclient::Client>> ConnectClient(
    const GlobalOptions& options);

// Prints ErrorLine(status) to stderr and returns its exit code.
int ReportError(const absl::Status& status);

// Writes `text` to stdout and flushes it; returns kExitError (with a message)
// if stdout cannot be written, else kExitOk.
int PrintResult(const std::string& text);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_GLOBAL_OPTIONS_H_
