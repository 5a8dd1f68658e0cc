// Transaction-level helpers shared by the identity use cases of Vault
// (identity_store.cc, tokens.cc, budgets.cc) and by Init: name rules,
// principal and token records, and the token/accessor pair of databases.
// Each function runs in the transaction it is given (thread-safety as
// LmdbEnv's).
#ifndef MODELVAULT_VAULT_IDENTITY_STORE_H_
#define MODELVAULT_VAULT_IDENTITY_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/lmdb_env.h"
#include "vault/catalog.h"
#include "vault/identity.h"
#include "vault/records.h"

namespace mv {

// Removes the kind prefix of `identity`; false if it has none.
bool StripCertIdentityKind(std::string_view* identity);

// [a-z0-9][a-z0-9._@-]{0,63}; INVALID_ARGUMENT naming the rule otherwise.
absl::Status CheckPrincipalName(std::string_view name);
// ValidatePolicyName, and not the reserved "root" (for stored documents).
absl::Status CheckPolicyName(std::string_view name);

// The root principal as Init creates it.
PrincipalRecord RootPrincipalRecord(int64_t now_unix_ms);

// nullopt if absent; DATA_LOSS if the record is corrupt.
absl::StatusOr<std::optional<PrincipalRecord>> FindPrincipal(
    const Txn& txn, const Dbs& dbs, std::string_view name);
// NOT_FOUND "principal not found: NAME" if absent.
absl::StatusOr<PrincipalRecord> LoadPrincipal(const Txn& txn, const Dbs& dbs,
                                              std::string_view name);
PrincipalInfo ToPrincipalInfo(std::string_view name,
                              const PrincipalRecord& record);
TokenInfo ToTokenInfo(const TokenRecord& record);

// Stores the token under its hash and its accessor → hash.
absl::Status PutToken(WriteTxn& txn, const Dbs& dbs, std::string_view hash,
                      const TokenRecord& record);
// Removes both entries of one token.
absl::Status DeleteToken(WriteTxn& txn, const Dbs& dbs, std::string_view hash,
                         std::string_view accessor);
// Every token: (hash, record), in hash order. DATA_LOSS on a corrupt record.
absl::StatusOr<std::vector<std::pair<std::string, TokenRecord>>> AllTokens(
    const Txn& txn, const Dbs& dbs);

}  // namespace mv

#endif  // MODELVAULT_VAULT_IDENTITY_STORE_H_
