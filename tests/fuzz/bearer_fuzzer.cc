// Fuzzes the `authorization` header parser (crypto/token.h ParseBearer).
// Invariants: accepted ⇔ the header is exactly "Bearer " + "mvt_" + 43
// base64url characters; an accepted token is a view of the header's last 47
// bytes; every rejection is UNAUTHENTICATED with the one fixed message.
#include <string>
#include <string_view>

#include "crypto/token.h"
#include "fuzz_check.h"

namespace {

bool IsBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool Grammar(std::string_view h) {
  if (h.size() != 7 + 47 || !h.starts_with("Bearer mvt_")) return false;
  for (char c : h.substr(11)) {
    if (!IsBase64Url(c)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A freshly generated token always parses.
  std::string header = "Bearer " + mv::GenerateToken();
  MV_FUZZ_CHECK(mv::ParseBearer(header).ok());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header = mv::fuzz::AsView(data, size);
  absl::StatusOr<std::string_view> token = mv::ParseBearer(header);
  MV_FUZZ_CHECK(token.ok() == Grammar(header));
  if (!token.ok()) {
    MV_FUZZ_CHECK(token.status().code() == absl::StatusCode::kUnauthenticated);
    MV_FUZZ_CHECK(token.status().message() == mv::kUnauthenticatedMessage);
    return 0;
  }
  MV_FUZZ_CHECK(token->size() == mv::kTokenLength);
  MV_FUZZ_CHECK(token->starts_with(mv::kTokenPrefix));
  MV_FUZZ_CHECK(header.starts_with("Bearer mvt_"));
  MV_FUZZ_CHECK(token->data() == header.data() + 7);
  return 0;
}
