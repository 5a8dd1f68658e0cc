// Fuzzes the GGUF parser (formats/gguf.h). Input: a whole file. Every
// rejection is INVALID_ARGUMENT with a printable message; an accepted
// layout has aligned, disjoint tensors inside the file whose lengths follow
// from their shapes and ggml types; and streaming the file through the
// prefix API ends exactly as parsing it whole does. Prefixes are copied to
// exact-size heap buffers so that ASan sees any read past them.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "formats/gguf.h"
#include "fuzz_check.h"

namespace {

void CheckLayout(const mv::GgufLayout& l, uint64_t file_size) {
  MV_FUZZ_CHECK(l.version == 2 || l.version == 3);
  MV_FUZZ_CHECK(l.alignment != 0 && (l.alignment & (l.alignment - 1)) == 0);
  MV_FUZZ_CHECK(l.data_offset % l.alignment == 0);
  MV_FUZZ_CHECK(l.header_size <= l.data_offset &&
                l.data_offset - l.header_size < l.alignment);
  MV_FUZZ_CHECK(l.header_size <= file_size);
  uint64_t end = l.data_offset;
  for (const mv::GgufTensor& t : l.tensors) {
    MV_FUZZ_CHECK(t.name.size() <= mv::kGgufMaxTensorNameBytes);
    MV_FUZZ_CHECK(t.shape.size() <= mv::kGgufMaxDims);
    const mv::GgmlTypeTraits& traits = mv::GgmlTraits(t.type);
    uint64_t numel = t.NumElements();
    for (uint64_t d : t.shape) MV_FUZZ_CHECK(d != 0);
    MV_FUZZ_CHECK(numel % traits.block_size == 0);
    MV_FUZZ_CHECK(t.length == numel / traits.block_size * traits.type_size);
    MV_FUZZ_CHECK(t.offset >= end);
    MV_FUZZ_CHECK((t.offset - l.data_offset) % l.alignment == 0);
    MV_FUZZ_CHECK(t.offset + t.length <= file_size);
    end = t.offset + t.length;
  }
}

// Metadata equal up to NaN: doubles compared by bits.
bool SameMetadata(const mv::GgufLayout& a, const mv::GgufLayout& b) {
  if (a.metadata.size() != b.metadata.size()) return false;
  for (auto ia = a.metadata.begin(), ib = b.metadata.begin();
       ia != a.metadata.end(); ++ia, ++ib) {
    const mv::GgufValue& x = ia->second;
    const mv::GgufValue& y = ib->second;
    if (ia->first != ib->first || x.type != y.type ||
        x.element_type != y.element_type || x.array_length != y.array_length ||
        x.value.index() != y.value.index())
      return false;
    if (const double* d = std::get_if<double>(&x.value)) {
      if (std::memcmp(d, &std::get<double>(y.value), sizeof(double)) != 0)
        return false;
    } else if (x.value != y.value) {
      return false;
    }
  }
  return true;
}

// Feeds growing prefixes as a stream reader would: exactly what is asked
// for at first, then at least doubling so a long header stays cheap.
absl::StatusOr<mv::GgufLayout> Stream(std::string_view file) {
  uint64_t have = 0;
  for (int round = 0;; ++round) {
    mv::fuzz::HeapCopy prefix(file.substr(0, have));
    auto p = mv::ParseGgufPrefix(prefix.view(), file.size());
    if (!p.ok()) return p.status();
    if (p->layout) return *std::move(p->layout);
    MV_FUZZ_CHECK(p->bytes_needed > have && p->bytes_needed <= file.size());
    have = round < 32
               ? p->bytes_needed
               : std::max<uint64_t>(p->bytes_needed,
                                    std::min<uint64_t>(2 * have, file.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  absl::StatusOr<mv::GgufLayout> whole = mv::ParseGguf(in);
  absl::StatusOr<mv::GgufLayout> streamed = Stream(in);
  if (!whole.ok()) {
    MV_FUZZ_CHECK(whole.status().code() == absl::StatusCode::kInvalidArgument);
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(whole.status().message()));
    MV_FUZZ_CHECK(whole.status().message().substr(0, 6) == "gguf: ");
    MV_FUZZ_CHECK(streamed.status() == whole.status());
    return 0;
  }
  CheckLayout(*whole, size);
  MV_FUZZ_CHECK(streamed.ok());
  MV_FUZZ_CHECK(streamed->tensors == whole->tensors);
  MV_FUZZ_CHECK(streamed->header_size == whole->header_size);
  MV_FUZZ_CHECK(streamed->data_offset == whole->data_offset);
  MV_FUZZ_CHECK(SameMetadata(*streamed, *whole));
  return 0;
}
