#include "server/audit_convert.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "modelvault/v1/artifact.grpc.pb.h"
#include "modelvault/v1/trace.grpc.pb.h"

namespace mvserver {

namespace v1 = modelvault::v1;

void ToProto(const mv::AuditRecord& record, std::string_view hash,
             v1::AuditRecord* out) {
  out->set_sequence(record.sequence);
  out->set_time_unix_ms(record.time_unix_ms);
  out->set_principal(record.principal);
  out->set_token_accessor(record.token_accessor);
  out->set_peer(record.peer);
  out->set_tls_identity(record.tls_identity);
  out->set_method(record.method);
  out->set_resource(record.resource);
  out->set_action(record.action);
  out->set_decision(std::string(mv::DecisionName(record.decision)));
  out->set_status_code(record.status_code);
  out->set_bytes(record.bytes);
  out->set_request_id(record.request_id);
  out->set_download_id(record.download_id);
  out->set_reason(record.reason);
  out->set_hash(std::string(hash));
  out->set_delivery(record.delivery);
  out->set_delivered_sha256(record.delivered_sha256);
}

std::optional<std::string_view> RecordArtifact(const mv::AuditRecord& record) {
  // Only artifact RPCs name an artifact; other services may put something
  // else (or nothing) in `resource`, which must never match an artifact glob.
  static const std::string kArtifactRpcs =
      absl::StrCat("/", v1::ArtifactService::service_full_name(), "/");
  static const std::string kTraceRpcs =
      absl::StrCat("/", v1::TraceService::service_full_name(), "/");
  if (!absl::StartsWith(record.method, kArtifactRpcs) &&
      !absl::StartsWith(record.method, kTraceRpcs)) {
    return std::nullopt;
  }
  if (record.resource.empty()) return std::nullopt;
  std::string_view resource = record.resource;
  return resource.substr(0, resource.find('@'));
}

absl::StatusOr<RecordFilter> RecordFilter::FromProto(
    const v1::AuditFilter& filter) {
  RecordFilter out;
  out.principal_ = filter.principal();
  out.action_ = filter.action();
  if (!filter.artifact().empty()) {
    if (absl::Status s = mv::access_internal::ValidateGlob(filter.artifact());
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter.artifact: ", s.message()));
    }
    out.artifact_.emplace(filter.artifact());
  }
  if (!filter.decision().empty()) {
    out.decision_ = mv::ParseDecision(filter.decision());
    if (!out.decision_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filter.decision: unknown decision \"", filter.decision(),
          "\" (allowed, denied, unauthenticated or failed)"));
    }
  }
  out.since_unix_ms_ = filter.since_unix_ms();
  out.until_unix_ms_ = filter.until_unix_ms();
  return out;
}

bool RecordFilter::Matches(const mv::AuditRecord& record) const {
  if (!principal_.empty() && record.principal != principal_) return false;
  if (!action_.empty() && record.action != action_) return false;
  if (decision_ && record.decision != *decision_) return false;
  if (since_unix_ms_ != 0 && record.time_unix_ms < since_unix_ms_) return false;
  if (until_unix_ms_ != 0 && record.time_unix_ms >= until_unix_ms_)
    return false;
  if (artifact_) {
    std::optional<std::string_view> name = RecordArtifact(record);
    if (!name || !artifact_->Match(*name)) return false;
  }
  return true;
}

}  // namespace mvserver
