// How a mutation of the vault records its request (vault/vault.h, "Audit"):
// the audit record goes into the mutation's own write transaction, so both
// commit or neither does; a record that cannot be written is UNAVAILABLE
// (fail closed).
#ifndef MODELVAULT_VAULT_AUDIT_APPEND_H_
#define MODELVAULT_VAULT_AUDIT_APPEND_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "audit/audit_log.h"
#include "storage/lmdb_env.h"

namespace mv {

// Appends `record` (nullptr = none) to `log` in `txn`, naming `resource` if
// one is given (the version a reference resolved to).
inline absl::Status AppendAudit(AuditLog& log, WriteTxn& txn,
                                const AuditRecord* record,
                                std::string_view resource = "") {
  if (record == nullptr) return absl::OkStatus();
  AuditRecord copy = *record;
  if (!resource.empty()) copy.resource = std::string(resource);
  return log.AppendSanitized(txn, std::move(copy));
}

// Commits `record` (nullptr = none) on its own, for a mutation that turned
// out to write nothing else.
inline absl::Status CommitAudit(AuditLog& log, const AuditRecord* record) {
  if (record == nullptr) return absl::OkStatus();
  return log.Commit(*record).status();
}

}  // namespace mv

#endif  // MODELVAULT_VAULT_AUDIT_APPEND_H_
