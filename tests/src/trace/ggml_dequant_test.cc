// DequantizeElement against straight ports of ggml's dequantize_row_*
// loops (the reference for where each element lives in a block), on random
// blocks; and round trips through the test quantizers.
#include "trace/ggml_dequant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "src/trace/ggml_quantize.h"

namespace mvtesting {
namespace {

using mv::GgmlType;

const uint8_t* U8(const std::string& b, size_t at) {
  return reinterpret_cast<const uint8_t*>(b.data() + at);
}
float HalfAt(const std::string& b, size_t at) {
  return FromHalfBits(static_cast<uint16_t>(U8(b, at)[0] | U8(b, at)[1] << 8));
}

// ggml-quants.c dequantize_row_q4_K for one block, as written there.
std::vector<float> RowQ4_K(const std::string& block) {
  std::vector<float> y;
  const uint8_t* q = U8(block, 16);
  const float d = HalfAt(block, 0), min = HalfAt(block, 2);
  const uint8_t* s = U8(block, 4);
  auto scale_min = [&](int j, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
      *sc = s[j] & 63;
      *m = s[j + 4] & 63;
    } else {
      *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
      *m = (s[j + 4] >> 4) | ((s[j - 0] >> 6) << 4);
    }
  };
  int is = 0;
  for (int j = 0; j < 256; j += 64) {
    uint8_t sc, m;
    scale_min(is + 0, &sc, &m);
    const float d1 = d * sc, m1 = min * m;
    scale_min(is + 1, &sc, &m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) y.push_back(d1 * (q[l] & 0xF) - m1);
    for (int l = 0; l < 32; ++l) y.push_back(d2 * (q[l] >> 4) - m2);
    q += 32;
    is += 2;
  }
  return y;
}

// ggml-quants.c dequantize_row_q6_K for one block, as written there.
std::vector<float> RowQ6_K(const std::string& block) {
  std::vector<float> y(256);
  const float d = HalfAt(block, 208);
  const uint8_t* ql = U8(block, 0);
  const uint8_t* qh = U8(block, 128);
  const auto* sc = reinterpret_cast<const int8_t*>(block.data() + 192);
  for (int n = 0; n < 256; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[n + l + 0] = d * sc[is + 0] * q1;
      y[n + l + 32] = d * sc[is + 2] * q2;
      y[n + l + 64] = d * sc[is + 4] * q3;
      y[n + l + 96] = d * sc[is + 6] * q4;
    }
    ql += 64;
    qh += 32;
    sc += 8;
  }
  return y;
}

// dequantize_row_q4_0 and _q8_0 for one block.
std::vector<float> RowQ4_0(const std::string& block) {
  std::vector<float> y(32);
  const float d = HalfAt(block, 0);
  for (int j = 0; j < 16; ++j) {
    y[j] = ((U8(block, 2)[j] & 0x0F) - 8) * d;
    y[j + 16] = ((U8(block, 2)[j] >> 4) - 8) * d;
  }
  return y;
}
std::vector<float> RowQ8_0(const std::string& block) {
  std::vector<float> y(32);
  for (int j = 0; j < 32; ++j)
    y[j] = static_cast<int8_t>(block[2 + j]) * HalfAt(block, 0);
  return y;
}

// A block of random bytes whose f16 scales are finite and modest.
std::string RandomBlock(GgmlType type, std::mt19937_64& rng) {
  const uint32_t size = mv::GgmlTraits(type).type_size;
  std::string b(size, '\0');
  for (char& c : b) c = static_cast<char>(rng());
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  auto put_half = [&](size_t at) {
    const uint16_t h = ToHalfBits(scale(rng));
    b[at] = static_cast<char>(h & 0xFF);
    b[at + 1] = static_cast<char>(h >> 8);
  };
  if (type == GgmlType::kQ6_K) {
    put_half(208);
  } else {
    put_half(0);
    if (type == GgmlType::kQ4_K) put_half(2);
  }
  return b;
}

