// Reads a suspected leak's values at a version's table positions
// (LEAK_TRACING.md, Detection step 2): parses the leak (safetensors or
// GGUF, by its magic), maps each table tensor to a leak tensor and decodes
// the elements the table names.
//
// Mapping, in three passes, each leak tensor used at most once:
//  1. the same name and shape, if the values at the table positions
//     correlate with the originals (>= 0.5): a name is the leaker's to
//     choose, so it is a hint, not a proof;
//  2. among the leak tensors not yet mapped with the same shape and a
//     readable dtype, the one whose values at the table positions correlate
//     best with the originals (correlation >= kMinMappingCorrelation);
//  3. for the table tensors still unmapped, the same search through the
//     rewrites that keep a model's function and change where elements lie
//     (ElementMap): llama.cpp's permuted Q/K row order, for every head count
//     the row count allows, both ways (GGUF converters permute q_proj/k_proj
//     rows, and a re-serialised leak need not say how many heads it has; a
//     GGUF original leaked as safetensors has them permuted back), and the
//     transpose of a 2-D tensor (GPT-2-style Conv1D checkpoints store
//     weights as [in, out]). Pass 3 comes last so that it only runs for what
//     the cheaper passes left, and never takes a tensor they would have
//     matched; it screens each (candidate, map) on a subset of the entries
//     first (leak_reader.cc says why that is safe);
//  4. given the original (the stored version's plaintext), for the table
//     tensors still unmapped: a leak tensor holding their rows or columns
//     in another order (hidden units permuted), aligned by content
//     (align.h), if the values at the aligned entries then correlate
//     >= kMinMappingCorrelation. Entries whose row was not aligned are
//     missing.
// How each tensor was found is reported (TensorMatch), for the signed report.
// Shapes are outermost first for both formats (gguf.h reverses GGUF's
// dims), so a tensor's rows are always shape[0]. Unmapped tensors'
// positions are missing (they vote 0). Quantized GGUF tensors (Q8_0, Q4_0,
// Q4_K, Q6_K: ggml_dequant.h) are read by their dequantized values, which
// only the soft vote can use.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_LEAK_READER_H_
#define MODELVAULT_TRACE_LEAK_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/prefix_parse.h"
#include "trace/align.h"
#include "trace/leak_file.h"
#include "trace/mark_table.h"
#include "trace/tensors.h"

namespace mv {

inline constexpr double kMinMappingCorrelation = 0.9;

// Where a leak tensor holds the elements of the original's: its rows in
// llama.cpp's Q/K order, and/or transposed. llama.cpp's
// convert_hf_to_gguf.py permute() turns each attention head's two halves of
// q_proj/k_proj rows into interleaved pairs (for its RoPE layout): with R
// rows, h heads (n_head_kv for k_proj under GQA) and half = R / h / 2, the
// permuted row head·2·half + 2·i + j holds row head·2·half + j·half + i
// (j in {0, 1}, i < half). `inverse` is the way back (a GGUF original
// leaked in Hugging Face's order).
struct ElementMap {
  uint64_t heads = 0;       // h; 0: rows in the original order
  bool inverse = false;     // the permutation undone rather than applied
  bool transposed = false;  // a 2-D leak tensor of shape [C, R]
  bool operator==(const ElementMap&) const = default;
};

// The row-major index in the leak tensor of the element at row-major index
// `element` in the original of `shape` (outermost first).
// REQUIRES: element < the product of shape; if map.heads > 0, shape has at
// least 2 dims and shape[0] is a multiple of 2 * map.heads; if
// map.transposed, shape has 2 dims.
uint64_t LeakElementIndex(ElementMap map, const std::vector<uint64_t>& shape,
                          uint64_t element);

// Where the leak holds an element of the original through `map` and
// `alignment` (pass 4: then map.heads is 0), and the factor its row
// (column) was scaled by (1 unless aligned).
struct LeakElement {
  uint64_t index = 0;
  float scale = 1;
};
// nullopt if the element's row (column) was not aligned.
// REQUIRES: as LeakElementIndex; alignment.axis is kColumns only for 2
// dims.
std::optional<LeakElement> LeakElementOf(ElementMap map,
                                         const Alignment& alignment,
                                         const std::vector<uint64_t>& shape,
                                         uint64_t element);

// A row (column) aligned with a scale further than this from 1 is read
// divided by it, as a value only (no bits to compare with a cast).
inline constexpr double kScaleTolerance = 0.02;

// How a table tensor was found in the leak.
enum class MatchedBy { kNone, kName, kValues, kRewrite, kContent };
// "none", "name", "values", "rewrite", "content".
const char* MatchedByName(MatchedBy by);

struct TensorMatch {
  MatchedBy by = MatchedBy::kNone;
  std::string leak_name;  // the leak's name for it (at most 256 bytes kept)
  ElementMap map;
  Alignment alignment;  // kContent only
};

struct LeakSample {
  bool present = false;
  // The leak's encoding, with the element's bits; kNotMarkable for a
  // quantized tensor, which has only `value`.
  MarkableType dtype = MarkableType::kNotMarkable;
  uint32_t bits = 0;
  double value = 0;  // the element's value (decoded or dequantized)
};

struct LeakValues {
  std::vector<LeakSample> samples;   // parallel to MarkTable::entries
  std::vector<TensorMatch> matches;  // parallel to MarkTable::tensors
  size_t tensors_mapped = 0;
  size_t tensors_row_permuted = 0;  // of those, read through a permutation
  size_t tensors_transposed = 0;    // of those, read transposed
  size_t tensors_aligned = 0;       // of those, aligned by content
};

// Values of `leak` at `table`'s positions, reading through the leak's own
// parsed layout `leak_tensors`; pass 4 runs only if `original` (the file
// `table` was made from) is given. Fails only when `leak` or `original`
// cannot be read (leak_file.h).
absl::StatusOr<LeakValues> ReadLeakValues(
    const MarkTable& table, const std::vector<TraceTensor>& leak_tensors,
    const LeakFile& leak, const LeakFile* original = nullptr);

// Parses `leak` (GGUF if it starts with "GGUF", else safetensors) and reads
// it as above. INVALID_ARGUMENT if the file does not parse.
absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        const LeakFile& leak,
                                        const LeakFile* original = nullptr);
// The same for a leak (and an original; empty: none) held in memory.
absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        std::string_view leak,
                                        std::string_view original = {});

}  // namespace mv

#endif  // MODELVAULT_TRACE_LEAK_READER_H_
