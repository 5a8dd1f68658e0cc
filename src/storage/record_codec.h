// A tiny length-checked binary codec for the records stored in LMDB (the
// core may not use protobuf). Fields are written in a fixed order per record
// type; the record layouts live next to their types in vault/records.h.
//
//   u8/u32/u64: little-endian fixed width
//   bytes/str : u32 length ‖ bytes
//
// Decoder never reads past its input: a short or malformed record yields
// DATA_LOSS. Neither class is thread-safe.
#ifndef MODELVAULT_STORAGE_RECORD_CODEC_H_
#define MODELVAULT_STORAGE_RECORD_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mv {

class Encoder {
 public:
  Encoder& U8(uint8_t v);
  Encoder& U32(uint32_t v);
  Encoder& U64(uint64_t v);
  Encoder& Bytes(std::string_view v);
  std::string Finish() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  Decoder(std::string_view in, std::string_view what) : in_(in), what_(what) {}
  Decoder& U8(uint8_t* v);
  Decoder& U32(uint32_t* v);
  Decoder& U64(uint64_t* v);
  Decoder& Bytes(std::string* v);
  // OK only if every read succeeded and the input is fully consumed.
  absl::Status Finish() const;
  bool ok() const { return ok_; }

 private:
  bool Take(size_t n, const char** p);
  std::string_view in_;
  std::string_view what_;
  bool ok_ = true;
};

}  // namespace mv

#endif  // MODELVAULT_STORAGE_RECORD_CODEC_H_
