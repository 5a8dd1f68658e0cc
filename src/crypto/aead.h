// Aead: XChaCha20-Poly1305-IETF (libsodium) under one key, with a fresh
// random 24-byte nonce per message. Callers never see nonces or key bytes.
//
// Sealed layout:  nonce[24] ‖ ciphertext[n] ‖ tag[16]   (n = plaintext size)
//
// Any failure to open yields the same DATA_LOSS message, so the error is no
// oracle. Thread-safe: all methods are const.
#ifndef MODELVAULT_CRYPTO_AEAD_H_
#define MODELVAULT_CRYPTO_AEAD_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "common/bytes.h"
#include "crypto/secret_key.h"

namespace mv {

class Aead {
 public:
  static constexpr size_t kNonceSize = 24;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kNonceSize + kTagSize;
  static constexpr const char* kSuiteName = "xchacha20poly1305-ietf";

  explicit Aead(SecretKey key) : key_(std::move(key)) {}

  // Replaces *out with the sealed message.
  void Seal(std::span<const uint8_t> plaintext, std::span<const uint8_t> ad,
            std::string* out) const;
  // Replaces *out with the plaintext, or returns DATA_LOSS.
  absl::Status Open(std::span<const uint8_t> sealed,
                    std::span<const uint8_t> ad, std::string* out) const;

 private:
  SecretKey key_;
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_AEAD_H_
