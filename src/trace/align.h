// Alignment by content: pass 4 of leak reading (leak_reader.h), for a leak
// whose hidden units were permuted (issue [trace-structure]). Permuting the
// units of a layer reorders the rows of the tensors that produce them
// (up_proj, q_proj, v_proj) and the columns of the ones that consume them
// (down_proj, o_proj), per layer, and the model computes the same function.
// Names, order and orientation say nothing then; only the values do.
//
// For a table tensor O (of the original, read decrypted at trace time) and
// a leak tensor L of the same shape, or of the transposed shape ([C, R]:
// read as its transpose V), the hypothesis "V is O with its rows permuted"
// is tested in three steps, and "columns permuted" likewise (2-D only):
//  1. Pairing. Column sums of squares do not change when rows move or
//     change sign: the leak tensor whose column sums of squares correlate
//     best with O's (|r| >= 0.8) is the candidate. Sums over all rows
//     average away casts, quantization and noise; an unrelated tensor's
//     correlate ~N(0, 1/C).
//  2. Matching. Each row is summarised by a 32-dim count sketch of its
//     values at up to 512 evenly spread columns (random ±1 into 32
//     buckets: one add per value). For each row the table needs, the leak
//     rows whose sketches have the largest |cosine| are the candidates, and
//     the best must be mutual (that leak row's nearest original row is this
//     row).
//  3. Verification. The candidates' sampled values themselves (not the
//     sketches) must correlate with the original row's: |r| >= 0.9, at
//     least 0.1 above the runner-up, and no leak row taken twice. The
//     slope of the leak row on the original row is kept: a unit can be
//     negated or rescaled (v_proj row ×a, o_proj column ×1/a; likewise
//     up_proj and down_proj) without changing the function, and the leak's
//     values are read divided by it.
// A tensor is aligned if at least half its needed rows (>= 2) are; rows
// that were not vote nothing. The leak tensor's sums are kept per tensor
// (R + C floats), and its row sketches up to kSketchCacheBytes in all;
// other sketches and sampled values exist for one tensor at a time, so
// memory is bounded by the largest tensor's R + C and that cap, never by
// the file. Cost: one full read of each aligned table tensor of the
// original, one of every leak tensor of a shape a table tensor still
// needs (a second for an aligned one whose sketches were not kept or
// that is aligned by columns), and the sampled rows of the candidates.
//
// Not thread-safe (it caches sums); one trace uses one aligner.
#ifndef MODELVAULT_TRACE_ALIGN_H_
#define MODELVAULT_TRACE_ALIGN_H_

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "trace/leak_file.h"
#include "trace/tensors.h"

namespace mv {

inline constexpr double kMinPairingCorrelation = 0.8;
inline constexpr double kMinAlignedCorrelation = 0.9;
inline constexpr double kMinAlignmentMargin = 0.1;

enum class AlignedAxis : uint8_t { kNone, kRows, kColumns };
const char* AlignedAxisName(AlignedAxis axis);  // "none", "rows", "columns"

// One row (column) of the original and where the leak holds it.
struct AlignedPair {
  uint64_t original = 0, leak = 0;
  float scale = 1;  // leak ≈ scale · original (finite, not 0)
  bool operator==(const AlignedPair&) const = default;
};

// Where the leak holds the rows (or columns) of a tensor that the table
// needs, found by content.
struct Alignment {
  AlignedAxis axis = AlignedAxis::kNone;
  uint64_t needed = 0;  // distinct rows (columns) of the tensor's entries
  std::vector<AlignedPair> pairs;  // those aligned, sorted by original
  double pairing_correlation = 0;  // step 1's |r|

  // The pair of original row (column) `original`; nullptr if not aligned.
  const AlignedPair* Find(uint64_t original) const;
  // Its leak index, if aligned.
  std::optional<uint64_t> LeakIndex(uint64_t original) const;
  // SHA-256 of the pairs (original and leak index, u64 little-endian
  // each): names the permutation undone in the report without listing it.
  Sha256Digest PairsSha256() const;
  bool operator==(const Alignment&) const = default;
};

class ContentAligner {
 public:
  // `original` is the stored version's plaintext, whose tensors the table
  // describes; `leak` is read through `leak_tensors`. All outlive this.
  ContentAligner(const LeakFile& original, const LeakFile& leak,
                 const std::vector<TraceTensor>& leak_tensors);

  struct Found {
    size_t leak_tensor = 0;  // index into leak_tensors
    bool transposed = false;
    Alignment alignment;
  };

  // Table tensor `t`, whose entries are at row-major `elements`, aligned
  // in one of the leak tensors `candidates` (indices into leak_tensors),
  // as above; nullopt if none qualifies. Fails only when a file cannot be
  // read.
  absl::StatusOr<std::optional<Found>> Align(
      const TraceTensor& t, const std::vector<uint64_t>& elements,
      const std::vector<size_t>& candidates);

 private:
  // The leak tensors' row sketches are kept from the pass that sums them
  // while they fit in this much (32 floats per row), saving a second read
  // of each tensor that is then aligned by rows; past it, memory stays
  // bounded and the sketches are read again when needed.
  static constexpr uint64_t kSketchCacheBytes = 64 << 20;

  struct AxisSums {
    std::vector<float> rows, cols;    // sums of squares per row / per column,
                                      // as stored
    std::vector<float> row_sketches;  // empty when over the budget
  };
  absl::StatusOr<const AxisSums*> LeakSums(size_t l);

  const LeakFile& original_;
  const LeakFile& leak_;
  const std::vector<TraceTensor>& leak_tensors_;
  std::map<size_t, AxisSums> leak_sums_;
  uint64_t sketch_bytes_ = 0;  // held in leak_sums_'s row_sketches
};

}  // namespace mv

#endif  // MODELVAULT_TRACE_ALIGN_H_
