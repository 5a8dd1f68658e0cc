// Fuzzes format sniffing (vault/format_detect.h) against its documented
// rules. Input layout: size u64 LE ‖ first bytes of the artifact. The
// fuzzer honours DetectFormat's contract (head = first min(size, 9) bytes),
// and also sniffs the whole input as if it were the artifact.
#include <algorithm>
#include <cstring>
#include <string_view>

#include "fuzz_check.h"
#include "vault/format_detect.h"

namespace {

mv::Format Expected(std::string_view head, uint64_t size) {
  if (head.size() >= 4 && head.substr(0, 4) == "GGUF") return mv::Format::kGguf;
  if (head.size() < 9) return mv::Format::kBlob;
  uint64_t n = 0;
  std::memcpy(&n, head.data(), 8);  // little-endian host (x86-64, aarch64)
  if (n <= 100'000'000 && n + 8 <= size && head[8] == '{')
    return mv::Format::kSafetensors;
  return mv::Format::kBlob;
}

void Check(std::string_view head, uint64_t size) {
  mv::Format f = mv::DetectFormat(head, size);
  MV_FUZZ_CHECK(f == mv::Format::kBlob || f == mv::Format::kSafetensors ||
                f == mv::Format::kGguf);
  MV_FUZZ_CHECK(f == Expected(head, size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  Check(in.substr(0, mv::kFormatSniffBytes), in.size());
  if (in.size() < 8) return 0;
  uint64_t claimed = 0;
  std::memcpy(&claimed, in.data(), 8);
  std::string_view head = in.substr(8, mv::kFormatSniffBytes);
  // A head shorter than the sniff window means the artifact is that short.
  uint64_t artifact_size = head.size() < mv::kFormatSniffBytes
                               ? head.size()
                               : std::max<uint64_t>(claimed, head.size());
  Check(head, artifact_size);
  return 0;
}
