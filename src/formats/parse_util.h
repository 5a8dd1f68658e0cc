// Internal helpers shared by the format parsers: overflow-checked
// arithmetic, little-endian loads, and names made safe for error messages.
// Not part of the library's API. Pure; thread-safe.
#ifndef MODELVAULT_FORMATS_PARSE_UTIL_H_
#define MODELVAULT_FORMATS_PARSE_UTIL_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mv::formats_internal {

// absl::StrCat that also takes std::string_view: Debian's Abseil has its own
// absl::string_view, which std::string_view does not convert to.
inline absl::string_view AsAlphaNumArg(std::string_view s) {
  return {s.data(), s.size()};
}
template <typename T>
const T& AsAlphaNumArg(const T& v) {
  return v;
}
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(AsAlphaNumArg(args)...);
}

// Sets *out = a * b (a + b) and returns true, or returns false on overflow.
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

// REQUIRES: p points at 4 (8) readable bytes. Both formats are
// little-endian on disk; assembling bytewise keeps this correct on any host.
inline uint32_t LoadLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t LoadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

// `name` in single quotes for an error message: control and non-ASCII bytes
// hex-escaped (messages are logged and returned to clients, and names come
// from untrusted files), cut to 64 bytes of input with "..." after.
std::string QuoteName(std::string_view name);

}  // namespace mv::formats_internal

#endif  // MODELVAULT_FORMATS_PARSE_UTIL_H_
