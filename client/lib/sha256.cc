#include "client/lib/sha256.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace mvclient {

void Sha256::CtxDeleter::operator()(evp_md_ctx_st* ctx) const noexcept {
  EVP_MD_CTX_free(ctx);
}

absl::StatusOr<Sha256> Sha256::New() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return absl::InternalError("EVP_MD_CTX_new failed");
  Sha256 hasher(ctx);
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("EVP_DigestInit_ex(sha256) failed");
  }
  return hasher;
}

absl::Status Sha256::Update(absl::string_view data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
    return absl::InternalError("EVP_DigestUpdate failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Sha256::Finish() {
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_.get(),
                         reinterpret_cast<unsigned char*>(digest.data()),
                         &len) != 1) {
    return absl::InternalError("EVP_DigestFinal_ex failed");
  }
  digest.resize(len);
  return digest;
}

std::string ToHex(absl::string_view raw) { return absl::BytesToHexString(raw); }

}  // namespace mvclient
