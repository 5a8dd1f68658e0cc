#include "crypto/key_ring.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"

namespace mv {

struct KeyRing::Version {
  uint32_t number;
  int64_t created_unix_ms;
  SecretKey root;
  Aead barrier, data_key_wrap, named_key_wrap;
};

namespace {

constexpr size_t kEntrySize = 4 + 8 + SecretKey::kSize;

std::string DataKeyAd(uint64_t version_id, uint32_t key_version) {
  std::string ad = "dek";
  AppendBigEndian64(&ad, version_id);
  AppendBigEndian32(&ad, key_version);
  return ad;
}

// "key:" ‖ name ‖ 0x00 ‖ key_version: the NUL keeps names prefix-free.
std::string NamedKeyAd(std::string_view name, uint32_t key_version) {
  std::string ad = "key:";
  ad.append(name);
  ad.push_back('\0');
  AppendBigEndian32(&ad, key_version);
  return ad;
}

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(
      absl::StrCat("keyring does not decode: ", std::string(why)));
}

absl::StatusOr<SecretKey> OpenKey(const Aead& aead, std::string_view ad,
                                  std::string_view wrapped) {
  std::string raw;
  if (!aead.Open(AsBytes(wrapped), AsBytes(ad), &raw).ok())
    return absl::DataLossError("a wrapped key failed authentication");
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(AsBytes(raw));
  sodium_memzero(raw.data(), raw.size());
  return key;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const KeyRing::Version>> KeyRing::MakeVersion(
    uint32_t number, int64_t created, std::span<const uint8_t> root) {
  MV_ASSIGN_OR_RETURN(SecretKey key, SecretKey::FromBytes(root));
  MV_ASSIGN_OR_RETURN(SecretKey barrier, DeriveSubkey(key, 1, "mvbarier"));
  MV_ASSIGN_OR_RETURN(SecretKey dek_wrap, DeriveSubkey(key, 2, "mvdekwrp"));
  MV_ASSIGN_OR_RETURN(SecretKey named_wrap, DeriveSubkey(key, 3, "mvnamed_"));
  return std::make_shared<const Version>(
      Version{number, created, std::move(key), Aead(std::move(barrier)),
              Aead(std::move(dek_wrap)), Aead(std::move(named_wrap))});
}

absl::StatusOr<std::unique_ptr<const KeyRing>> KeyRing::Create(
    int64_t now_unix_ms) {
  MV_ASSIGN_OR_RETURN(SecretKey root, SecretKey::Random());
  MV_ASSIGN_OR_RETURN(auto version, MakeVersion(1, now_unix_ms, root.span()));
  return std::unique_ptr<const KeyRing>(new KeyRing({std::move(version)}));
}

absl::StatusOr<std::unique_ptr<const KeyRing>> KeyRing::Decode(
    std::span<const uint8_t> encoded) {
  if (encoded.size() < 5 || encoded[0] != kLayout)
    return Corrupt("unknown layout");
  const uint32_t n = GetBigEndian32(encoded.data() + 1);
  if (n == 0 || encoded.size() != 5 + uint64_t{n} * kEntrySize)
    return Corrupt("wrong length");
  std::vector<std::shared_ptr<const Version>> versions;
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* p = encoded.data() + 5 + i * kEntrySize;
    const uint32_t number = GetBigEndian32(p);
    if (number == 0 || (!versions.empty() && number <= versions.back()->number))
      return Corrupt("versions out of order");
    MV_ASSIGN_OR_RETURN(
        auto version,
        MakeVersion(number, static_cast<int64_t>(GetBigEndian64(p + 4)),
                    {p + 12, SecretKey::kSize}));
    versions.push_back(std::move(version));
  }
  return std::unique_ptr<const KeyRing>(new KeyRing(std::move(versions)));
}

std::string KeyRing::Encode() const {
  std::string out(1, static_cast<char>(kLayout));
  out.reserve(5 + versions_.size() * kEntrySize);
  AppendBigEndian32(&out, static_cast<uint32_t>(versions_.size()));
  for (const auto& v : versions_) {
    AppendBigEndian32(&out, v->number);
    AppendBigEndian64(&out, static_cast<uint64_t>(v->created_unix_ms));
    out.append(AsChars(v->root.span()));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<const KeyRing>> KeyRing::WithNewVersion(
    int64_t now_unix_ms) const {
  MV_ASSIGN_OR_RETURN(SecretKey root, SecretKey::Random());
  MV_ASSIGN_OR_RETURN(auto next,
                      MakeVersion(current() + 1, now_unix_ms, root.span()));
  std::vector<std::shared_ptr<const Version>> versions = versions_;
  versions.push_back(std::move(next));
  return std::unique_ptr<const KeyRing>(new KeyRing(std::move(versions)));
}

absl::StatusOr<std::unique_ptr<const KeyRing>> KeyRing::Without(
    uint32_t version) const {
  if (version == current()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key version ", version, " is current; rotate first"));
  }
  std::vector<std::shared_ptr<const Version>> versions;
  for (const auto& v : versions_)
    if (v->number != version) versions.push_back(v);
  return std::unique_ptr<const KeyRing>(new KeyRing(std::move(versions)));
}

uint32_t KeyRing::current() const { return Current().number; }

std::vector<KeyRing::VersionInfo> KeyRing::versions() const {
  std::vector<VersionInfo> out;
  for (const auto& v : versions_)
    out.push_back({v->number, v->created_unix_ms});
  return out;
}

const KeyRing::Version* KeyRing::Find(uint32_t version) const {
  for (const auto& v : versions_)
    if (v->number == version) return v.get();
  return nullptr;
}

std::string KeyRing::WrapDataKey(uint64_t version_id,
                                 const SecretKey& dek) const {
  std::string wrapped;
  Current().data_key_wrap.Seal(
      dek.span(), AsBytes(DataKeyAd(version_id, current())), &wrapped);
  return wrapped;
}

absl::StatusOr<SecretKey> KeyRing::UnwrapDataKey(
    uint64_t version_id, uint32_t key_version, std::string_view wrapped) const {
  const Version* v = Find(key_version);
  if (v == nullptr) {
    return absl::DataLossError(absl::StrCat(
        "a data key is under key version ", key_version,
        ", which the keyring does not hold (retired, or the file is edited)"));
  }
  return OpenKey(v->data_key_wrap, DataKeyAd(version_id, key_version), wrapped);
}

std::string KeyRing::WrapNamedKey(std::string_view name,
                                  const SecretKey& key) const {
  std::string stored;
  AppendBigEndian32(&stored, current());
  std::string wrapped;
  Current().named_key_wrap.Seal(key.span(),
                                AsBytes(NamedKeyAd(name, current())), &wrapped);
  return stored + wrapped;
}

uint32_t KeyRing::NamedKeyVersion(std::string_view stored) {
  if (stored.size() != 4 + kWrappedKeySize) return 0;
  return GetBigEndian32(reinterpret_cast<const uint8_t*>(stored.data()));
}

absl::StatusOr<SecretKey> KeyRing::UnwrapNamedKey(
    std::string_view name, std::string_view stored) const {
  const uint32_t key_version = NamedKeyVersion(stored);
  const Version* v = Find(key_version);
  if (v == nullptr)
    return absl::DataLossError("a wrapped key failed authentication");
  return OpenKey(v->named_key_wrap, NamedKeyAd(name, key_version),
                 stored.substr(4));
}

const Aead* KeyRing::BarrierKey(uint32_t version) const {
  const Version* v = Find(version);
  return v == nullptr ? nullptr : &v->barrier;
}

}  // namespace mv
