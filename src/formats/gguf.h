// Strict parser for GGUF v3 (and v2, which has the same layout) as
// specified in ggml's docs/gguf.md. All integers little-endian:
//
//   offset 0    "GGUF"
//          4    u32 version            2 or 3 (v1 had 32-bit counts: rejected)
//          8    u64 tensor_count
//          16   u64 metadata_kv_count
//          24   metadata_kv_count x { string key, u32 value type, value }
//               tensor_count x { string name (<= 64 bytes), u32 n_dims (<= 4),
//                                u64 dims[n_dims] (innermost first),
//                                u32 ggml type, u64 offset }
//               padding to a multiple of `general.alignment` (u32, power of
//               two, default 32): the data section starts here
//               tensor data; each tensor at data section + offset, offsets
//               multiples of the alignment
//
//   string = u64 length, bytes (no NUL). value = u8 i8 u16 i16 u32 i32 f32
//   bool(1 byte, 0 or 1) string array u64 i64 f64 (type ids 0..12); array =
//   u32 element type, u64 count, elements (arrays may nest, here <= 3 deep).
//
// Never trusts a count or length: each is bounded by the bytes left in the
// file before anything is allocated. Rejects (INVALID_ARGUMENT, message
// naming the defect): bad magic, big-endian files, other versions, unknown
// value or ggml types, duplicate keys or tensor names, n_dims > 4, zero or
// overflowing dimensions, rows that are not whole quantization blocks,
// misaligned, overlapping or out-of-file tensor data, and headers (KVs plus
// tensor infos) over kGgufMaxHeaderBytes. Gaps between tensors and bytes
// after the last one are allowed (writers pad to the alignment); n_dims 0
// is a one-element scalar.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_FORMATS_GGUF_H_
#define MODELVAULT_FORMATS_GGUF_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/ggml_types.h"
#include "formats/prefix_parse.h"

namespace mv {

// Bounds the memory a streaming caller must hold for the header; real
// headers (a 256k-token vocabulary included) are tens of MiB at most.
inline constexpr uint64_t kGgufMaxHeaderBytes = uint64_t{256} << 20;
inline constexpr uint32_t kGgufMaxDims = 4;
inline constexpr uint64_t kGgufMaxTensorNameBytes = 64;
inline constexpr uint64_t kGgufMaxKeyBytes = 65535;
inline constexpr int kGgufMaxArrayDepth = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;
// Metadata keys a file may have. Real files have tens (arrays such as a
// tokenizer's vocabulary are one key); each costs a map node, far more than
// its bytes in the file.
inline constexpr uint64_t kGgufMaxMetadataEntries = 10'000;

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
std::string_view GgufValueTypeName(GgufValueType type);  // "uint32", ...

struct GgufValue {
  GgufValueType type = GgufValueType::kUint8;
  // Unsigned integers widened to uint64_t, signed to int64_t, floats to
  // double. Arrays hold std::monostate: their elements are validated but
  // not kept (a tokenizer vocabulary can be megabytes).
  std::variant<std::monostate, uint64_t, int64_t, double, bool, std::string>
      value;
  GgufValueType element_type = GgufValueType::kUint8;  // arrays only
  uint64_t array_length = 0;                           // arrays only
};

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::kF32;
  // Outermost first, like safetensors and PyTorch: the reverse of the
  // file's innermost-first dims. shape.back() is the row length.
  std::vector<uint64_t> shape;
  uint64_t offset = 0;  // absolute byte offset in the file
  uint64_t length = 0;  // bytes

  uint64_t NumElements() const;
  bool operator==(const GgufTensor&) const = default;
};

struct GgufLayout {
  uint32_t version = 3;
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t header_size = 0;  // bytes up to the end of the tensor infos
  uint64_t data_offset = 0;  // header_size rounded up to the alignment
  uint64_t file_size = 0;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensor> tensors;  // sorted by offset
};

// Parses the header from `prefix`, the first prefix.size() bytes of a file of
// `file_size` bytes (see prefix_parse.h). A complete parse needs the first
// header_size bytes; bytes_needed is a lower bound that grows as the parse
// gets further. INVALID_ARGUMENT for a malformed file or when
// prefix.size() > file_size.
absl::StatusOr<PrefixParse<GgufLayout>> ParseGgufPrefix(std::string_view prefix,
                                                        uint64_t file_size);

// Parses a whole file held in memory.
absl::StatusOr<GgufLayout> ParseGguf(std::string_view file);

}  // namespace mv

#endif  // MODELVAULT_FORMATS_GGUF_H_
