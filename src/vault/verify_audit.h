// The part of `modelvaultd verify` that narrows what a writer of the data
// file without the key can still do (docs/SECURITY.md): put back an older
// value of a record. Every value is sealed to its database and key, but an
// earlier copy of the same record still opens; the audit log, hash-chained
// and checkpointed, says what happened since. So:
//   - a version, token, principal or policy whose last audited change was
//     its removal (DeleteVersion, RevokeToken, DeletePrincipal,
//     DeletePolicy) must not be stored: its record was put back;
//   - a version or token created while the log holds records must have the
//     record of its creation (Upload; CreateToken or a root-token command).
// Records archived away (audit_log.h) cannot be consulted: objects created
// before the first stored record are not checked for a creation record.
//
// Pure function of one read of the vault; thread-safe.
#ifndef MODELVAULT_VAULT_VERIFY_AUDIT_H_
#define MODELVAULT_VAULT_VERIFY_AUDIT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "audit/audit_log.h"
#include "storage/lmdb_env.h"
#include "vault/catalog.h"
#include "vault/records.h"

namespace mv {

// Appends one line per disagreement to *problems. Fails only if the log or
// the identity records cannot be read.
absl::Status CrossCheckAudit(const LmdbEnv& env, const AuditLog& log,
                             const std::vector<VersionRecord>& versions,
                             std::vector<std::string>* problems);

}  // namespace mv

#endif  // MODELVAULT_VAULT_VERIFY_AUDIT_H_
