#include "vault/mark_store.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {
namespace {

constexpr std::string_view kTableAdPrefix = "mvfp-table";
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;

std::string TableAd(uint64_t version_id) {
  std::string ad(kTableAdPrefix);
  AppendBigEndian64(&ad, version_id);
  return ad;
}

absl::Status Corrupt() {
  return absl::DataLossError(
      "mark table fails authentication (corrupt or tampered)");
}

}  // namespace

// Same layout as crypto/aead.h: nonce ‖ ciphertext ‖ tag, XChaCha20-Poly1305.
// Uses libsodium directly so the caller's data key is not copied.
std::string SealMarkTable(const MarkTable& table, const SecretKey& dek,
                          uint64_t version_id) {
  const std::string plain = SerializeMarkTable(table);
  const std::string ad = TableAd(version_id);
  std::string out(kNonceSize + plain.size() + kTagSize, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(o, kNonceSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      o + kNonceSize, &written,
      reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, o,
      dek.data());
  out.resize(kNonceSize + written);
  return out;
}

absl::StatusOr<MarkTable> OpenMarkTable(std::string_view sealed,
                                        const SecretKey& dek,
                                        uint64_t version_id) {
  if (sealed.size() < kNonceSize + kTagSize) return Corrupt();
  const std::string ad = TableAd(version_id);
  std::string plain(sealed.size() - kNonceSize - kTagSize, '\0');
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &written, nullptr,
          s + kNonceSize, sealed.size() - kNonceSize,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), s,
          dek.data()) != 0) {
    return Corrupt();
  }
  plain.resize(written);
  absl::StatusOr<MarkTable> table = ParseMarkTable(plain);
  if (!table.ok()) {
    return absl::DataLossError(
        absl::StrCat("mark table does not parse: ", table.status().message()));
  }
  return table;
}

absl::StatusOr<MarkTable> LoadMarkTable(const Txn& txn, const Dbs& dbs,
                                        const KeyStore& keys,
                                        const VersionRecord& version) {
  MV_ASSIGN_OR_RETURN(auto sealed,
                      txn.Get(dbs.marks, IdKey(version.version_id)));
  if (!sealed) {
    return absl::NotFoundError(
        absl::StrCat(version.name, "@", version.number,
                     " has no mark table (it is not markable)"));
  }
  MV_ASSIGN_OR_RETURN(
      SecretKey dek, keys.Open(version.version_id));
  return OpenMarkTable(*sealed, dek, version.version_id);
}

absl::StatusOr<TraceKeys> VersionTraceKeys(const SecretKey& fingerprint_key,
                                           const VersionRecord& version) {
  return TraceKeys::Derive(fingerprint_key, version.version_id);
}

}  // namespace mv
