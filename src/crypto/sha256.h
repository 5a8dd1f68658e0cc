// Incremental SHA-256 over OpenSSL's EVP (libsodium's portable SHA-256 is
// several times slower on this hardware). One instance per stream; not
// thread-safe.
#ifndef MODELVAULT_CRYPTO_SHA256_H_
#define MODELVAULT_CRYPTO_SHA256_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mv {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  // REQUIRES: called once; the object is spent afterwards.
  Sha256Digest Finish();

  static Sha256Digest Of(std::string_view data);

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out
};

std::string ToHex(std::span<const uint8_t> bytes);
// Parses lowercase or uppercase hex; false on odd length or a bad digit.
bool FromHex(std::string_view hex, std::string* out);

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_SHA256_H_
