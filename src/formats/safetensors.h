// Strict parser for the safetensors layout (huggingface/safetensors):
//
//   offset 0      u64 LE   N, the header length (N <= 100,000,000, 8+N <= size)
//   offset 8      N bytes  JSON object, starting with '{', may be padded with
//                          trailing spaces:
//                            "__metadata__": {string: string, ...}  (optional)
//                            name: {"dtype": D, "shape": [u64...],
//                                   "data_offsets": [begin, end]}
//   offset 8+N    data     tensor bytes; offsets are relative to 8+N
//
// Sorted by begin, the tensors must tile the data region exactly: no gap,
// no overlap, nothing after the last tensor; end - begin must equal
// numel * element size. Elements are little-endian, row-major.
//
// Anything else is INVALID_ARGUMENT with a message naming the defect and,
// where there is one, the tensor ("safetensors: tensor 'a.weight':
// data_offsets [8, 4) are reversed"). Names in messages are escaped to
// printable ASCII and shortened. Duplicate JSON keys, unknown fields and
// unknown dtypes are errors, not last-one-wins or ignored.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_FORMATS_SAFETENSORS_H_
#define MODELVAULT_FORMATS_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/prefix_parse.h"

namespace mv {

inline constexpr uint64_t kSafetensorsMaxHeaderLength = 100'000'000;

// The dtypes of the safetensors spec, named as in the file. F4 and F6_*
// pack sub-byte elements; C64 is a pair of f32.
enum class SafetensorsDtype : uint8_t {
  kBool,
  kU8,
  kI8,
  kF8E5M2,
  kF8E4M3,
  kF8E8M0,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kF64,
  kI64,
  kU64,
  kC64,
  kF4,
  kF6E2M3,
  kF6E3M2,
};

// "F32", "BF16", "F8_E4M3", ...
std::string_view SafetensorsDtypeName(SafetensorsDtype dtype);
// The dtype named `name` exactly (case-sensitive), or nullopt.
std::optional<SafetensorsDtype> SafetensorsDtypeFromName(std::string_view name);
// Bits per element: 1 byte for BOOL, 4 for F4, 6 for F6_*, 64 for C64, ...
uint32_t SafetensorsDtypeBits(SafetensorsDtype dtype);
// Any floating-point encoding (F4 ... F64, C64).
bool IsFloatingPoint(SafetensorsDtype dtype);
// kF32/kF16/kBF16 for the markable dtypes, kNotMarkable for all others.
MarkableType MarkableTypeOf(SafetensorsDtype dtype);
inline bool IsMarkable(SafetensorsDtype dtype) {
  return MarkableTypeOf(dtype) != MarkableType::kNotMarkable;
}

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kU8;
  std::vector<uint64_t> shape;  // outermost first; [] is a scalar
  uint64_t offset = 0;          // absolute byte offset in the file
  uint64_t length = 0;          // bytes; numel * bits / 8

  uint64_t NumElements() const;  // product of shape (validated not to overflow)
  bool operator==(const SafetensorsTensor&) const = default;
};

struct SafetensorsLayout {
  uint64_t header_length = 0;  // N: the JSON occupies [8, 8 + N)
  uint64_t data_offset = 0;    // 8 + N: where tensor data starts
  uint64_t file_size = 0;
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::vector<SafetensorsTensor> tensors;       // sorted by offset, then name

  bool operator==(const SafetensorsLayout&) const = default;
};

// Parses the header from `prefix`, the first prefix.size() bytes of a file of
// `file_size` bytes (see prefix_parse.h). A complete parse needs exactly the
// first 8 + N bytes. Returns INVALID_ARGUMENT for a malformed header or when
// prefix.size() > file_size.
absl::StatusOr<PrefixParse<SafetensorsLayout>> ParseSafetensorsPrefix(
    std::string_view prefix, uint64_t file_size);

// Parses a whole file held in memory.
absl::StatusOr<SafetensorsLayout> ParseSafetensors(std::string_view file);

}  // namespace mv

#endif  // MODELVAULT_FORMATS_SAFETENSORS_H_