std::vector<float> Elements(GgmlType type, const std::string& block) {
  std::vector<float> out;
  for (uint32_t i = 0; i < mv::GgmlTraits(type).block_size; ++i)
    out.push_back(mv::DequantizeElement(type, block, i));
  return out;
}

TEST(GgmlDequant, EveryElementIsWhereGgmlsRowLoopPutsIt) {
  std::mt19937_64 rng(20261207);
  const std::pair<GgmlType, std::vector<float> (*)(const std::string&)>
      cases[] = {{GgmlType::kQ8_0, RowQ8_0},
                 {GgmlType::kQ4_0, RowQ4_0},
                 {GgmlType::kQ4_K, RowQ4_K},
                 {GgmlType::kQ6_K, RowQ6_K}};
  for (const auto& [type, row] : cases) {
    SCOPED_TRACE(mv::GgmlTraits(type).name);
    ASSERT_TRUE(mv::CanDequantize(type));
    for (int trial = 0; trial < 200; ++trial) {
      const std::string block = RandomBlock(type, rng);
      ASSERT_EQ(Elements(type, block), row(block)) << "trial " << trial;
    }
  }
  EXPECT_FALSE(mv::CanDequantize(GgmlType::kF32));
  EXPECT_FALSE(mv::CanDequantize(GgmlType::kIQ2_XXS));
}

TEST(GgmlDequant, Q4KScalesOfTheUpperFourSubBlocksUseTheirHighBits) {
  // Sub-block 5's scale 0b110101 (53) and min 0b101110 (46): low nibbles in
  // byte 9, high bits in the top two bits of bytes 1 and 5.
  std::string block(144, '\0');
  const uint16_t one = ToHalfBits(1.0f);
  block[0] = block[2] = static_cast<char>(one & 0xFF);
  block[1] = block[3] = static_cast<char>(one >> 8);
  block[4 + 9] = static_cast<char>(0x5 | 0xE << 4);
  block[4 + 1] = static_cast<char>(0x3 << 6);
  block[4 + 5] = static_cast<char>(0x2 << 6);
  // Element 160 is sub-block 5's first: the high nibble of qs[64] (group 2
  // holds elements 128-191, low nibbles first).
  block[16 + 64] = static_cast<char>(0x7 << 4);
  EXPECT_EQ(mv::DequantizeElement(GgmlType::kQ4_K, block, 160), 53.0f * 7 - 46);
  EXPECT_EQ(mv::DequantizeElement(GgmlType::kQ4_K, block, 161), -46.0f);
  // Element 128 is sub-block 4's first: the low nibble of the same byte (0),
  // with sub-block 4's scale and min (0).
  EXPECT_EQ(mv::DequantizeElement(GgmlType::kQ4_K, block, 128), 0.0f);
}

TEST(GgmlDequant, TheTestQuantizersRoundTripWithinTheirStep) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> weight(0, 0.02f);
  std::vector<float> x(4096);
  for (float& v : x) v = weight(rng);
  const std::string q8 = QuantizeQ8_0(x), q4 = QuantizeQ4_K(x);
  ASSERT_EQ(q8.size(), x.size() / 32 * 34);
  ASSERT_EQ(q4.size(), x.size() / 256 * 144);
  double err8 = 0, err4 = 0, amax = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float y8 = mv::DequantizeElement(
        GgmlType::kQ8_0, std::span(q8).subspan(i / 32 * 34, 34), i % 32);
    const float y4 = mv::DequantizeElement(
        GgmlType::kQ4_K, std::span(q4).subspan(i / 256 * 144, 144), i % 256);
    err8 = std::max(err8, std::fabs(double{y8} - x[i]));
    err4 = std::max(err4, std::fabs(double{y4} - x[i]));
    amax = std::max(amax, std::fabs(double{x[i]}));
  }
  EXPECT_LT(err8, amax / 127);  // half a step of 2·amax/254, and f16 d
  EXPECT_LT(err4, amax / 8);    // 15 levels per sub-block, 6-bit scales
  EXPECT_GT(err4, err8) << "4 bits lose more than 8";
}

}  // namespace
}  // namespace mvtesting
