// Incremental SHA-256 over OpenSSL's EVP interface.
//
// EVP_sha256 uses the SHA-NI/AVX2 code paths, several times faster than a
// portable implementation, which matters because hashing runs on every byte
// pushed or pulled. Not thread-safe: one instance belongs to one thread at a
// time (the pipelines hand it over with their queues).
#ifndef MODELVAULT_CLIENT_LIB_SHA256_H_
#define MODELVAULT_CLIENT_LIB_SHA256_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace mvclient {

class Sha256 {
 public:
  // Returns an initialised hasher, or InternalError if OpenSSL cannot
  // allocate or initialise a digest context.
  static absl::StatusOr<Sha256> New();

  Sha256(Sha256&&) noexcept = default;
  Sha256& operator=(Sha256&&) noexcept = default;

  // Feeds `data`. Returns InternalError only if OpenSSL fails.
  absl::Status Update(absl::string_view data);

  // Returns the 32-byte raw digest. The hasher must not be used afterwards.
  absl::StatusOr<std::string> Finish();

 private:
  struct CtxDeleter {
    void operator()(evp_md_ctx_st* ctx) const noexcept;
  };
  explicit Sha256(evp_md_ctx_st* ctx) : ctx_(ctx) {}
  std::unique_ptr<evp_md_ctx_st, CtxDeleter> ctx_;
};

// Lowercase hex of a raw digest (or of any bytes).
std::string ToHex(absl::string_view raw);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_SHA256_H_
