// Fixed-width big-endian integers for keys and associated data (big-endian
// so that LMDB's byte order equals numeric order).
#ifndef MODELVAULT_COMMON_BYTES_H_
#define MODELVAULT_COMMON_BYTES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mv {

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline void PutBigEndian64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
inline void PutBigEndian32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
inline uint64_t GetBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
inline uint32_t GetBigEndian32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}
inline void AppendBigEndian32(std::string* out, uint32_t v) {
  uint8_t buf[4];
  PutBigEndian32(buf, v);
  out->append(reinterpret_cast<const char*>(buf), 4);
}
inline void AppendBigEndian64(std::string* out, uint64_t v) {
  uint8_t buf[8];
  PutBigEndian64(buf, v);
  out->append(reinterpret_cast<const char*>(buf), 8);
}

}  // namespace mv

#endif  // MODELVAULT_COMMON_BYTES_H_
