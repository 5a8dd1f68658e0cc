#include "vault/key_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace mv {
namespace {

std::string KeyFilePath(const std::string& data_dir) {
  return absl::StrCat(data_dir, "/", std::string(KeyFile::kFileName));
}

absl::Status KeyGone(uint64_t version_id) {
  return absl::DataLossError(absl::StrCat(
      "the data key of version id ", version_id,
      " is not in the key file (shredded, or the key file is damaged)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::Create(
    const std::string& data_dir, std::string_view vault_id, SecretKey master,
    int64_t now_unix_ms) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<KeyFile> file,
                      KeyFile::Create(KeyFilePath(data_dir), vault_id));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<const KeyRing> ring,
                      KeyRing::Create(now_unix_ms));
  MV_RETURN_IF_ERROR(file->WriteKeyRing(master, *ring, 0));
  return std::unique_ptr<KeyStore>(
      new KeyStore(std::move(file), std::move(master),
                   std::make_shared<KeyRingHolder>(std::move(ring)), 1));
}

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::Open(
    const std::string& data_dir, std::string_view vault_id, SecretKey master) {
  MV_ASSIGN_OR_RETURN(std::unique_ptr<KeyFile> file,
                      KeyFile::Open(KeyFilePath(data_dir), vault_id));
  MV_ASSIGN_OR_RETURN(KeyFile::StoredKeyRing stored, file->ReadKeyRing(master));
  return std::unique_ptr<KeyStore>(
      new KeyStore(std::move(file), std::move(master),
                   std::make_shared<KeyRingHolder>(std::move(stored.ring)),
                   stored.generation));
}

absl::Status KeyStore::Tidy() {
  MutexLock lock(&mu_);
  return file_->EraseKeyRingsBut(master_, generation_);
}

absl::StatusOr<int> KeyStore::ForeignKeyRings() const {
  MutexLock lock(&mu_);
  return file_->ForeignKeyRings(master_);
}

absl::StatusOr<SecretKey> KeyStore::Create(uint64_t version_id) {
  MV_ASSIGN_OR_RETURN(SecretKey dek, SecretKey::Random());
  MutexLock lock(&slots_mu_);  // Retire checks the slots under it too
  const std::shared_ptr<const KeyRing> ring = holder_->Get();
  MV_RETURN_IF_ERROR(file_->EraseDataKey(version_id, 1));
  MV_RETURN_IF_ERROR(file_->WriteDataKey(version_id, 0, ring->current(),
                                         ring->WrapDataKey(version_id, dek)));
  MV_RETURN_IF_ERROR(file_->Sync());
  return dek;
}

absl::Status KeyStore::Import(uint64_t version_id, const SecretKey& dek) {
  MutexLock lock(&slots_mu_);
  const std::shared_ptr<const KeyRing> ring = holder_->Get();
  MV_RETURN_IF_ERROR(file_->EraseDataKey(version_id, 1));
  return file_->WriteDataKey(version_id, 0, ring->current(),
                             ring->WrapDataKey(version_id, dek));
}

absl::Status KeyStore::Sync() {
  MutexLock lock(&slots_mu_);
  return file_->Sync();
}

absl::StatusOr<SecretKey> KeyStore::Open(uint64_t version_id) const {
  const auto attempt = [&]() -> absl::StatusOr<SecretKey> {
    const std::shared_ptr<const KeyRing> ring = holder_->Get();
    MV_ASSIGN_OR_RETURN(auto halves, file_->ReadDataKey(version_id));
    std::sort(halves.begin(), halves.end(), [](const auto& a, const auto& b) {
      return a.key_version > b.key_version;  // the newest first
    });
    absl::Status last = KeyGone(version_id);
    for (const KeyFile::WrappedDataKey& half : halves) {
      absl::StatusOr<SecretKey> dek =
          ring->UnwrapDataKey(version_id, half.key_version, half.wrapped);
      if (dek.ok()) return dek;
      last = absl::DataLossError(
          absl::StrCat("the data key of version id ", version_id,
                       " does not open: ", dek.status().message()));
    }
    return last;
  };
  absl::StatusOr<SecretKey> dek = attempt();
  if (dek.ok()) return dek;
  MutexLock lock(&slots_mu_);  // a rewrap may have been half-way
  return attempt();
}

absl::StatusOr<uint32_t> KeyStore::KeyVersionOf(uint64_t version_id) const {
  const std::shared_ptr<const KeyRing> ring = holder_->Get();
  MutexLock lock(&slots_mu_);
  MV_ASSIGN_OR_RETURN(auto halves, file_->ReadDataKey(version_id));
  uint32_t best = 0;
  for (const KeyFile::WrappedDataKey& half : halves) {
    if (half.key_version > best &&
        ring->UnwrapDataKey(version_id, half.key_version, half.wrapped).ok())
      best = half.key_version;
  }
  return best;
}

