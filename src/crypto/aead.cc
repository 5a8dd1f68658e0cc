#include "crypto/aead.h"

#include <sodium.h>

namespace mv {

void Aead::Seal(std::span<const uint8_t> plaintext, std::span<const uint8_t> ad,
                std::string* out) const {
  out->resize(kOverhead + plaintext.size());
  auto* nonce = reinterpret_cast<uint8_t*>(out->data());
  randombytes_buf(nonce, kNonceSize);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceSize, &written, plaintext.data(), plaintext.size(),
      ad.data(), ad.size(), nullptr, nonce, key_.data());
}

absl::Status Aead::Open(std::span<const uint8_t> sealed,
                        std::span<const uint8_t> ad, std::string* out) const {
  static constexpr const char* kFailure = "stored data failed authentication";
  if (sealed.size() < kOverhead) return absl::DataLossError(kFailure);
  out->resize(sealed.size() - kOverhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(out->data()), &written, nullptr,
          sealed.data() + kNonceSize, sealed.size() - kNonceSize, ad.data(),
          ad.size(), sealed.data(), key_.data()) != 0) {
    sodium_memzero(out->data(), out->size());
    out->clear();
    return absl::DataLossError(kFailure);
  }
  return absl::OkStatus();
}

}  // namespace mv
