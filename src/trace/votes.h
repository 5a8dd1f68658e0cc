// Detection step 3 (LEAK_TRACING.md): one vote per Tardos position from
// the original value x_i (table) and the leak's value y_i (leak_reader.h).
//
// Each table tensor is judged on its reference positions (never marked):
// - lossless: at >= kLosslessShare of them the leak equals x cast to the
//   leak's encoding (a byte copy or an fp32/bf16/fp16 cast). Then
//   v_i = sign(y_i − cast(x_i)) · sign(x_i): the mark's direction survives
//   casts because it sits on the bf16 grid.
// - soft otherwise: least squares y ≈ αx + β on the reference positions,
//   r_i = (y_i − αx_i − β) / (α · k · ulp_bf16(x_i)) · sign(x_i) (the
//   spec has no α there: dividing by it makes a scaled or negated tensor
//   vote as its original would; a tensor with |α| < kMinSoftAlpha, which
//   does not follow the original, votes 0); votes are r_i
//   winsorised at ±4σ̂, σ̂ = 1.4826 · MAD of all soft r_i (at least 1/4 of a
//   mark, so exact fits do not zero every vote).
// Missing positions and non-finite leak values vote 0.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_VOTES_H_
#define MODELVAULT_TRACE_VOTES_H_

#include <cstddef>
#include <vector>

#include "trace/leak_reader.h"
#include "trace/mark_table.h"

namespace mv {

inline constexpr double kLosslessShare = 0.95;
inline constexpr double kMinSoftAlpha = 0.1;

enum class TraceMode { kNoData, kLossless, kSoft };
const char* TraceModeName(TraceMode mode);

struct Votes {
  // kLossless if every tensor with present positions was lossless, kSoft if
  // any was soft, kNoData if no Tardos position is present.
  TraceMode mode = TraceMode::kNoData;
  std::vector<double> v;  // parallel to MarkTable::entries; 0 off channel A
  size_t present = 0;     // Tardos positions the leak has
  size_t soft_tensors = 0;
  // Per table tensor: how it voted (kNoData when none of its Tardos
  // positions is present), and how many of its Tardos positions are.
  std::vector<TraceMode> tensor_modes;
  std::vector<size_t> tensor_present;
};

// Values read for another table (samples.size() != entries.size()) give
// kNoData.
Votes ComputeVotes(const MarkTable& table, const LeakValues& leak);

}  // namespace mv

#endif  // MODELVAULT_TRACE_VOTES_H_
