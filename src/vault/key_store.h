// KeyStore: the keys of an open vault (issue [keys]). It holds the master
// key (in locked memory, for as long as the vault is open, as HashiCorp
// Vault does: a rotation must seal the new keyring under it), the keyring
// in use (crypto/key_ring_holder.h, shared with the storage barrier) and
// the key file (storage/key_file.h) where the keyring and every version's
// data key are stored.
//
// Data keys: Create writes a version's fresh DEK, wrapped under the current
// keyring version, and syncs it before the upload may use it; Open unwraps
// it; Shred zeroes its slot in place and syncs (crypto-shredding: nothing
// that opens the chunks is left in the data dir); Rewrap moves it to the
// current keyring version without a moment where no copy is whole.
//
// Keyring changes (Rotate, Retire, Rekey's two steps) write a new keyring
// generation and swap the holder; they are serialized here.
//
// Thread-safe.
#ifndef MODELVAULT_VAULT_KEY_STORE_H_
#define MODELVAULT_VAULT_KEY_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mutex.h"
#include "crypto/key_ring_holder.h"
#include "crypto/secret_key.h"
#include "storage/key_file.h"

namespace mv {

class KeyStore {
 public:
  // A new key file in `data_dir` with a fresh one-version keyring sealed
  // under `master`.
  static absl::StatusOr<std::unique_ptr<KeyStore>> Create(
      const std::string& data_dir, std::string_view vault_id, SecretKey master,
      int64_t now_unix_ms);
  // Opens the key file of `data_dir` and its newest keyring under `master`.
  // Opening proves little about `master` on its own: after a crash in a
  // rekey two keys each open a generation. The vault's key check value
  // decides (vault_lifecycle.cc); only then may Tidy run.
  static absl::StatusOr<std::unique_ptr<KeyStore>> Open(
      const std::string& data_dir, std::string_view vault_id, SecretKey master);
  // Zeroes every keyring generation but the one in use (left by a crash in
  // a rotation, retirement or rekey). REQUIRES: the master key is proven.
  absl::Status Tidy();
  // How many keyring generations in the file this master key cannot open.
  absl::StatusOr<int> ForeignKeyRings() const;

  std::shared_ptr<const KeyRing> ring() const { return holder_->Get(); }
  const std::shared_ptr<KeyRingHolder>& holder() const { return holder_; }

  // A fresh data key for `version_id`, durable in the key file.
  absl::StatusOr<SecretKey> Create(uint64_t version_id);
  // Stores an existing data key (the migration from format 3) without a
  // sync; Sync() makes a batch durable.
  absl::Status Import(uint64_t version_id, const SecretKey& dek);
  absl::Status Sync();
  // DATA_LOSS naming the version if its key is gone (shredded) or does not
  // open.
  absl::StatusOr<SecretKey> Open(uint64_t version_id) const;
  // The keyring version `version_id`'s key opens under (0 if none).
  absl::StatusOr<uint32_t> KeyVersionOf(uint64_t version_id) const;
  // Zeroes `version_id`'s slot and syncs.
  absl::Status Shred(uint64_t version_id);
  // Rewraps each id's key under the current version (keys already there are
  // skipped), with two syncs for the whole batch. Returns how many moved.
  absl::StatusOr<size_t> Rewrap(const std::vector<uint64_t>& version_ids);
  // Every id with a non-empty slot, ascending.
  absl::StatusOr<std::vector<uint64_t>> StoredIds() const;

  // Adds a keyring version; new writes use it at once. Returns its number.
  absl::StatusOr<uint32_t> Rotate(int64_t now_unix_ms);
  // Removes `version` from the keyring and erases every older keyring
  // generation from the file. REQUIRES: nothing is protected by it.
  absl::Status Retire(uint32_t version);
  // Rekey, step 1: writes the keyring sealed under `new_master` as the next
  // generation. The old master still opens the older generation until
  // FinishRekey; the vault's key check value is the commit point between.
  absl::Status BeginRekey(const SecretKey& new_master);
  // Rekey, step 3 (after the new key check value committed): erases the
  // generation under the old master and uses `new_master` from now on.
  absl::Status FinishRekey(SecretKey new_master);

  const std::string& path() const { return file_->path(); }

 private:
  KeyStore(std::unique_ptr<KeyFile> file, SecretKey master,
           std::shared_ptr<KeyRingHolder> holder, uint64_t generation)
      : file_(std::move(file)),
        master_(std::move(master)),
        holder_(std::move(holder)),
        generation_(generation) {}
  absl::Status Store(std::unique_ptr<const KeyRing> ring, bool erase_old)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::unique_ptr<KeyFile> file_;
  // Data-key slot writes (Create, Shred, Rewrap), so a rewrap cannot bring
  // back a key shredded under it. Open retries under it after a miss.
  mutable Mutex slots_mu_;
  mutable Mutex mu_;  // keyring changes
  SecretKey master_ ABSL_GUARDED_BY(mu_);
  const std::shared_ptr<KeyRingHolder> holder_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_KEY_STORE_H_
