#include "client/cli/exit_codes.h"

#include "absl/strings/cord.h"

namespace mvcli {
namespace {

constexpr absl::string_view kUsagePayload = "modelvault.mvault/usage";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.GetPayload(kUsagePayload).has_value()) return kExitUsage;
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
