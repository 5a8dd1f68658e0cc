#include "trace/element_codec.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace mv {
namespace {

uint32_t FloatBits(float f) { return std::bit_cast<uint32_t>(f); }
float BitsFloat(uint32_t b) { return std::bit_cast<float>(b); }

float HalfToFloat(uint32_t h) {
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  const uint32_t exponent = (h >> 10) & 0x1F;
  const uint32_t mantissa = h & 0x3FF;
  if (exponent == 0)
    return sign * std::ldexp(static_cast<float>(mantissa), -24);
  if (exponent == 31) {
    return mantissa == 0 ? sign * INFINITY : std::nanf("");
  }
  return BitsFloat(((h & 0x8000u) << 16) | ((exponent + 112) << 23) |
                   (mantissa << 13));
}

// Shifts `m` right by `shift` bits, rounding to nearest, ties to even.
uint32_t ShiftRoundEven(uint32_t m, uint32_t shift) {
  const uint32_t kept = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1))) ? 1 : 0);
}

uint32_t FloatToHalf(float f) {
  const uint32_t x = FloatBits(f);
  const uint32_t sign = (x >> 16) & 0x8000;
  const uint32_t mag = x & 0x7FFFFFFF;
  if (mag > 0x7F800000) return sign | 0x7E00;   // NaN stays NaN
  if (mag >= 0x477FF000) return sign | 0x7C00;  // >= 65520 rounds to Inf
  if (mag < 0x38800000) {                       // below 2^-14: subnormal
    if (mag < 0x33000000) return sign;          // <= 2^-25 rounds to 0
    const uint32_t exponent = mag >> 23;
    const uint32_t mantissa = (mag & 0x7FFFFF) | 0x800000;
    return sign | ShiftRoundEven(mantissa, 126 - exponent);
  }
  // Rebias the exponent (127 -> 15); a carry out of the mantissa correctly
  // bumps the exponent.
  return sign | ShiftRoundEven(mag - (112u << 23), 13);
}

uint32_t FloatToBf16(float f) {
  const uint32_t x = FloatBits(f);
  if ((x & 0x7FFFFFFF) > 0x7F800000) return (x >> 16) | 0x40;  // quiet NaN
  return (x + 0x7FFF + ((x >> 16) & 1)) >> 16;
}

}  // namespace

uint32_t ElementBytes(MarkableType type) {
  switch (type) {
    case MarkableType::kF32:
      return 4;
    case MarkableType::kF16:
    case MarkableType::kBF16:
      return 2;
    case MarkableType::kNotMarkable:
      break;
  }
  return 0;
}

std::string_view MarkableTypeName(MarkableType type) {
  switch (type) {
    case MarkableType::kF32:
      return "F32";
    case MarkableType::kF16:
      return "F16";
    case MarkableType::kBF16:
      return "BF16";
    case MarkableType::kNotMarkable:
      break;
  }
  return "none";
}

uint32_t LoadElementBits(MarkableType type, const char* p) {
  uint32_t bits = 0;
  for (uint32_t i = 0; i < ElementBytes(type); ++i)
    bits |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return bits;
}

void StoreElementBits(MarkableType type, uint32_t bits, char* p) {
  for (uint32_t i = 0; i < ElementBytes(type); ++i)
    p[i] = static_cast<char>(bits >> (8 * i));
}

double DecodeElement(MarkableType type, uint32_t bits) {
  switch (type) {
    case MarkableType::kF32:
      return BitsFloat(bits);
    case MarkableType::kF16:
      return HalfToFloat(bits & 0xFFFF);
    case MarkableType::kBF16:
      return BitsFloat((bits & 0xFFFF) << 16);
    case MarkableType::kNotMarkable:
      break;
  }
  return std::nan("");
}

uint32_t CastToElement(MarkableType type, float value) {
  switch (type) {
    case MarkableType::kF32:
      return FloatBits(value);
    case MarkableType::kF16:
      return FloatToHalf(value);
    case MarkableType::kBF16:
      return FloatToBf16(value);
    case MarkableType::kNotMarkable:
      break;
  }
  return 0;
}

double UlpBf16(double x) {
  int exponent = 0;
  std::frexp(x == 0 ? 0x1p-126 : x, &exponent);  // |x| in [2^(e-1), 2^e)
  return std::ldexp(1.0, exponent - 1 - 7);
}

std::optional<uint32_t> MarkedBits(MarkableType type, uint32_t bits,
                                   int direction) {
  uint32_t sign_bit = 0, inf = 0, step = 0;
  switch (type) {
    case MarkableType::kF32:
      sign_bit = 0x80000000u, inf = 0x7F800000u, step = 1u << 16;
      break;
    case MarkableType::kF16:
      sign_bit = 0x8000, inf = 0x7C00, step = 8;
      break;
    case MarkableType::kBF16:
      sign_bit = 0x8000, inf = 0x7F80, step = 1;
      break;
    case MarkableType::kNotMarkable:
      return std::nullopt;
  }
  const uint32_t magnitude = bits & (sign_bit - 1);
  const uint32_t delta = kMarkUlps * step;
  if (magnitude >= inf) return std::nullopt;  // Inf or NaN
  if (direction > 0) {
    if (magnitude + delta >= inf) return std::nullopt;
    return (bits & sign_bit) | (magnitude + delta);
  }
  if (magnitude <= delta) return std::nullopt;  // would reach 0 or flip sign
  return (bits & sign_bit) | (magnitude - delta);
}

}  // namespace mv
