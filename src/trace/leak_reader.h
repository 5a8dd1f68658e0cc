// Reads a suspected leak's values at a version's table positions
// (LEAK_TRACING.md, Detection step 2): parses the leak (safetensors or
// GGUF, by its magic), maps each table tensor to a leak tensor and decodes
// the elements the table names.
//
// Mapping, in three passes, each leak tensor used at most once:
//  1. the same name and shape;
//  2. among the leak tensors not yet mapped with the same shape and a
//     markable dtype, the one whose values at the table positions correlate
//     best with the originals (correlation >= kMinMappingCorrelation);
//  3. for the table tensors still unmapped, the same search reading each
//     candidate's rows in llama.cpp's permuted Q/K order (RowPermutation),
//     for every head count the row count allows: GGUF converters permute
//     the q_proj/k_proj rows, and a re-serialised leak need not say how many
//     heads it has. Pass 3 comes last so that it only runs for what the
//     cheaper passes left, and never takes a tensor they would have matched;
//     it screens each (candidate, head count) on a subset of the entries
//     first (leak_reader.cc says why that is safe).
// Shapes are outermost first for both formats (gguf.h reverses GGUF's
// dims), so a tensor's rows are always shape[0]. Unmapped tensors'
// positions are missing (they vote 0). Not handled: quantized leaks.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_LEAK_READER_H_
#define MODELVAULT_TRACE_LEAK_READER_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/prefix_parse.h"
#include "trace/leak_file.h"
#include "trace/mark_table.h"
#include "trace/tensors.h"

namespace mv {

inline constexpr double kMinMappingCorrelation = 0.9;

// The order of a leak tensor's rows relative to the original's. llama.cpp's
// convert_hf_to_gguf.py permute() turns each attention head's two halves of
// q_proj/k_proj rows into interleaved pairs (for its RoPE layout): with R
// rows, h heads (n_head_kv for k_proj under GQA) and half = R / h / 2, leak
// row head·2·half + 2·i + j holds original row head·2·half + j·half + i
// (j in {0, 1}, i < half).
struct RowPermutation {
  uint64_t heads = 0;  // h; 0: the original order
};

// The row-major index in the leak tensor of the element at row-major index
// `element` in the original, both of `shape` (outermost first).
// REQUIRES: element < the product of shape; if rows.heads > 0, shape has at
// least 2 dims and shape[0] is a multiple of 2 * rows.heads.
uint64_t LeakElementIndex(RowPermutation rows,
                          const std::vector<uint64_t>& shape, uint64_t element);

struct LeakSample {
  bool present = false;
  MarkableType dtype = MarkableType::kNotMarkable;  // the leak's encoding
  uint32_t bits = 0;
};

struct LeakValues {
  std::vector<LeakSample> samples;  // parallel to MarkTable::entries
  size_t tensors_mapped = 0;
  size_t tensors_row_permuted = 0;  // of those, read through a permutation
};

// Values of `leak` at `table`'s positions, reading through the leak's own
// parsed layout `leak_tensors`. Fails only when `leak` cannot be read
// (leak_file.h).
absl::StatusOr<LeakValues> ReadLeakValues(
    const MarkTable& table, const std::vector<TraceTensor>& leak_tensors,
    const LeakFile& leak);

// Parses `leak` (GGUF if it starts with "GGUF", else safetensors) and reads
// it as above. INVALID_ARGUMENT if the file does not parse.
absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        const LeakFile& leak);
// The same for a leak held in memory.
absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        std::string_view leak);

}  // namespace mv

#endif  // MODELVAULT_TRACE_LEAK_READER_H_
