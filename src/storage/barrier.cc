#include "storage/barrier.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"

namespace mv {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

absl::Status CheckVaultId(std::string_view vault_id) {
  if (vault_id.size() == StorageBarrier::kVaultIdSize) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "vault id must be ", StorageBarrier::kVaultIdSize, " bytes"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StorageBarrier>> StorageBarrier::New(
    std::shared_ptr<const KeyRingHolder> keys, std::string_view vault_id) {
  MV_RETURN_IF_ERROR(CheckVaultId(vault_id));
  return std::unique_ptr<StorageBarrier>(
      new StorageBarrier(nullptr, std::move(keys), std::string(vault_id)));
}

absl::StatusOr<std::unique_ptr<StorageBarrier>> StorageBarrier::NewLegacy(
    const SecretKey& kek, std::string_view vault_id) {
  return NewMigrating(kek, nullptr, vault_id);
}

absl::StatusOr<std::unique_ptr<StorageBarrier>> StorageBarrier::NewMigrating(
    const SecretKey& kek, std::shared_ptr<const KeyRingHolder> keys,
    std::string_view vault_id) {
  MV_RETURN_IF_ERROR(CheckVaultId(vault_id));
  MV_ASSIGN_OR_RETURN(SecretKey key, DeriveSubkey(kek, 1, "mvbarier"));
  return std::unique_ptr<StorageBarrier>(
      new StorageBarrier(std::make_unique<Aead>(std::move(key)),
                         std::move(keys), std::string(vault_id)));
}

uint32_t StorageBarrier::KeyVersionOf(std::string_view sealed) {
  if (sealed.size() < kOverhead || static_cast<uint8_t>(sealed[0]) != kLayout)
    return 0;
  return GetBigEndian32(reinterpret_cast<const uint8_t*>(sealed.data()) + 1);
}

bool StorageBarrier::Seals(std::string_view database,
                           std::string_view key) const {
  if (database == "chunks") return false;
  return database != "meta" || (key != kVaultIdKey && key != kKeyCheckKey);
}

std::string StorageBarrier::AssociatedData(uint8_t layout, uint32_t key_version,
                                           std::string_view database,
                                           std::string_view key) const {
  std::string ad = "mvbarrier";
  ad.push_back(static_cast<char>(layout));
  ad += vault_id_;
  if (layout == kLayout) {
    AppendBigEndian32(&ad, key_version);
  }
  ad.push_back(static_cast<char>(database.size()));
  absl::StrAppend(&ad, std::string(database), std::string(key));
  return ad;
}

void StorageBarrier::Seal(std::string_view database, std::string_view key,
                          std::string_view value, std::string* out) const {
  std::string sealed;
  out->clear();
  if (keys_ == nullptr) {  // the layout-1 barrier of an old format
    legacy_->Seal(Bytes(value),
                  Bytes(AssociatedData(kLegacyLayout, 0, database, key)),
                  &sealed);
    out->push_back(static_cast<char>(kLegacyLayout));
    out->append(sealed);
    return;
  }
  const std::shared_ptr<const KeyRing> ring = keys_->Get();
  const uint32_t version = ring->current();
  ring->BarrierKey(version)->Seal(
      Bytes(value), Bytes(AssociatedData(kLayout, version, database, key)),
      &sealed);
  out->reserve(5 + sealed.size());
  out->push_back(static_cast<char>(kLayout));
  AppendBigEndian32(out, version);
  out->append(sealed);
}

bool StorageBarrier::OpenLegacy(std::string_view database, std::string_view key,
                                std::string_view sealed,
                                std::string* out) const {
  return legacy_ != nullptr && sealed.size() >= kLegacyOverhead &&
         legacy_
             ->Open(Bytes(sealed.substr(1)),
                    Bytes(AssociatedData(kLegacyLayout, 0, database, key)), out)
             .ok();
}

absl::Status StorageBarrier::Open(std::string_view database,
                                  std::string_view key, std::string_view sealed,
                                  std::string* out) const {
  const uint8_t layout = sealed.empty() ? 0 : static_cast<uint8_t>(sealed[0]);
  bool opened = false;
  if (layout == kLegacyLayout) {
    opened = OpenLegacy(database, key, sealed, out);
  } else if (layout == kLayout && keys_ != nullptr) {
    const uint32_t version = KeyVersionOf(sealed);
    const std::shared_ptr<const KeyRing> ring = keys_->Get();
    const Aead* aead = ring->BarrierKey(version);
    opened =
        aead != nullptr &&
        aead->Open(Bytes(sealed.substr(5)),
                   Bytes(AssociatedData(kLayout, version, database, key)), out)
            .ok();
  }
  if (opened) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("stored record ", std::string(database), "/\"",
                   absl::CHexEscape(std::string(key)),
                   "\" fails to authenticate (edited, moved, or from another "
                   "vault)"));
}

}  // namespace mv
