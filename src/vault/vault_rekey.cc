// Vault::Rekey: the keyring moved under a new master key (issue [keys]).
#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"
#include "storage/barrier.h"
#include "vault/vault.h"
#include "vault/vault_migration.h"

namespace mv {

absl::Status Vault::Rekey(const VaultOptions& options, SecretKey old_master,
                          SecretKey new_master) {
  VaultOptions quiet = options;
  quiet.collect_pending_on_open = false;  // change nothing but the key
  quiet.migrate = false;
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault,
                      Open(quiet, std::move(old_master)));
  const MDB_dbi meta = vault->env_->Db("meta");
  std::string vault_id;
  MV_RETURN_IF_ERROR(vault->env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto id, txn.Get(meta, StorageBarrier::kVaultIdKey));
    MV_ASSIGN_OR_RETURN(auto kcv, txn.Get(meta, kKeyCheckKey));
    if (!id || !kcv) return absl::DataLossError("meta lacks vault_id or kcv");
    vault_id = std::string(*id);
    const std::string new_kcv = KeyCheckValue(new_master, vault_id);
    if (kcv->size() == new_kcv.size() &&
        sodium_memcmp(kcv->data(), new_kcv.data(), new_kcv.size()) == 0) {
      return absl::FailedPreconditionError(
          "the new master key is the vault's key already; nothing changed");
    }
    return absl::OkStatus();
  }));
  // 1. The keyring under the new key, as the next generation.
  MV_RETURN_IF_ERROR(vault->keys_->BeginRekey(new_master));
  // 2. The commit point: from here the new key is the vault's.
  AuditRecord audit;
  audit.method = "modelvaultd rekey";
  audit.decision = AuditDecision::kAllowed;
  audit.resource = "vault";
  audit.reason = "the keyring is sealed under a new master key";
  MV_RETURN_IF_ERROR(vault->env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(
        txn.Put(meta, kKeyCheckKey, KeyCheckValue(new_master, vault_id)));
    return vault->audit_->AppendSanitized(txn, std::move(audit));
  }));
  // 3. The old generation erased: the old key opens nothing any more.
  return vault->keys_->FinishRekey(std::move(new_master));
}

}  // namespace mv
