// Test-side quantizers writing ggml's Q8_0 and Q4_K blocks (layouts in
// src/trace/ggml_dequant.h), so that tests can make the quantized GGUF a
// leaker would get from llama-quantize. Q8_0 is ggml's reference
// (quantize_row_q8_0_ref); Q4_K uses each sub-block's min and max (ggml
// searches for a better scale, which changes the rounding, not the layout).
#ifndef MODELVAULT_TESTS_SRC_TRACE_GGML_QUANTIZE_H_
#define MODELVAULT_TESTS_SRC_TRACE_GGML_QUANTIZE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "trace/element_codec.h"

namespace mvtesting {

// `value` as f16 bits, and back: scales are stored (and used) as f16.
inline uint16_t ToHalfBits(float value) {
  return static_cast<uint16_t>(
      mv::CastToElement(mv::MarkableType::kF16, value));
}
inline float FromHalfBits(uint16_t bits) {
  return static_cast<float>(mv::DecodeElement(mv::MarkableType::kF16, bits));
}
inline void AppendHalf(std::string* out, uint16_t bits) {
  out->push_back(static_cast<char>(bits & 0xFF));
  out->push_back(static_cast<char>(bits >> 8));
}

// REQUIRES: x.size() % 32 == 0.
inline std::string QuantizeQ8_0(const std::vector<float>& x) {
  std::string out;
  for (size_t b = 0; b < x.size(); b += 32) {
    float amax = 0;
    for (size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const float d = amax / 127;
    const float id = d != 0 ? 1 / d : 0;
    AppendHalf(&out, ToHalfBits(d));
    for (size_t i = 0; i < 32; ++i) {
      out.push_back(
          static_cast<char>(static_cast<int8_t>(std::lround(x[b + i] * id))));
    }
  }
  return out;
}

// REQUIRES: x.size() % 256 == 0.
inline std::string QuantizeQ4_K(const std::vector<float>& x) {
  std::string out;
  for (size_t b = 0; b < x.size(); b += 256) {
    float scale[8], min[8];  // x ≈ scale·q − min, q in 0..15
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      const auto first = x.begin() + static_cast<std::ptrdiff_t>(b + 32 * j);
      const float lo = std::min(0.0f, *std::min_element(first, first + 32));
      const float hi = *std::max_element(first, first + 32);
      scale[j] = (hi - lo) / 15;
      min[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, min[j]);
    }
    const uint16_t d_bits = ToHalfBits(max_scale / 63);
    const uint16_t dmin_bits = ToHalfBits(max_min / 63);
    const float d = FromHalfBits(d_bits), dmin = FromHalfBits(dmin_bits);
    uint8_t sc[8], m[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = d > 0 ? static_cast<uint8_t>(
                          std::min<long>(63, std::lround(scale[j] / d)))
                    : 0;
      m[j] = dmin > 0 ? static_cast<uint8_t>(
                            std::min<long>(63, std::lround(min[j] / dmin)))
                      : 0;
    }
    uint8_t packed[12] = {};
    for (int j = 0; j < 8; ++j) {
      if (j < 4) {
        packed[j] |= sc[j];
        packed[j + 4] |= m[j];
      } else {
        packed[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | (m[j] & 0xF) << 4);
        packed[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
        packed[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
      }
    }
    uint8_t q[256];
    for (int i = 0; i < 256; ++i) {
      const int j = i / 32;
      const float step = d * sc[j];
      const long v =
          step > 0 ? std::lround((x[b + i] + dmin * m[j]) / step) : 0;
      q[i] = static_cast<uint8_t>(std::clamp<long>(v, 0, 15));
    }
    AppendHalf(&out, d_bits);
    AppendHalf(&out, dmin_bits);
    out.append(reinterpret_cast<const char*>(packed), 12);
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        out.push_back(
            static_cast<char>(q[64 * g + l] | q[64 * g + 32 + l] << 4));
      }
    }
  }
  return out;
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SRC_TRACE_GGML_QUANTIZE_H_
