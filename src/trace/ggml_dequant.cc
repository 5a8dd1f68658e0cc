#include "trace/ggml_dequant.h"

#include <cassert>

#include "trace/element_codec.h"

namespace mv {
namespace {

uint8_t Byte(std::span<const char> b, size_t at) {
  return static_cast<uint8_t>(b[at]);
}

float Half(std::span<const char> b, size_t at) {
  return static_cast<float>(DecodeElement(
      MarkableType::kF16, LoadElementBits(MarkableType::kF16, b.data() + at)));
}

float Q8_0(std::span<const char> b, uint32_t i) {
  return Half(b, 0) * static_cast<float>(static_cast<int8_t>(b[2 + i]));
}

float Q4_0(std::span<const char> b, uint32_t i) {
  const uint8_t q = Byte(b, 2 + i % 16);
  const int nibble = i < 16 ? q & 0xF : q >> 4;
  return Half(b, 0) * static_cast<float>(nibble - 8);
}

// ggml's get_scale_min_k4: sub-block j's 6-bit scale and min, packed in 12
// bytes (the low 6 bits of bytes 0-7 for j < 4, else a nibble of bytes 8-11
// and the top 2 bits of bytes 0-7).
void ScaleMinK4(uint32_t j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

float Q4_K(std::span<const char> b, uint32_t i) {
  const auto* scales = reinterpret_cast<const uint8_t*>(b.data() + 4);
  // 64 elements per 32 bytes of qs: low nibbles, then high nibbles.
  const uint32_t group = i / 64, at = i % 64;
  const uint8_t q = Byte(b, 16 + 32 * group + at % 32);
  const uint32_t sub = 2 * group + (at < 32 ? 0 : 1);
  const int nibble = at < 32 ? q & 0xF : q >> 4;
  uint8_t scale, min;
  ScaleMinK4(sub, scales, &scale, &min);
  return Half(b, 0) * static_cast<float>(scale) * static_cast<float>(nibble) -
         Half(b, 2) * static_cast<float>(min);
}

float Q6_K(std::span<const char> b, uint32_t i) {
  // Two halves of 128; in each, four quarters of 32 take their low 4 bits
  // from ql (bytes l or l + 32, low or high nibble) and their high 2 bits
  // from qh[l] (bits 2·quarter).
  const uint32_t half = i / 128, quarter = i % 128 / 32, l = i % 32;
  const size_t ql = 64 * half + l + (quarter % 2 == 1 ? 32 : 0);
  const size_t qh = 128 + 32 * half + l;
  const int low = quarter < 2 ? Byte(b, ql) & 0xF : Byte(b, ql) >> 4;
  const int high = (Byte(b, qh) >> (2 * quarter)) & 3;
  const auto scale =
      static_cast<int8_t>(b[192 + 8 * half + l / 16 + 2 * quarter]);
  return Half(b, 208) * static_cast<float>(scale) *
         static_cast<float>((low | high << 4) - 32);
}

}  // namespace

bool CanDequantize(GgmlType type) {
  return type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 ||
         type == GgmlType::kQ4_K || type == GgmlType::kQ6_K;
}

float DequantizeElement(GgmlType type, std::span<const char> block,
                        uint32_t index) {
  assert(CanDequantize(type) && block.size() == GgmlTraits(type).type_size &&
         index < GgmlTraits(type).block_size);
  switch (type) {
    case GgmlType::kQ8_0:
      return Q8_0(block, index);
    case GgmlType::kQ4_0:
      return Q4_0(block, index);
    case GgmlType::kQ4_K:
      return Q4_K(block, index);
    default:
      return Q6_K(block, index);
  }
}

}  // namespace mv
