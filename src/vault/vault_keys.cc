#include "vault/vault_keys.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace mv {

std::string_view VaultKeyName(VaultKey key) {
  switch (key) {
    case VaultKey::kFingerprint:
      return "fingerprint";
    case VaultKey::kToken:
      return "token";
    case VaultKey::kKeyCheck:
      return "key-check";
  }
  return "?";
}

std::optional<VaultKey> ParseVaultKey(std::string_view name) {
  for (VaultKey key :
       {VaultKey::kFingerprint, VaultKey::kToken, VaultKey::kKeyCheck}) {
    if (name == VaultKeyName(key)) return key;
  }
  return std::nullopt;
}

std::string_view RegenerationLoss(VaultKey key) {
  switch (key) {
    case VaultKey::kFingerprint:
      return "copies delivered before it can no longer be traced";
    case VaultKey::kToken:
      return "every token is revoked and a new root token issued";
    case VaultKey::kKeyCheck:
      return "nothing is lost: the master key is proven by the sealed records";
  }
  return "";
}

std::string RecoveryHint(std::optional<VaultKey> key,
                         std::string_view data_dir) {
  if (!key) {
    return "restore the data dir from a backup (it cannot be regenerated: "
           "every audit checkpoint and the witness are signed with it)";
  }
  return absl::StrCat(
      "restore the data dir from a backup, or run: modelvaultd regenerate-key "
      "--key ",
      std::string(VaultKeyName(*key)), " --data-dir ", std::string(data_dir),
      " --master-key-file FILE (audited; ",
      std::string(RegenerationLoss(*key)), ")");
}

absl::StatusOr<LoadedKey> LoadVaultKey(const LmdbEnv& env, const Dbs& dbs,
                                       const KeyRing& keys,
                                       const NamedKeySpec& spec,
                                       std::string_view data_dir,
                                       std::optional<VaultKey> regenerate) {
  const std::string name(spec.meta_name);
  std::optional<std::string> wrapped;
  // A sealed record the barrier cannot open is as lost as a key that does
  // not unwrap.
  absl::Status opened = env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.meta, name));
    if (raw) wrapped = std::string(*raw);
    return absl::OkStatus();
  });
  if (!opened.ok() && !absl::IsDataLoss(opened)) return opened;
  const bool asked = regenerate && regenerate == spec.regenerable;
  absl::Status fault;
  if (opened.ok() && wrapped) {
    absl::StatusOr<SecretKey> key = keys.UnwrapNamedKey(name, *wrapped);
    if (key.ok()) {
      if (asked) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the vault's ", name, " is intact; nothing to regenerate"));
      }
      return LoadedKey{*std::move(key), ""};
    }
    opened = key.status();
  }
  if (!opened.ok()) {
    fault = absl::DataLossError(absl::StrCat(
        "vault metadata: ", name, " does not open (", opened.message(),
        "); refusing to start without it: ",
        RecoveryHint(spec.regenerable, data_dir)));
  } else {
    fault = absl::FailedPreconditionError(absl::StrCat(
        "vault metadata lacks its ", name,
        " (meta record deleted?); refusing to start with a new one: ",
        RecoveryHint(spec.regenerable, data_dir)));
  }
  if (!asked) return fault;
  MV_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
  std::string new_wrapped = keys.WrapNamedKey(name, key);
  return LoadedKey{std::move(key), std::move(new_wrapped)};
}

}  // namespace mv
