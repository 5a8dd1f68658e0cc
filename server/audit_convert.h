// Translation between the core audit types (audit/audit_record.h) and the
// modelvault.v1 audit messages, and the parsed form of an AuditFilter.
// Pure; thread-safe.
#ifndef MODELVAULT_SERVER_AUDIT_CONVERT_H_
#define MODELVAULT_SERVER_AUDIT_CONVERT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "access/glob.h"
#include "audit/audit_record.h"
#include "modelvault/v1/audit.pb.h"

namespace mvserver {

// `hash` is the record's 32-byte chain hash.
void ToProto(const mv::AuditRecord& record, std::string_view hash,
             modelvault::v1::AuditRecord* out);

// A validated AuditFilter: every set field must match.
class RecordFilter {
 public:
  // INVALID_ARGUMENT for an unknown decision name or an invalid artifact
  // glob (access/policy.h glob syntax).
  static absl::StatusOr<RecordFilter> FromProto(
      const modelvault::v1::AuditFilter& filter);

  bool Matches(const mv::AuditRecord& record) const;

 private:
  RecordFilter() = default;

  std::string principal_, action_;
  std::optional<mv::access_internal::CompiledGlob> artifact_;
  std::optional<mv::AuditDecision> decision_;
  int64_t since_unix_ms_ = 0, until_unix_ms_ = 0;  // 0 = no bound
};

// The artifact NAME a record is about: its resource before '@' when the
// method is an ArtifactService or TraceService RPC; nullopt for any other
// record (admin, auth and audit calls) and for an empty resource.
std::optional<std::string_view> RecordArtifact(const mv::AuditRecord& record);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_AUDIT_CONVERT_H_
