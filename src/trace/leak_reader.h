// Reads a suspected leak's values at a version's table positions
// (LEAK_TRACING.md, Detection step 2): parses the leak (safetensors or
// GGUF, by its magic), maps each table tensor to a leak tensor and decodes
// the elements the table names.
//
// Mapping: the same name first; otherwise, among the leak tensors not yet
// mapped with the same shape and a markable dtype, the one whose values at
// the table positions correlate best with the originals (correlation
// >= kMinMappingCorrelation). Unmapped tensors' positions are missing (they
// vote 0). Not handled yet: GGUF's permuted Q/K rows and quantized leaks.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_LEAK_READER_H_
#define MODELVAULT_TRACE_LEAK_READER_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/prefix_parse.h"
#include "trace/mark_table.h"
#include "trace/tensors.h"

namespace mv {

inline constexpr double kMinMappingCorrelation = 0.9;

struct LeakSample {
  bool present = false;
  MarkableType dtype = MarkableType::kNotMarkable;  // the leak's encoding
  uint32_t bits = 0;
};

struct LeakValues {
  std::vector<LeakSample> samples;  // parallel to MarkTable::entries
  size_t tensors_mapped = 0;
};

// Values of `leak` (file bytes) at `table`'s positions, reading through the
// leak's own parsed layout `leak_tensors`.
LeakValues ReadLeakValues(const MarkTable& table,
                          const std::vector<TraceTensor>& leak_tensors,
                          std::string_view leak);

// Parses `leak` (GGUF if it starts with "GGUF", else safetensors) and reads
// it as above. INVALID_ARGUMENT if the file does not parse.
absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        std::string_view leak);

}  // namespace mv

#endif  // MODELVAULT_TRACE_LEAK_READER_H_
