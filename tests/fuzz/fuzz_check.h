// Shared helpers for the libFuzzer targets in this directory.
//
// MV_FUZZ_CHECK aborts with a message when an invariant does not hold, so
// libFuzzer records the input as a crash (a wrong answer is a finding just
// like a wild read). Single-threaded, as libFuzzer runs its targets.
#ifndef MODELVAULT_TESTS_FUZZ_FUZZ_CHECK_H_
#define MODELVAULT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "absl/strings/string_view.h"

#define MV_FUZZ_CHECK(cond)                                           \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

namespace mv::fuzz {

// An exact-size heap copy of `s`: reads past its end are ASan findings
// (libFuzzer's own buffer may have slack after a prefix).
class HeapCopy {
 public:
  explicit HeapCopy(std::string_view s)
      : bytes_(new char[s.size()]), size_(s.size()) {
    if (size_ != 0) std::memcpy(bytes_.get(), s.data(), size_);
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  std::unique_ptr<char[]> bytes_;
  size_t size_;
};

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Error messages are logged and returned to clients: they must never carry
// control or non-ASCII bytes taken from the input.
inline bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
// Status::message() is Debian's absl::string_view, not std::string_view.
inline bool IsPrintableAscii(absl::string_view s) {
  return IsPrintableAscii(std::string_view(s.data(), s.size()));
}

}  // namespace mv::fuzz

#endif  // MODELVAULT_TESTS_FUZZ_FUZZ_CHECK_H_
