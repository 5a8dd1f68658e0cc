// The sealed MVFP-1 mark table of a version (LEAK_TRACING.md, Ingest step
// 5): db `marks`, key IdKey(version_id), value Aead-sealed under the
// version's data key with associated data "mvfp-table" ‖ version_id u64 BE,
// so a table cannot be moved to another version and dies with the data key
// when the version is crypto-shredded. Thread-safe (pure, or in the given
// transaction).
#ifndef MODELVAULT_VAULT_MARK_STORE_H_
#define MODELVAULT_VAULT_MARK_STORE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "vault/key_store.h"
#include "crypto/secret_key.h"
#include "storage/lmdb_env.h"
#include "trace/keys.h"
#include "trace/mark_table.h"
#include "vault/catalog.h"
#include "vault/records.h"

namespace mv {

std::string SealMarkTable(const MarkTable& table, const SecretKey& dek,
                          uint64_t version_id);
// DATA_LOSS if `sealed` fails authentication or does not parse.
absl::StatusOr<MarkTable> OpenMarkTable(std::string_view sealed,
                                        const SecretKey& dek,
                                        uint64_t version_id);

// The table of `version`, unsealed with its data key. NOT_FOUND if the
// version has none (it is not markable).
absl::StatusOr<MarkTable> LoadMarkTable(const Txn& txn, const Dbs& dbs,
                                        const KeyStore& keys,
                                        const VersionRecord& version);

// The MVFP-1 keys of `version` under the vault's K_fp.
absl::StatusOr<TraceKeys> VersionTraceKeys(const SecretKey& fingerprint_key,
                                           const VersionRecord& version);

}  // namespace mv

#endif  // MODELVAULT_VAULT_MARK_STORE_H_
