// Vault::ShredVersion: a delete with its proof (issue [keys]).
#include "absl/strings/escaping.h"
#include "common/status_macros.h"
#include "vault/vault.h"

namespace mv {

absl::StatusOr<Vault::Shredded> Vault::ShredVersion(
    std::string_view ref, const AuditRecord& audit) const {
  MV_ASSIGN_OR_RETURN(Catalog::Deletion deletion,
                      catalog_->ShredVersion(ref, &audit));
  ShredFacts facts;
  facts.version = deletion.info.Ref();
  facts.version_id = deletion.info.serial;
  facts.sha256_hex = absl::BytesToHexString(deletion.info.sha256);
  facts.size = deletion.info.size;
  facts.deleted_at_unix_ms = deletion.time_unix_ms;
  facts.principal = deletion.principal;
  facts.audit_sequence = deletion.audit_sequence;
  return Shredded{std::move(deletion.info),
                  SignShredCertificate(*audit_key_, facts)};
}

}  // namespace mv
