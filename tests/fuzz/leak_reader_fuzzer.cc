// Fuzzes the untrusted end of a trace: a suspect file of any content, read
// against a version's mark table (trace/leak_reader.h: format detection,
// the safetensors/GGUF parse, tensor mapping by name, by values and through
// llama.cpp's Q/K row permutation). Invariants:
//   - it never crashes or reads outside the file (ASan), and a refusal
//     carries a printable message;
//   - a reading has one sample per table entry, maps at most every table
//     tensor, and every sample it reports present has a markable encoding.
#include <string_view>

#include "fuzz_check.h"
#include "trace/leak_reader.h"
#include "trace_seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const mv::MarkTable table = mv::fuzz::TraceSeedTable();
  const mv::fuzz::HeapCopy leak(mv::fuzz::AsView(data, size));
  absl::StatusOr<mv::LeakValues> values = mv::ReadLeakFile(table, leak.view());
  if (!values.ok()) {
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(values.status().message()));
    return 0;
  }
  MV_FUZZ_CHECK(values->samples.size() == table.entries.size());
  MV_FUZZ_CHECK(values->tensors_mapped <= table.tensors.size());
  MV_FUZZ_CHECK(values->tensors_row_permuted <= values->tensors_mapped);
  for (const mv::LeakSample& s : values->samples) {
    if (s.present) MV_FUZZ_CHECK(s.dtype != mv::MarkableType::kNotMarkable);
  }
  return 0;
}
