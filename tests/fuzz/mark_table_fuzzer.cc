// Fuzzes the mark table decoder (trace/mark_table.h), which reads a sealed
// record at every fingerprinted download and every trace. Invariants:
//   - a rejection is DATA_LOSS with a printable message;
//   - an accepted table is consistent (entries sorted, in range of their
//     tensors) and serialises to bytes that parse to the same table.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "trace/mark_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const mv::fuzz::HeapCopy in(mv::fuzz::AsView(data, size));
  absl::StatusOr<mv::MarkTable> table = mv::ParseMarkTable(in.view());
  if (!table.ok()) {
    MV_FUZZ_CHECK(table.status().code() == absl::StatusCode::kDataLoss);
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(table.status().message()));
    return 0;
  }
  for (size_t i = 0; i < table->entries.size(); ++i) {
    const mv::MarkEntry& e = table->entries[i];
    MV_FUZZ_CHECK(e.tensor < table->tensors.size());
    MV_FUZZ_CHECK(e.element < table->tensors[e.tensor].NumElements());
    if (i > 0) MV_FUZZ_CHECK(table->entries[i - 1].file_offset < e.file_offset);
  }
  const std::string again = mv::SerializeMarkTable(*table);
  absl::StatusOr<mv::MarkTable> reparsed = mv::ParseMarkTable(again);
  MV_FUZZ_CHECK(reparsed.ok());
  MV_FUZZ_CHECK(*reparsed == *table);
  return 0;
}
