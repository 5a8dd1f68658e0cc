// Vault::PlanDownload. Order (no existence oracle before the policy said
// yes): the caller was admitted for `read` as the delivery would be made by
// the server setting (MarksWanted); `read:exact` is decided for an exact
// pull; only then is the reference resolved. A version that will not be
// marked (not markable, or --fingerprint policy) is re-decided as unmarked:
// if only a require_fingerprint rule allowed it, a markable version is
// marked anyway and an unmarkable one is refused. A download id given by
// the client must name an indexed download of the same version by the same
// principal with the same delivery, else INVALID_ARGUMENT.
#include <sodium.h>

#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "vault/reference.h"
#include "vault/vault.h"

namespace mv {
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

absl::StatusOr<DownloadPlan> Vault::PlanDownload(const Principal& who,
                                                 std::string_view peer_ip,
                                                 FingerprintMode mode,
                                                 const DownloadAsk& ask,
                                                 Decision admitted) const {
  MV_ASSIGN_OR_RETURN(Reference ref, ParseReference(ask.ref));
  DownloadPlan plan;
  plan.decision = std::move(admitted);
  if (ask.exact) {
    MV_ASSIGN_OR_RETURN(
        plan.exact,
        identity_->Authorize(who, Action::kReadExact, ref.name, peer_ip));
  }
  MV_ASSIGN_OR_RETURN(plan.version, catalog_->GetVersion(ask.ref));
  const bool markable = plan.version.fingerprint.markable();
  const bool marks_wanted = MarksWanted(mode, ask.exact);
  if (ask.exact) {
    plan.kind = Delivery::kExact;
  } else if (marks_wanted && markable && mode == FingerprintMode::kAlways) {
    plan.kind = Delivery::kFingerprinted;
  } else if (marks_wanted) {
    absl::StatusOr<Decision> unmarked =
        identity_->Authorize(who, Action::kRead, ref.name, peer_ip);
    if (unmarked.ok()) {
      plan.decision = *std::move(unmarked);
      plan.kind = Delivery::kUnmarked;
    } else if (!absl::IsPermissionDenied(unmarked.status())) {
      return unmarked.status();
    } else if (markable) {
      plan.kind = Delivery::kFingerprinted;  // a rule requires the marks
    } else {
      return absl::PermissionDeniedError(absl::StrFormat(
          "permission denied: read on %s requires a fingerprinted download, "
          "and %s cannot be marked (%s)",
          ref.name, plan.version.Ref(),
          plan.version.fingerprint.unmarked_reason));
    }
  }
  plan.delivery.exact = ask.exact;
  plan.delivery.fingerprint = plan.kind == Delivery::kFingerprinted;
  if (ask.download_id == 0) {
    plan.delivery.download_id = NewDownloadId();
    return plan;
  }
  absl::StatusOr<DownloadRecord> earlier =
      downloads_->FindDownload(plan.version.serial, ask.download_id);
  if (!earlier.ok() && !absl::IsNotFound(earlier.status()))
    return earlier.status();
  if (!earlier.ok() || earlier->principal != who.name ||
      earlier->delivery != plan.kind) {
    return absl::InvalidArgumentError(
        absl::StrFormat("download id %s is not one of your downloads of %s",
                        DownloadIdHex(ask.download_id), plan.version.Ref()));
  }
  plan.delivery.download_id = ask.download_id;
  return plan;
}

}  // namespace mv
