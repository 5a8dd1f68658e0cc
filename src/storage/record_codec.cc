#include "storage/record_codec.h"

#include "absl/strings/str_cat.h"

namespace mv {
namespace {
template <typename T>
void AppendLittleEndian(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i, v >>= 8)
    out->push_back(static_cast<char>(v & 0xff));
}
template <typename T>
T ReadLittleEndian(const char* p) {
  T v = 0;
  for (size_t i = sizeof(T); i-- > 0;)
    v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
}  // namespace

Encoder& Encoder::U8(uint8_t v) {
  return out_.push_back(static_cast<char>(v)), *this;
}
Encoder& Encoder::U32(uint32_t v) {
  return AppendLittleEndian(&out_, v), *this;
}
Encoder& Encoder::U64(uint64_t v) {
  return AppendLittleEndian(&out_, v), *this;
}
Encoder& Encoder::Bytes(std::string_view v) {
  U32(static_cast<uint32_t>(v.size()));
  out_.append(v);
  return *this;
}

bool Decoder::Take(size_t n, const char** p) {
  if (!ok_ || in_.size() < n) return ok_ = false;
  *p = in_.data();
  in_.remove_prefix(n);
  return true;
}

Decoder& Decoder::U8(uint8_t* v) {
  const char* p;
  if (Take(1, &p)) *v = static_cast<uint8_t>(*p);
  return *this;
}
Decoder& Decoder::U32(uint32_t* v) {
  const char* p;
  if (Take(4, &p)) *v = ReadLittleEndian<uint32_t>(p);
  return *this;
}
Decoder& Decoder::U64(uint64_t* v) {
  const char* p;
  if (Take(8, &p)) *v = ReadLittleEndian<uint64_t>(p);
  return *this;
}
Decoder& Decoder::Bytes(std::string* v) {
  uint32_t n = 0;
  const char* p;
  if (U32(&n).ok_ && Take(n, &p)) v->assign(p, n);
  return *this;
}

absl::Status Decoder::Finish() const {
  if (ok_ && in_.empty()) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("corrupt ", std::string(what_), " record"));
}

}  // namespace mv
