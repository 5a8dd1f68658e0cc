// The ggml tensor element types a GGUF file may declare, with the block
// layout that gives a tensor's byte size:
//
//   bytes = numel / block_size * type_size,  with shape[innermost] a
//                                            multiple of block_size
//
// Plain types (F32, I8, ...) have block_size 1. Quantized types pack
// block_size elements into type_size bytes (Q4_0: 32 elements in 18 bytes:
// an f16 scale and 16 bytes of nibbles). Ids and sizes follow ggml's
// `ggml_type` and gguf-py's GGML_QUANT_SIZES; ids 4, 5 and 31..33, 36..38
// were removed from ggml and, like ids above kMaxKnownId, are unknown here.
//
// Pure constants; thread-safe.
#ifndef MODELVAULT_FORMATS_GGML_TYPES_H_
#define MODELVAULT_FORMATS_GGML_TYPES_H_

#include <cstdint>
#include <string_view>

#include "formats/prefix_parse.h"

namespace mv {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlTypeTraits {
  GgmlType type;
  std::string_view name;  // as ggml prints it: "F32", "Q4_K", "IQ2_XXS"
  uint32_t block_size;    // elements per block
  uint32_t type_size;     // bytes per block
  bool quantized;         // block_size > 1 (never markable)
};

// The traits of type id `id`, or nullptr if ggml has no such type (any more).
const GgmlTypeTraits* FindGgmlType(uint32_t id);
// REQUIRES: `type` is one of the enumerators above.
const GgmlTypeTraits& GgmlTraits(GgmlType type);

// kF32/kF16/kBF16 for those types; quantized and integer types are not
// markable.
MarkableType MarkableTypeOf(GgmlType type);
inline bool IsMarkable(GgmlType type) {
  return MarkableTypeOf(type) != MarkableType::kNotMarkable;
}
// F16, BF16, F32, F64: unquantized IEEE-style floats.
bool IsFloatingPoint(GgmlType type);

}  // namespace mv

#endif  // MODELVAULT_FORMATS_GGML_TYPES_H_
