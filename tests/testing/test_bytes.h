// Small helpers for byte-level assertions in the core unit tests.
#ifndef MODELVAULT_TESTS_TESTING_TEST_BYTES_H_
#define MODELVAULT_TESTS_TESTING_TEST_BYTES_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace mvtesting {

// `n` pseudo-random bytes from `rng` (tests use fixed seeds).
inline std::string RandomBytes(size_t n, std::mt19937_64& rng) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

inline std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_TESTING_TEST_BYTES_H_
