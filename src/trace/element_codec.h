// The three markable element encodings (IEEE binary32, binary16, bfloat16,
// little-endian) as raw bits: decoding, round-to-nearest-even casts, and the
// MVFP-1 mark itself (LEAK_TRACING.md, "Embedding": move the magnitude by
// k = 4 bf16 ulps).
//
// Bits are carried in a uint32_t whatever the width; the element occupies
// the low ElementBytes(type) * 8 bits.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_ELEMENT_CODEC_H_
#define MODELVAULT_TRACE_ELEMENT_CODEC_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "formats/prefix_parse.h"

namespace mv {

// k: how many bf16 ulps a mark moves a weight's magnitude.
inline constexpr uint32_t kMarkUlps = 4;

// 4 for F32, 2 for F16 and BF16, 0 for kNotMarkable.
uint32_t ElementBytes(MarkableType type);
// "F32", "F16", "BF16", "none".
std::string_view MarkableTypeName(MarkableType type);

// Reads the little-endian element at `p` (ElementBytes(type) bytes).
uint32_t LoadElementBits(MarkableType type, const char* p);
// Writes `bits` little-endian to `p`.
void StoreElementBits(MarkableType type, uint32_t bits, char* p);

// The value of `bits` in encoding `type`, exactly (every value of the three
// encodings is a double).
double DecodeElement(MarkableType type, uint32_t bits);
// `value` (which must be exactly a binary32 value, e.g. DecodeElement of
// any of the three encodings) cast to `type` with round-to-nearest-even,
// as PyTorch's .to(dtype) does. Overflow gives ±Inf.
uint32_t CastToElement(MarkableType type, float value);

// The bf16 ulp at |x|: 2^(floor(log2 |x|) - 7); for 0 the smallest normal's.
double UlpBf16(double x);

// The element `bits` with its magnitude moved by kMarkUlps bf16 ulps, up if
// `direction` > 0 else down (relative to the sign: +1 grows |x|). The step on
// the integer magnitude bits is 2^16 for F32, 8 for F16, 1 for BF16 (all
// three are one bf16 ulp away from a binade edge). Returns nullopt when the
// result would not be a finite value of the same sign, or for non-finite
// input; such elements are never chosen (plan.h).
std::optional<uint32_t> MarkedBits(MarkableType type, uint32_t bits,
                                   int direction);

}  // namespace mv

#endif  // MODELVAULT_TRACE_ELEMENT_CODEC_H_
