// Ingest (LEAK_TRACING.md, "Ingest"): builds a version's MarkTable from the
// file's bytes in ONE streamed pass, never holding the file.
//
//   MV_ASSIGN_OR_RETURN(MarkPlanner planner,
//                       MarkPlanner::New(keys, TraceTensorsOf(layout), size));
//   for (piece : file) MV_RETURN_IF_ERROR(planner.Feed(piece));
//   MV_ASSIGN_OR_RETURN(MarkTable table, planner.Finish());
//
// Pieces may have any sizes (elements may be split between pieces); each
// byte is fed once, in order. At upload the vault feeds the planner on its
// own pipeline stage as the upload streams in (vault/upload.h); memory is
// O(tensors + N_A · oversampling), never the file.
//
// The candidate positions come from the K_pos keystream before any byte is
// seen: `oversampling` times the tensor's quota, drawn per tensor (stream
// id = its index in sorted-name order). So while Feed sums the squares of
// each eligible tensor's finite values (for σ, its RMS: step 2) it also
// records the values at the candidates. Finish computes σ and accepts
// candidates in draw order (step 3) while they are finite,
// σ <= |x| <= 3σ, not already chosen, markable both ways (element_codec.h)
// and inside one storage chunk, first the N_A-quota Tardos positions, then
// reference positions (never marked; detect.h fits casts and
// re-quantizations on them). A tensor whose candidates run out keeps fewer
// positions (never with Gaussian-like weights at 8x oversampling).
//
// Not thread-safe; one planner per upload.
#ifndef MODELVAULT_TRACE_PLAN_H_
#define MODELVAULT_TRACE_PLAN_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "trace/keys.h"
#include "trace/mark_table.h"
#include "trace/tensors.h"

namespace mv {

struct PlanOptions {
  EligibilityRule eligibility;
  uint32_t tardos_positions = 8192;     // N_A
  uint32_t reference_positions = 4096;  // unmarked samples for detection
  uint64_t storage_chunk_size = uint64_t{1} << 20;
  uint32_t oversampling = 8;
};

// Tardos bias of channel A (Ingest step 4) for u in [0, 1), t = 0.01:
// p = sin²(θ + u(π/2 − 2θ)), θ = asin(√t); returns round(p · 65536)
// clamped to [1, 65535]. Both sides use exactly weight / 65536.
uint16_t TardosWeight(double u);

// Splits `total` positions across tensors of `sizes` elements in proportion
// to size, largest remainder first, ties to the lower index (sorted-name
// order); no tensor gets more than its size.
std::vector<uint64_t> AllocateQuotas(const std::vector<uint64_t>& sizes,
                                     uint64_t total);

class MarkPlanner {
 public:
  // INVALID_ARGUMENT if a tensor lies outside `file_size`, the chunk size or
  // oversampling is 0 or the eligibility pattern is invalid.
  static absl::StatusOr<MarkPlanner> New(const TraceKeys& keys,
                                         std::vector<TraceTensor> tensors,
                                         uint64_t file_size,
                                         const PlanOptions& options = {});

  MarkPlanner(MarkPlanner&&) noexcept = default;
  MarkPlanner& operator=(MarkPlanner&&) noexcept = default;

  // The next bytes of the file. FAILED_PRECONDITION past the end of the
  // file or after Finish.
  absl::Status Feed(std::string_view piece);
  // FAILED_PRECONDITION unless exactly file_size bytes were fed.
  absl::StatusOr<MarkTable> Finish();

  uint64_t file_size() const { return file_size_; }
  uint64_t bytes_fed() const { return fed_; }

 private:
  struct Tensor {
    TraceTensor info;
    uint64_t tardos_quota = 0, reference_quota = 0;
    double sum_squares = 0, sigma = 0;
    uint64_t finite_count = 0;
    std::vector<uint64_t> draws;       // candidate elements, draw order
    std::vector<uint64_t> candidates;  // sorted, unique
    std::vector<uint32_t> values;      // bits at `candidates`
    size_t cursor = 0;                 // next candidate not yet seen
  };

  MarkPlanner() = default;
  // Draws the tensor's candidate elements from the K_pos stream `stream_id`.
  static void DrawCandidates(const TraceKeys& keys, uint64_t stream_id,
                             uint32_t oversampling, Tensor* t);
  // Accounts for elements [element, element + n) of tensor `index`, whose
  // bytes start at `src`.
  void Take(size_t index, uint64_t element, uint64_t n, const char* src);
  void Select(size_t index, std::vector<MarkEntry>* out) const;

  PlanOptions options_;
  uint64_t file_size_ = 0;
  std::vector<Tensor> tensors_;    // sorted by name
  std::vector<size_t> by_offset_;  // indices into tensors_
  std::vector<uint16_t> weights_;  // one per Tardos position, table order
  bool finished_ = false;
  uint64_t fed_ = 0;
  size_t scan_ = 0;
  char carry_[4] = {};  // an element split between pieces
};

}  // namespace mv

#endif  // MODELVAULT_TRACE_PLAN_H_
