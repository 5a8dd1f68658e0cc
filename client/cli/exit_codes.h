// mvault's process exit codes — the single definition, shared by every
// command and documented in `mvault --help`.
//
//   0    success
//   1    any other error (including INVALID_ARGUMENT from the server)
//   2    usage error: bad flags or arguments, caught before any request
//   3    not found
//   4    unauthenticated or permission denied (incl. no token configured)
//   5    integrity failure (DATA_LOSS): bytes did not match their digest
//   6    server unavailable: cannot connect, or UNAVAILABLE from the server
//   130  interrupted by SIGINT/SIGTERM (shell convention 128 + SIGINT)
//
// Pure; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_EXIT_CODES_H_
#define MODELVAULT_CLIENT_CLI_EXIT_CODES_H_

#include "absl/status/status.h"

namespace mvcli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,
  kExitUsage = 2,
  kExitNotFound = 3,
  kExitAuth = 4,
  kExitIntegrity = 5,
  kExitUnavailable = 6,
  kExitInterrupted = 130,
};

// Maps a status from the client library to the exit code above. OK -> 0.
// A status made by UsageError() maps to kExitUsage whatever its code.
ExitCode ExitCodeFor(const absl::Status& status);

// InvalidArgumentError(message) marked (by a status payload) as a usage
// error found after parsing, e.g. a --cacert file that cannot be read.
absl::Status UsageError(absl::string_view message);

// The epilog `mvault --help` prints, listing the codes.
const char* ExitCodeHelp();

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_EXIT_CODES_H_
