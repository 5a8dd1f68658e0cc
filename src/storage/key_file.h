// KeyFile: `keys.mvk` beside data.mdb, where the keyring and every version's
// data key are stored (issue [keys]). It is not in LMDB because LMDB never
// overwrites a page in place: a deleted record lives on in the free pages of
// data.mdb until they are reused, so a data key deleted there could be read
// back from a copy of the file. Here a slot is overwritten in place
// (pwrite + fdatasync), which is what crypto-shredding and retiring a key
// version need. Below the file system (copy-on-write file systems, SSD
// wear levelling) an old block may survive; docs/SECURITY.md says so.
//
// Layout (kFormat = 1), integers big-endian:
//   [0, 4096)       header: "MVKEYS" ‖ u16 format ‖ vault_id[16] ‖ zeros
//   [4096, 12288)   keyring slots 0 and 1, 4096 bytes each:
//                     u64 generation ‖ u32 n ‖ sealed[n] ‖ zeros
//                     sealed = Aead(master key).Seal(KeyRing::Encode(),
//                              AD = "mvkeyring" ‖ vault_id ‖ u64 generation)
//                     generation 0 (all zeros) = empty
//   [12288 + 256·id, +256)  the data key of version id `id`: two halves of
//                     128 bytes, each u32 key_version ‖ wrapped[72] ‖ zeros
//                     (key_version 0 = empty; wrapped as KeyRing says)
//
// A new keyring goes to the slot not holding the newest one; a rewrapped
// data key to the half not holding the current one: a crash leaves the old
// copy whole. The caller erases the old copy once the new one is durable.
//
// Thread safety: reads and writes of different data-key slots may run
// concurrently (pread/pwrite); keyring writes must be serialized by the
// caller.
#ifndef MODELVAULT_STORAGE_KEY_FILE_H_
#define MODELVAULT_STORAGE_KEY_FILE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/key_ring.h"
#include "crypto/secret_key.h"

namespace mv {

class KeyFile {
 public:
  static constexpr uint16_t kFormat = 1;
  static constexpr std::string_view kFileName = "keys.mvk";
  static constexpr size_t kHeaderSize = 4096, kKeyRingSlotSize = 4096;
  static constexpr size_t kDataKeyBase = kHeaderSize + 2 * kKeyRingSlotSize;
  static constexpr size_t kDataKeySlotSize = 256, kHalfSize = 128;

  // One half of a data-key slot.
  struct WrappedDataKey {
    int half = 0;
    uint32_t key_version = 0;
    std::string wrapped;
  };

  // Creates `path` (mode 0600) for `vault_id`; an existing file is replaced
  // (a leftover of a migration that did not commit). The file is synced.
  static absl::StatusOr<std::unique_ptr<KeyFile>> Create(
      const std::string& path, std::string_view vault_id);
  // Opens `path`. FAILED_PRECONDITION if it is missing, DATA_LOSS if its
  // header is not this vault's key file.
  static absl::StatusOr<std::unique_ptr<KeyFile>> Open(
      const std::string& path, std::string_view vault_id);
  ~KeyFile();

  // The newest keyring that opens under `master`, and its generation.
  // DATA_LOSS if none opens.
  struct StoredKeyRing {
    std::unique_ptr<const KeyRing> ring;
    uint64_t generation = 0;
  };
  absl::StatusOr<StoredKeyRing> ReadKeyRing(const SecretKey& master) const;
  // Writes `ring` sealed under `master` with generation `after`+1 into the
  // slot that does not hold generation `after`, and syncs.
  absl::Status WriteKeyRing(const SecretKey& master, const KeyRing& ring,
                            uint64_t after);
  // How many non-empty keyring slots do not open under `master`: another
  // key's generation (a rekey in progress or one not yet tidied).
  absl::StatusOr<int> ForeignKeyRings(const SecretKey& master) const;
  // Zeroes every keyring slot but the one holding `keep` (when it opens
  // under `master`), and syncs: what a rekey or retirement leaves behind.
  absl::Status EraseKeyRingsBut(const SecretKey& master, uint64_t keep);

  // The non-empty halves of version `id`'s slot (none if never written).
  absl::StatusOr<std::vector<WrappedDataKey>> ReadDataKey(uint64_t id) const;
  // Writes one half of `id`'s slot (no sync).
  absl::Status WriteDataKey(uint64_t id, int half, uint32_t key_version,
                            std::string_view wrapped);
  // Zeroes one half, or the whole slot (half = -1) (no sync).
  absl::Status EraseDataKey(uint64_t id, int half = -1);
  // The highest version id whose slot lies inside the file.
  uint64_t DataKeyCapacity() const;
  // fdatasync.
  absl::Status Sync();

  const std::string& path() const { return path_; }

 private:
  KeyFile(int fd, std::string path, std::string vault_id)
      : fd_(fd), path_(std::move(path)), vault_id_(std::move(vault_id)) {}
  absl::Status PWrite(uint64_t offset, std::string_view bytes);
  absl::StatusOr<std::string> PRead(uint64_t offset, size_t n) const;
  std::string KeyRingAd(uint64_t generation) const;
  // A keyring slot as stored (generation 0: empty).
  struct KeyRingSlot {
    uint64_t generation = 0;
    std::string sealed;
  };
  absl::StatusOr<KeyRingSlot> ReadKeyRingSlot(int slot) const;
  // Opens `slot`'s keyring under `master` into *encoded (a secret).
  bool OpenKeyRingSlot(const Aead& master, const KeyRingSlot& slot,
                       std::string* encoded) const;

  const int fd_;
  const std::string path_;
  const std::string vault_id_;
};

}  // namespace mv

#endif  // MODELVAULT_STORAGE_KEY_FILE_H_
