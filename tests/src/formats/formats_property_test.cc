// Property tests of both parsers (rapidcheck): random valid files parse and
// locate every tensor's bytes; random mutations of valid files never crash
// and yield either INVALID_ARGUMENT or a layout that satisfies the format's
// invariants; and feeding a file through the prefix API, a round at a time,
// always ends exactly as parsing the whole file does.
//
// Counts: 500 cases per property.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "src/formats/format_builders.h"
#include "testing/property.h"

namespace mv {
namespace {

using ::mvtesting::GgufBuilder;
using ::mvtesting::PatternBytes;
using ::mvtesting::SafetensorsBuilder;

// Parses `file` through the prefix API as a stream reader would, checking
// that each round asks for more bytes than it had and no more than the file.
template <typename Layout, typename ParsePrefix>
absl::StatusOr<Layout> Stream(const std::string& file, ParsePrefix parse) {
  uint64_t have = 0;
  for (;;) {
    absl::StatusOr<PrefixParse<Layout>> p =
        parse(std::string_view(file).substr(0, have), file.size());
    if (!p.ok()) return p.status();
    if (p->layout) return *std::move(p->layout);
    RC_ASSERT(p->bytes_needed > have);
    RC_ASSERT(p->bytes_needed <= file.size());
    have = p->bytes_needed;
  }
}

// Overwrites, truncates or extends `file` a few times at random.
std::string Mutate(std::string file) {
  int n = *rc::gen::inRange(1, 5);
  for (int i = 0; i < n; ++i) {
    int kind = *rc::gen::inRange(0, 4);
    if (kind <= 1 && !file.empty()) {
      size_t at = *rc::gen::inRange<size_t>(0, file.size());
      file[at] = static_cast<char>(*rc::gen::arbitrary<uint8_t>());
    } else if (kind == 2 && !file.empty()) {
      file.resize(*rc::gen::inRange<size_t>(0, file.size()));
    } else {
      file += std::string(*rc::gen::inRange<size_t>(1, 9), '\0');
    }
  }
  return file;
}

struct StDtype {
  const char* name;
  size_t size;
};
constexpr StDtype kStDtypes[] = {
    {"BOOL", 1}, {"U8", 1},   {"I8", 1},  {"F8_E5M2", 1}, {"I16", 2},
    {"F16", 2},  {"BF16", 2}, {"I32", 4}, {"F32", 4},     {"F64", 8},
    {"I64", 8},  {"U64", 8},  {"C64", 8}};

struct StExpected {
  std::string name, dtype;
  std::vector<uint64_t> shape;
  std::string data;
};

std::string RandomSafetensors(std::vector<StExpected>* expected) {
  SafetensorsBuilder b;
  int count = *rc::gen::inRange(0, 6);
  for (int i = 0; i < count; ++i) {
    const StDtype& d =
        kStDtypes[*rc::gen::inRange<size_t>(0, std::size(kStDtypes))];
    std::vector<uint64_t> shape(*rc::gen::inRange<size_t>(0, 4));
    size_t numel = 1;
    for (uint64_t& s : shape) numel *= (s = *rc::gen::inRange(0, 5));
    std::string name = "layer." + std::to_string(i) + ".w";
    std::string data = PatternBytes(numel * d.size, static_cast<uint8_t>(i));
    b.Tensor(name, d.name, shape, data);
    expected->push_back({name, d.name, shape, data});
  }
  if (*rc::gen::arbitrary<bool>()) b.Metadata("format", "pt");
  return b.Build();
}

TEST(SafetensorsProperty, RandomValidFilesRoundTrip) {
  mvtesting::CheckProperty(500, [] {
    std::vector<StExpected> expected;
    std::string file = RandomSafetensors(&expected);
    absl::StatusOr<SafetensorsLayout> layout = ParseSafetensors(file);
    RC_ASSERT(layout.ok());
    RC_ASSERT(layout->tensors.size() == expected.size());
    for (const StExpected& e : expected) {
      auto it = std::find_if(layout->tensors.begin(), layout->tensors.end(),
                             [&](const auto& t) { return t.name == e.name; });
      RC_ASSERT(it != layout->tensors.end());
      RC_ASSERT(SafetensorsDtypeName(it->dtype) == e.dtype);
      RC_ASSERT(it->shape == e.shape);
      RC_ASSERT(file.substr(it->offset, it->length) == e.data);
    }
    absl::StatusOr<SafetensorsLayout> streamed =
        Stream<SafetensorsLayout>(file, ParseSafetensorsPrefix);
    RC_ASSERT(streamed.ok());
    RC_ASSERT(*streamed == *layout);
  });
}

TEST(SafetensorsProperty, MutatedFilesAreRejectedOrConsistent) {
  mvtesting::CheckProperty(500, [] {
    std::vector<StExpected> unused;
    std::string file = Mutate(RandomSafetensors(&unused));
    absl::StatusOr<SafetensorsLayout> layout = ParseSafetensors(file);
    absl::StatusOr<SafetensorsLayout> streamed =
        Stream<SafetensorsLayout>(file, ParseSafetensorsPrefix);
    if (!layout.ok()) {
      RC_ASSERT(layout.status().code() == absl::StatusCode::kInvalidArgument);
      RC_ASSERT(streamed.status() == layout.status());
      return;
    }
    RC_ASSERT(streamed.ok() && *streamed == *layout);
    uint64_t next = layout->data_offset;  // the tensors tile the data region
    for (const SafetensorsTensor& t : layout->tensors) {
      RC_ASSERT(t.offset == next);
      next += t.length;
    }
    RC_ASSERT(next == file.size());
  });
}

struct GgType {
  uint32_t id, block, size;
};
constexpr GgType kGgTypes[] = {{0, 1, 4},   {1, 1, 2},     {30, 1, 2},
                               {24, 1, 1},  {26, 1, 4},    {2, 32, 18},
                               {8, 32, 34}, {12, 256, 144}};

std::string RandomGguf(GgufBuilder& b, std::vector<std::string>* data) {
  if (*rc::gen::arbitrary<bool>()) b.Alignment(1u << *rc::gen::inRange(0, 8));
  if (*rc::gen::arbitrary<bool>()) b.KvString("general.name", "m");
  int count = *rc::gen::inRange(0, 5);
  for (int i = 0; i < count; ++i) {
    const GgType& t =
        kGgTypes[*rc::gen::inRange<size_t>(0, std::size(kGgTypes))];
    std::vector<uint64_t> dims(*rc::gen::inRange<size_t>(0, 5));
    uint64_t numel = 1;
    for (size_t d = 0; d < dims.size(); ++d) {
      dims[d] = *rc::gen::inRange<uint64_t>(1, 4) * (d == 0 ? t.block : 1);
      numel *= dims[d];
    }
    if (dims.empty() && t.block > 1) dims.push_back(numel = t.block);
    data->push_back(
        PatternBytes(numel / t.block * t.size, static_cast<uint8_t>(i)));
    b.Tensor("t" + std::to_string(i), t.id, dims, data->back());
  }
  return b.Build();
}

TEST(GgufProperty, RandomValidFilesRoundTrip) {
  mvtesting::CheckProperty(500, [] {
    GgufBuilder b;
    std::vector<std::string> data;
    std::string file = RandomGguf(b, &data);
    absl::StatusOr<GgufLayout> layout = ParseGguf(file);
    RC_ASSERT(layout.ok());
    RC_ASSERT(layout->data_offset == b.DataSectionOffset());
    RC_ASSERT(layout->tensors.size() == data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      const GgufTensor& t = layout->tensors[i];  // offsets rise with i
      RC_ASSERT(t.name == "t" + std::to_string(i));
      RC_ASSERT(t.offset == layout->data_offset + b.RelativeOffset(i));
      RC_ASSERT(file.substr(t.offset, t.length) == data[i]);
    }
    absl::StatusOr<GgufLayout> streamed =
        Stream<GgufLayout>(file, ParseGgufPrefix);
    RC_ASSERT(streamed.ok());
    RC_ASSERT(streamed->tensors == layout->tensors);
    RC_ASSERT(streamed->header_size == layout->header_size);
  });
}

TEST(GgufProperty, MutatedFilesAreRejectedOrConsistent) {
  mvtesting::CheckProperty(500, [] {
    GgufBuilder b;
    std::vector<std::string> unused;
    std::string file = Mutate(RandomGguf(b, &unused));
    absl::StatusOr<GgufLayout> layout = ParseGguf(file);
    absl::StatusOr<GgufLayout> streamed =
        Stream<GgufLayout>(file, ParseGgufPrefix);
    if (!layout.ok()) {
      RC_ASSERT(layout.status().code() == absl::StatusCode::kInvalidArgument);
      RC_ASSERT(streamed.status() == layout.status());
      return;
    }
    RC_ASSERT(streamed.ok() && streamed->tensors == layout->tensors);
    uint64_t end = layout->data_offset;  // in order, disjoint, in the file
    for (const GgufTensor& t : layout->tensors) {
      RC_ASSERT(t.offset >= end);
      RC_ASSERT((t.offset - layout->data_offset) % layout->alignment == 0);
      end = t.offset + t.length;
    }
    RC_ASSERT(end <= file.size() || layout->tensors.empty());
  });
}

}  // namespace
}  // namespace mv
