#include "server/call_audit.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/call_auth.h"

namespace mvserver {
namespace {

constexpr size_t kMaxRequestIdSize = 128;

// "modelvault.v1.ArtifactService.Download" →
// "/modelvault.v1.ArtifactService/Download".
std::string GrpcPath(std::string_view method) {
  const size_t dot = method.rfind('.');
  if (dot == std::string_view::npos) return std::string(method);
  return absl::StrCat("/", std::string(method.substr(0, dot)), "/",
                      std::string(method.substr(dot + 1)));
}

bool PrintableId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdSize) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string RequestId(const grpc::ServerContextBase& context) {
  auto it = context.client_metadata().find("x-request-id");
  if (it != context.client_metadata().end()) {
    std::string_view given(it->second.data(), it->second.size());
    if (PrintableId(given)) return std::string(given);
  }
  uint8_t random[12];
  randombytes_buf(random, sizeof random);
  return absl::BytesToHexString(
      std::string(reinterpret_cast<const char*>(random), sizeof random));
}

mv::AuditDecision DecisionOf(const grpc::Status& status, bool admitted) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return mv::AuditDecision::kUnauthenticated;
    case grpc::StatusCode::PERMISSION_DENIED:
      return mv::AuditDecision::kDenied;
    default:
      return admitted ? mv::AuditDecision::kAllowed
                      : mv::AuditDecision::kFailed;
  }
}

// Names the cause (e.g. a full or failing disk) for the operator.
grpc::Status AuditUnavailable(const absl::Status& cause) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat(kAuditUnavailableMessage, " (",
                                   std::string(cause.message()), ")"));
}

}  // namespace

CallAudit::CallAudit(mv::Vault* vault, grpc::ServerContextBase& context,
                     std::string_view method)
    : vault_(vault) {
  record_.method = GrpcPath(method);
  record_.peer = context.peer();
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
      auth != nullptr) {
    // All of the certificate's identities until one authenticates.
    record_.tls_identity = absl::StrJoin(CertIdentities(*auth), " ");
  }
  record_.request_id = RequestId(context);
  context.AddInitialMetadata("x-request-id", record_.request_id);
}

void CallAudit::SetMethodPath(std::string path) {
  record_.method = std::move(path);
}

void CallAudit::SetCaller(const mv::Principal& who) {
  record_.principal = who.name;
  record_.token_accessor = who.token_accessor;
  if (!who.tls_identity.empty()) record_.tls_identity = who.tls_identity;
}

void CallAudit::SetAction(mv::Action action) {
  record_.action = std::string(mv::ActionName(action));
}

void CallAudit::SetAdmitted(std::optional<mv::Action> action) {
  admitted_ = true;
  if (action) SetAction(*action);
}

void CallAudit::SetResource(std::string resource) {
  record_.resource = std::move(resource);
}
void CallAudit::SetBytes(uint64_t bytes) { record_.bytes = bytes; }
void CallAudit::SetDownloadId(uint64_t id) { record_.download_id = id; }
void CallAudit::SetDelivery(std::string delivery) {
  record_.delivery = std::move(delivery);
}
void CallAudit::RecordOutcomeAs(grpc::Status truth) {
  truth_ = std::move(truth);
}

mv::AuditRecord* CallAudit::ForMutation() {
  mutating_ = true;
  in_txn_ = Outcome(grpc::Status::OK);
  return &in_txn_;
}

const mv::AuditRecord* CallAudit::DownloadStarted() {
  in_txn_ = Outcome(grpc::Status::OK);
  in_txn_.reason = kDownloadStarted;
  return &in_txn_;
}

mv::AuditRecord CallAudit::Outcome(const grpc::Status& told) const {
  const grpc::Status& status = truth_ ? *truth_ : told;
  mv::AuditRecord r = record_;
  r.decision = DecisionOf(status, admitted_);
  r.status_code = static_cast<uint32_t>(status.error_code());
  if (!status.ok()) r.reason = status.error_message();
  if (r.download_id != 0 && r.reason.empty()) {
    r.reason = status.ok() ? "download finished" : "download aborted";
  } else if (r.download_id != 0 && !status.ok()) {
    r.reason = "download aborted: " + r.reason;
  }
  return r;
}

grpc::Status CallAudit::CommitOutcome(const grpc::Status& status) {
  outcome_written_ = true;
  absl::StatusOr<uint64_t> committed =
      vault_->audit_log().Commit(Outcome(status));
  return committed.ok() ? grpc::Status::OK
                        : AuditUnavailable(committed.status());
}

grpc::Status CallAudit::FinishDownload(uint64_t serial,
                                       std::string_view delivered_sha256) {
  outcome_written_ = true;
  mv::AuditRecord outcome = Outcome(grpc::Status::OK);
  outcome.delivered_sha256 =
      absl::BytesToHexString(std::string(delivered_sha256));
  absl::Status s = vault_->downloads().FinishDownload(
      serial, record_.download_id, delivered_sha256, &outcome);
  return s.ok() ? grpc::Status::OK : AuditUnavailable(s);
}

grpc::Status CallAudit::Finish(grpc::Status status) {
  if (outcome_written_) return status;
  // A mutation that succeeded committed its record with the change. The
  // resource may have been completed there (an upload's NAME@N).
  if (mutating_ && status.ok()) return status;
  if (grpc::Status refused = CommitOutcome(status); !refused.ok())
    return refused;
  return status;
}

}  // namespace mvserver
