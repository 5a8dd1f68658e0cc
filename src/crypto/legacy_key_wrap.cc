#include "crypto/legacy_key_wrap.h"

#include <sodium.h>

#include "common/bytes.h"

namespace mv {
namespace {
void AppendKeyVersion(std::string* ad, uint32_t key_version) {
  uint8_t kv[4];
  PutBigEndian32(kv, key_version);
  ad->append(reinterpret_cast<const char*>(kv), 4);
}
std::string DataKeyAd(uint64_t version_id, uint32_t key_version) {
  std::string ad = "dek";
  AppendBigEndian64(&ad, version_id);
  AppendKeyVersion(&ad, key_version);
  return ad;
}
// "key:" ‖ name ‖ 0x00 ‖ key_version: the NUL keeps names prefix-free.
std::string NamedKeyAd(std::string_view name) {
  std::string ad = "key:";
  ad.append(name);
  ad.push_back('\0');
  AppendKeyVersion(&ad, LegacyKeyWrap::kKeyVersion);
  return ad;
}
}  // namespace

std::string LegacyKeyWrap::Wrap(std::string_view ad,
                                const SecretKey& key) const {
  std::string wrapped;
  kek_.Seal(key.span(), AsBytes(ad), &wrapped);
  return wrapped;
}

absl::StatusOr<SecretKey> LegacyKeyWrap::Unwrap(
    std::string_view ad, std::string_view wrapped) const {
  std::string raw;
  absl::Status opened = kek_.Open(AsBytes(wrapped), AsBytes(ad), &raw);
  if (!opened.ok())
    return absl::DataLossError("a wrapped key failed authentication");
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(AsBytes(raw));
  sodium_memzero(raw.data(), raw.size());
  return key;
}

std::string LegacyKeyWrap::WrapDataKey(uint64_t version_id,
                                       const SecretKey& dek) const {
  return Wrap(DataKeyAd(version_id, kKeyVersion), dek);
}

absl::StatusOr<SecretKey> LegacyKeyWrap::UnwrapDataKey(
    uint64_t version_id, uint32_t key_version, std::string_view wrapped) const {
  return Unwrap(DataKeyAd(version_id, key_version), wrapped);
}

std::string LegacyKeyWrap::WrapNamedKey(std::string_view name,
                                        const SecretKey& key) const {
  return Wrap(NamedKeyAd(name), key);
}

absl::StatusOr<SecretKey> LegacyKeyWrap::UnwrapNamedKey(
    std::string_view name, std::string_view wrapped) const {
  return Unwrap(NamedKeyAd(name), wrapped);
}

}  // namespace mv
