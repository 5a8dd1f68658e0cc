#include "trace/element_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mv {
namespace {

constexpr auto kF32 = MarkableType::kF32;
constexpr auto kF16 = MarkableType::kF16;
constexpr auto kBF16 = MarkableType::kBF16;

TEST(ElementCodec, CastsOneExactly) {
  EXPECT_EQ(CastToElement(kBF16, 1.0f), 0x3F80u);
  EXPECT_EQ(CastToElement(kF16, 1.0f), 0x3C00u);
  EXPECT_EQ(CastToElement(kF16, -2.0f), 0xC000u);
  EXPECT_EQ(DecodeElement(kBF16, 0x3F80), 1.0);
  EXPECT_EQ(DecodeElement(kF16, 0xC000), -2.0);
}

TEST(ElementCodec, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties to even (1).
  EXPECT_EQ(CastToElement(kBF16, 1.0f + 0x1p-8f), 0x3F80u);
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up.
  EXPECT_EQ(CastToElement(kBF16, 1.0f + 3 * 0x1p-8f), 0x3F82u);
  EXPECT_EQ(CastToElement(kBF16, 1.0f + 0x1p-8f + 0x1p-20f), 0x3F81u);
}

TEST(ElementCodec, F16RoundsToNearestEvenAndOverflowsToInf) {
  EXPECT_EQ(CastToElement(kF16, 1.0f + 0x1p-11f), 0x3C00u);
  EXPECT_EQ(CastToElement(kF16, 1.0f + 3 * 0x1p-11f), 0x3C02u);
  EXPECT_EQ(CastToElement(kF16, 65504.0f), 0x7BFFu);
  EXPECT_EQ(CastToElement(kF16, 65519.0f), 0x7BFFu);
  EXPECT_EQ(CastToElement(kF16, 65520.0f), 0x7C00u);
  EXPECT_EQ(CastToElement(kF16, -1e9f), 0xFC00u);
}

TEST(ElementCodec, F16SubnormalsRoundTrip) {
  EXPECT_EQ(CastToElement(kF16, 0x1p-24f), 0x0001u);
  EXPECT_EQ(CastToElement(kF16, 0x1p-25f), 0x0000u);  // tie to even
  EXPECT_EQ(CastToElement(kF16, 3 * 0x1p-25f), 0x0002u);
  for (uint32_t bits = 0; bits < 0x7C00; bits += 7) {
    const float x = static_cast<float>(DecodeElement(kF16, bits));
    EXPECT_EQ(CastToElement(kF16, x), bits) << bits;
  }
}

TEST(ElementCodec, NanStaysNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(DecodeElement(kF16, CastToElement(kF16, nan))));
  EXPECT_TRUE(std::isnan(DecodeElement(kBF16, CastToElement(kBF16, nan))));
}

TEST(ElementCodec, LoadsAndStoresLittleEndian) {
  char buf[4];
  StoreElementBits(kF32, 0x11223344, buf);
  EXPECT_EQ(buf[0], 0x44);
  EXPECT_EQ(LoadElementBits(kF32, buf), 0x11223344u);
  StoreElementBits(kF16, 0xABCD, buf);
  EXPECT_EQ(LoadElementBits(kF16, buf), 0xABCDu);
}

TEST(ElementCodec, UlpBf16IsTwoToTheExponentMinusSeven) {
  EXPECT_EQ(UlpBf16(1.0), 0x1p-7);
  EXPECT_EQ(UlpBf16(1.99), 0x1p-7);
  EXPECT_EQ(UlpBf16(-0.02), 0x1p-13);  // 0.02 in [2^-6, 2^-5)
}

TEST(ElementCodec, MarkMovesFourBf16UlpsInEveryEncoding) {
  const float x = -0.0213f;
  for (MarkableType type : {kF32, kF16, kBF16}) {
    const uint32_t bits = CastToElement(type, x);
    const double original = DecodeElement(type, bits);
    const double up = DecodeElement(type, *MarkedBits(type, bits, +1));
    const double down = DecodeElement(type, *MarkedBits(type, bits, -1));
    EXPECT_DOUBLE_EQ(std::fabs(up) - std::fabs(original), 4 * UlpBf16(x))
        << int(type);
    EXPECT_DOUBLE_EQ(std::fabs(original) - std::fabs(down), 4 * UlpBf16(x))
        << int(type);
    EXPECT_LT(up, 0);
    EXPECT_LT(down, 0);
  }
}

TEST(ElementCodec, MarkSurvivesACastToBf16) {
  const float x = 0.0317f;
  const uint32_t bits = CastToElement(kF32, x);
  const float up =
      static_cast<float>(DecodeElement(kF32, *MarkedBits(kF32, bits, +1)));
  EXPECT_EQ(CastToElement(kBF16, up), CastToElement(kBF16, x) + 4);
}

TEST(ElementCodec, MarkRefusesInfNanAndSignFlips) {
  EXPECT_FALSE(MarkedBits(kF16, 0x7BFF, +1));   // max f16 -> Inf
  EXPECT_FALSE(MarkedBits(kF16, 0x7C00, -1));   // Inf
  EXPECT_FALSE(MarkedBits(kBF16, 0x7FC0, -1));  // NaN
  EXPECT_FALSE(MarkedBits(kBF16, 0x0004, -1));  // would reach zero
  EXPECT_FALSE(MarkedBits(kF32, 0x7F7FFFFF, +1));
  EXPECT_TRUE(MarkedBits(kBF16, 0x0005, -1));
  EXPECT_FALSE(MarkedBits(MarkableType::kNotMarkable, 1, +1));
}

}  // namespace
}  // namespace mv
