#include "client/cli/exit_codes.h"

namespace mvcli {

ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kExitAuth;
    case absl::StatusCode::kDataLoss:
      return kExitIntegrity;
    case absl::StatusCode::kUnavailable:
      return kExitUnavailable;
    case absl::StatusCode::kCancelled:
      return kExitInterrupted;
    default:
      return kExitError;
  }
}

const char* ExitCodeHelp() {
  return "Exit codes: 0 ok, 1 error, 2 usage, 3 not found, "
         "4 unauthenticated/permission denied, 5 integrity failure, "
         "6 server unavailable, 130 interrupted.";
}

}  // namespace mvcli
