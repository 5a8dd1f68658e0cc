#include "storage/barrier.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"

namespace mv {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

absl::StatusOr<std::unique_ptr<StorageBarrier>> StorageBarrier::New(
    const SecretKey& kek, std::string_view vault_id) {
  if (vault_id.size() != kVaultIdSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("vault id must be ", kVaultIdSize, " bytes"));
  }
  MV_ASSIGN_OR_RETURN(SecretKey key, DeriveSubkey(kek, 1, "mvbarier"));
  return std::unique_ptr<StorageBarrier>(
      new StorageBarrier(std::move(key), std::string(vault_id)));
}

bool StorageBarrier::Seals(std::string_view database,
                           std::string_view key) const {
  if (database == "chunks") return false;
  return database != "meta" || (key != kVaultIdKey && key != kKeyCheckKey);
}

std::string StorageBarrier::AssociatedData(std::string_view database,
                                           std::string_view key) const {
  std::string ad = "mvbarrier";
  ad.push_back(static_cast<char>(kLayout));
  ad += vault_id_;
  ad.push_back(static_cast<char>(database.size()));
  absl::StrAppend(&ad, std::string(database), std::string(key));
  return ad;
}

void StorageBarrier::Seal(std::string_view database, std::string_view key,
                          std::string_view value, std::string* out) const {
  std::string sealed;
  aead_.Seal(Bytes(value), Bytes(AssociatedData(database, key)), &sealed);
  out->clear();
  out->reserve(1 + sealed.size());
  out->push_back(static_cast<char>(kLayout));
  out->append(sealed);
}

absl::Status StorageBarrier::Open(std::string_view database,
                                  std::string_view key, std::string_view sealed,
                                  std::string* out) const {
  if (sealed.size() >= kOverhead &&
      static_cast<uint8_t>(sealed[0]) == kLayout &&
      aead_
          .Open(Bytes(sealed.substr(1)), Bytes(AssociatedData(database, key)),
                out)
          .ok()) {
    return absl::OkStatus();
  }
  return absl::DataLossError(
      absl::StrCat("stored record ", std::string(database), "/\"",
                   absl::CHexEscape(std::string(key)),
                   "\" fails to authenticate (edited, moved, or from another "
                   "vault)"));
}

}  // namespace mv
