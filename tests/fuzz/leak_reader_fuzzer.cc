// Fuzzes the untrusted end of a trace: a suspect file of any content, read
// against a version's mark table (trace/leak_reader.h: format detection,
// the safetensors/GGUF parse, quantized GGUF blocks, tensor mapping by name,
// by values and through rewrites: llama.cpp's Q/K row order both ways,
// transposition; alignment by content against the table's original file,
// trace/align.h). Invariants:
//   - it never crashes or reads outside the file (ASan), and a refusal
//     carries a printable message;
//   - a reading has one sample per table entry and one match per table
//     tensor, maps at most every table tensor, each match names where it
//     came from, and every sample it reports present either has a markable
//     encoding whose value is its bits' value, or is a dequantized value
//     with no bits;
//   - an alignment pairs at most the rows (columns) it needed, in order of
//     the original, each leak row at most once and inside the leak tensor,
//     each with a finite, non-zero scale.
#include <cmath>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "trace/element_codec.h"
#include "trace/leak_reader.h"
#include "trace_seeds.h"

namespace {

void CheckAlignment(const mv::Alignment& a) {
  if (a.axis == mv::AlignedAxis::kNone) {
    MV_FUZZ_CHECK(a.pairs.empty());
    return;
  }
  MV_FUZZ_CHECK(a.pairs.size() <= a.needed);
  std::set<uint64_t> leak_rows;
  for (size_t i = 0; i < a.pairs.size(); ++i) {
    const mv::AlignedPair& p = a.pairs[i];
    MV_FUZZ_CHECK(i == 0 || a.pairs[i - 1].original < p.original);
    MV_FUZZ_CHECK(leak_rows.insert(p.leak).second);
    MV_FUZZ_CHECK(std::isfinite(p.scale) && p.scale != 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mv::MarkTable table = mv::fuzz::TraceSeedTable();
  static const std::string original = mv::fuzz::TraceSeedOriginal();
  const mv::fuzz::HeapCopy leak(mv::fuzz::AsView(data, size));
  absl::StatusOr<mv::LeakValues> values =
      mv::ReadLeakFile(table, leak.view(), original);
  if (!values.ok()) {
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(values.status().message()));
    return 0;
  }
  MV_FUZZ_CHECK(values->samples.size() == table.entries.size());
  MV_FUZZ_CHECK(values->tensors_mapped <= table.tensors.size());
  MV_FUZZ_CHECK(values->tensors_row_permuted <= values->tensors_mapped);
  MV_FUZZ_CHECK(values->tensors_transposed <= values->tensors_mapped);
  MV_FUZZ_CHECK(values->matches.size() == table.tensors.size());
  size_t matched = 0;
  for (const mv::TensorMatch& m : values->matches) {
    if (m.by == mv::MatchedBy::kNone) continue;
    ++matched;
    MV_FUZZ_CHECK(m.leak_name.size() <= 256);
    CheckAlignment(m.alignment);
  }
  MV_FUZZ_CHECK(values->tensors_aligned <= values->tensors_mapped);
  MV_FUZZ_CHECK(matched == values->tensors_mapped);
  for (const mv::LeakSample& s : values->samples) {
    if (!s.present) continue;
    if (s.dtype == mv::MarkableType::kNotMarkable) {
      MV_FUZZ_CHECK(s.bits == 0);
      continue;
    }
    const double decoded = mv::DecodeElement(s.dtype, s.bits);
    MV_FUZZ_CHECK(decoded == s.value ||
                  (decoded != decoded && s.value != s.value));
  }
  return 0;
}
