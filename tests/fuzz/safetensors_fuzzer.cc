// Fuzzes the safetensors parser (formats/safetensors.h). Input: a whole
// file. Every rejection is INVALID_ARGUMENT with a printable message; an
// accepted layout tiles the data region exactly with tensors whose lengths
// match their shapes; and streaming the file through the prefix API ends
// exactly as parsing it whole does. Prefixes are copied to exact-size heap
// buffers so that ASan sees any read past them.
#include <cstring>
#include <memory>
#include <string_view>

#include "formats/safetensors.h"
#include "fuzz_check.h"

namespace {

void CheckLayout(const mv::SafetensorsLayout& l, uint64_t file_size) {
  MV_FUZZ_CHECK(l.header_length <= mv::kSafetensorsMaxHeaderLength);
  MV_FUZZ_CHECK(l.data_offset == 8 + l.header_length);
  MV_FUZZ_CHECK(l.file_size == file_size);
  uint64_t next = l.data_offset;
  for (const mv::SafetensorsTensor& t : l.tensors) {
    MV_FUZZ_CHECK(t.offset == next);
    uint64_t bits = t.NumElements() * mv::SafetensorsDtypeBits(t.dtype);
    MV_FUZZ_CHECK(bits % 8 == 0 && bits / 8 == t.length);
    MV_FUZZ_CHECK(mv::SafetensorsDtypeFromName(
                      mv::SafetensorsDtypeName(t.dtype)) == t.dtype);
    next += t.length;
  }
  MV_FUZZ_CHECK(next == file_size);
}

// Feeds growing prefixes as a stream reader would: exactly what is asked
// for at first, then at least doubling so a long header stays cheap.
absl::StatusOr<mv::SafetensorsLayout> Stream(std::string_view file) {
  uint64_t have = 0;
  for (int round = 0;; ++round) {
    mv::fuzz::HeapCopy prefix(file.substr(0, have));
    auto p = mv::ParseSafetensorsPrefix(prefix.view(), file.size());
    if (!p.ok()) return p.status();
    if (p->layout) return *std::move(p->layout);
    MV_FUZZ_CHECK(p->bytes_needed > have && p->bytes_needed <= file.size());
    MV_FUZZ_CHECK(round < 2);  // the length, then the header
    have = p->bytes_needed;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  absl::StatusOr<mv::SafetensorsLayout> whole = mv::ParseSafetensors(in);
  absl::StatusOr<mv::SafetensorsLayout> streamed = Stream(in);
  if (!whole.ok()) {
    MV_FUZZ_CHECK(whole.status().code() == absl::StatusCode::kInvalidArgument);
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(whole.status().message()));
    MV_FUZZ_CHECK(whole.status().message().substr(0, 13) == "safetensors: ");
    MV_FUZZ_CHECK(streamed.status() == whole.status());
    return 0;
  }
  CheckLayout(*whole, size);
  MV_FUZZ_CHECK(streamed.ok() && *streamed == *whole);
  return 0;
}