absl::Status KeyStore::Shred(uint64_t version_id) {
  MutexLock lock(&slots_mu_);
  MV_RETURN_IF_ERROR(file_->EraseDataKey(version_id));
  return file_->Sync();
}

absl::StatusOr<size_t> KeyStore::Rewrap(
    const std::vector<uint64_t>& version_ids) {
  MutexLock lock(&slots_mu_);
  const std::shared_ptr<const KeyRing> ring = holder_->Get();
  std::vector<std::pair<uint64_t, int>> old_halves;
  for (uint64_t id : version_ids) {
    MV_ASSIGN_OR_RETURN(auto halves, file_->ReadDataKey(id));
    std::optional<KeyFile::WrappedDataKey> opened;
    for (const KeyFile::WrappedDataKey& half : halves) {
      if (half.key_version == ring->current()) {
        opened.reset();
        break;  // already there (a half at current always opens or is junk)
      }
      if (ring->UnwrapDataKey(id, half.key_version, half.wrapped).ok())
        opened = half;
    }
    if (!opened) continue;
    MV_ASSIGN_OR_RETURN(
        SecretKey dek,
        ring->UnwrapDataKey(id, opened->key_version, opened->wrapped));
    MV_RETURN_IF_ERROR(file_->WriteDataKey(
        id, 1 - opened->half, ring->current(), ring->WrapDataKey(id, dek)));
    old_halves.emplace_back(id, opened->half);
  }
  if (old_halves.empty()) return 0;
  MV_RETURN_IF_ERROR(file_->Sync());  // every new copy durable ...
  for (const auto& [id, half] : old_halves)
    MV_RETURN_IF_ERROR(file_->EraseDataKey(id, half));
  MV_RETURN_IF_ERROR(file_->Sync());  // ... before the old ones go
  return old_halves.size();
}

absl::StatusOr<std::vector<uint64_t>> KeyStore::StoredIds() const {
  std::vector<uint64_t> ids;
  const uint64_t capacity = file_->DataKeyCapacity();
  for (uint64_t id = 1; id < capacity; ++id) {
    MV_ASSIGN_OR_RETURN(auto halves, file_->ReadDataKey(id));
    if (!halves.empty()) ids.push_back(id);
  }
  return ids;
}

absl::Status KeyStore::Store(std::unique_ptr<const KeyRing> ring,
                             bool erase_old) {
  MV_RETURN_IF_ERROR(file_->WriteKeyRing(master_, *ring, generation_));
  ++generation_;
  if (erase_old)
    MV_RETURN_IF_ERROR(file_->EraseKeyRingsBut(master_, generation_));
  holder_->Set(std::move(ring));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> KeyStore::Rotate(int64_t now_unix_ms) {
  MutexLock lock(&mu_);
  MV_ASSIGN_OR_RETURN(std::unique_ptr<const KeyRing> next,
                      holder_->Get()->WithNewVersion(now_unix_ms));
  const uint32_t version = next->current();
  MV_RETURN_IF_ERROR(Store(std::move(next), /*erase_old=*/false));
  return version;
}

absl::Status KeyStore::Retire(uint32_t version) {
  MutexLock lock(&mu_);
  // Under the slot lock no data key can be wrapped under `version` while
  // this checks, and none after: it is not current.
  MutexLock slots(&slots_mu_);
  MV_ASSIGN_OR_RETURN(std::unique_ptr<const KeyRing> next,
                      holder_->Get()->Without(version));
  const uint64_t capacity = file_->DataKeyCapacity();
  for (uint64_t id = 1; id < capacity; ++id) {
    MV_ASSIGN_OR_RETURN(auto halves, file_->ReadDataKey(id));
    for (const KeyFile::WrappedDataKey& half : halves) {
      if (half.key_version == version) {
        return absl::FailedPreconditionError(
            absl::StrCat("key version ", version,
                         " still protects the data key of "
                         "version id ",
                         id));
      }
    }
  }
  return Store(std::move(next), /*erase_old=*/true);
}

absl::Status KeyStore::BeginRekey(const SecretKey& new_master) {
  MutexLock lock(&mu_);
  return file_->WriteKeyRing(new_master, *holder_->Get(), generation_);
}

absl::Status KeyStore::FinishRekey(SecretKey new_master) {
  MutexLock lock(&mu_);
  MV_RETURN_IF_ERROR(file_->EraseKeyRingsBut(new_master, generation_ + 1));
  ++generation_;
  master_ = std::move(new_master);
  return absl::OkStatus();
}

}  // namespace mv
