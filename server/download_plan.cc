// ArtifactServiceImpl::PlanDownload: who may pull what, and marked or not.
//
// Order (no existence oracle before the policy said yes): authenticate;
// authorize `read` as the delivery would be made by the server setting
// (fingerprinted unless --fingerprint off or exact), plus `read:exact` for an
// exact pull; only then resolve the reference. A version that will not be
// marked (not markable, or --fingerprint policy) is re-decided as unmarked:
// if only a require_fingerprint rule allowed it, a markable version is
// marked anyway and an unmarkable one is refused. A download id given by the
// client must name an indexed download of the same version by the same
// principal with the same delivery, else INVALID_ARGUMENT.
#include <sodium.h>

#include "absl/strings/str_format.h"
#include "audit/audit_record.h"
#include "common/status_macros.h"
#include "server/artifact_service.h"
#include "server/rpc_method.h"
#include "vault/reference.h"

namespace mvserver {
namespace {

// A random, non-zero id naming one download in the audit log and index.
uint64_t NewDownloadId() {
  uint64_t id = 0;
  while (id == 0) randombytes_buf(&id, sizeof id);
  return id;
}

}  // namespace

std::optional<FingerprintMode> ParseFingerprintMode(std::string_view text) {
  if (text == "always") return FingerprintMode::kAlways;
  if (text == "policy") return FingerprintMode::kPolicy;
  if (text == "off") return FingerprintMode::kOff;
  return std::nullopt;
}

absl::StatusOr<ArtifactServiceImpl::DownloadPlan>
ArtifactServiceImpl::PlanDownload(
    CallAudit& audit, grpc::ServerContext& context,
    const modelvault::v1::DownloadRequest& request) {
  const bool exact = request.exact();
  const bool marks_wanted = !exact && fingerprint_ != FingerprintMode::kOff;
  DownloadPlan plan;
  MV_ASSIGN_OR_RETURN(plan.call,
                      AdmitCall(*vault_, context, RpcMethodOf(request), request,
                                audit, marks_wanted));
  audit.SetResource(request.ref());
  MV_ASSIGN_OR_RETURN(mv::Reference ref, mv::ParseReference(request.ref()));
  if (exact) {
    MV_ASSIGN_OR_RETURN(plan.exact,
                        AuthorizeAction(*vault_, plan.call.caller,
                                        mv::Action::kReadExact, ref.name));
    audit.SetAdmitted(mv::Action::kReadExact);
  }
  MV_ASSIGN_OR_RETURN(plan.version,
                      vault_->catalog().GetVersion(request.ref()));
  const bool markable = plan.version.fingerprint.markable();
  if (exact) {
    plan.kind = mv::Delivery::kExact;
  } else if (marks_wanted && markable &&
             fingerprint_ == FingerprintMode::kAlways) {
    plan.kind = mv::Delivery::kFingerprinted;
  } else if (marks_wanted) {
    absl::StatusOr<mv::Decision> unmarked = AuthorizeAction(
        *vault_, plan.call.caller, mv::Action::kRead, ref.name, false);
    if (unmarked.ok()) {
      plan.call.decision = *std::move(unmarked);
      plan.kind = mv::Delivery::kUnmarked;
    } else if (unmarked.status().code() !=
               absl::StatusCode::kPermissionDenied) {
      return unmarked.status();
    } else if (markable) {
      plan.kind = mv::Delivery::kFingerprinted;  // a rule requires the marks
    } else {
      return absl::PermissionDeniedError(
          absl::StrFormat("permission denied: read on %s requires a "
                          "fingerprinted download, and %s cannot be "
                          "marked (%s)",
                          ref.name, plan.version.Ref(),
                          plan.version.fingerprint.unmarked_reason));
    }
  }
  plan.delivery.exact = exact;
  plan.delivery.fingerprint = plan.kind == mv::Delivery::kFingerprinted;
  if (request.download_id() == 0) {
    plan.delivery.download_id = NewDownloadId();
    return plan;
  }
  absl::StatusOr<mv::DownloadRecord> earlier = vault_->downloads().FindDownload(
      plan.version.serial, request.download_id());
  if (!earlier.ok() && earlier.status().code() != absl::StatusCode::kNotFound) {
    return earlier.status();
  }
  if (!earlier.ok() || earlier->principal != plan.call.caller.who.name ||
      earlier->delivery != plan.kind) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "download id %s is not one of your downloads of %s",
        mv::DownloadIdHex(request.download_id()), plan.version.Ref()));
  }
  plan.delivery.download_id = request.download_id();
  return plan;
}

}  // namespace mvserver
