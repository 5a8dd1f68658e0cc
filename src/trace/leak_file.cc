#include "trace/leak_file.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"

namespace mv {
namespace {

// The first read of a header; most headers fit, so most parses take one.
constexpr uint64_t kFirstHeaderRead = 64 * 1024;

// Parses the header at the start of `leak` with `parse_prefix`
// (prefix_parse.h), reading at least twice the prefix each round so that
// re-parsing stays linear in the header's size.
template <typename Layout, typename ParsePrefix>
absl::StatusOr<Layout> ParseHeader(const LeakFile& leak,
                                   ParsePrefix parse_prefix) {
  std::string prefix;
  uint64_t want = std::min(leak.size(), kFirstHeaderRead);
  for (;;) {
    const uint64_t have = prefix.size();
    prefix.resize(want);
    MV_RETURN_IF_ERROR(
        leak.ReadAt(have, std::span<char>(prefix.data() + have, want - have)));
    MV_ASSIGN_OR_RETURN(PrefixParse<Layout> parse,
                        parse_prefix(prefix, leak.size()));
    if (parse.layout) return *std::move(parse.layout);
    // bytes_needed is never past the end of the file, so a parser asking
    // for more once it has the whole file breaks its contract.
    if (want == leak.size())
      return absl::InvalidArgumentError("file is truncated");
    want = std::min(leak.size(), std::max(parse.bytes_needed, 2 * want));
  }
}

}  // namespace

absl::Status MemoryLeakFile::ReadAt(uint64_t offset,
                                    std::span<char> out) const {
  if (offset > bytes_.size() || out.size() > bytes_.size() - offset) {
    return absl::OutOfRangeError(
        absl::StrCat("read of ", out.size(), " bytes at ", offset,
                     " runs past the end of a ", bytes_.size(), "-byte file"));
  }
  if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset, out.size());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TraceTensor>> ParseLeakTensors(
    const LeakFile& leak) {
  char magic[4] = {};
  const bool gguf = leak.size() >= sizeof magic && leak.ReadAt(0, magic).ok() &&
                    std::string_view(magic, sizeof magic) == "GGUF";
  if (gguf) {
    absl::StatusOr<GgufLayout> layout =
        ParseHeader<GgufLayout>(leak, ParseGgufPrefix);
    if (layout.ok()) return TraceTensorsOf(*layout);
    if (!absl::IsInvalidArgument(layout.status())) return layout.status();
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid GGUF file: ", layout.status().message()));
  }
  absl::StatusOr<SafetensorsLayout> layout =
      ParseHeader<SafetensorsLayout>(leak, ParseSafetensorsPrefix);
  if (layout.ok()) return TraceTensorsOf(*layout);
  if (!absl::IsInvalidArgument(layout.status())) return layout.status();
  return absl::InvalidArgumentError(absl::StrCat(
      "neither a safetensors nor a GGUF file: ", layout.status().message()));
}

}  // namespace mv
