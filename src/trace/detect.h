// Detection steps 4-5 (LEAK_TRACING.md): scores logged downloads of a
// version against a leak's votes (votes.h) and gives each a verdict with a
// rigorous false-attribution bound.
//
// Score of download j: Z_j = Σ v_i w_ji / √Σ v_i², with Tardos's symmetric
// weights w = +√((1−p)/p) if s_ji = +1 else −√(p/(1−p)), p = P_i/65536.
// For a download that did not leak, its w_i are independent of the votes,
// mean 0, variance 1 and bounded, so conditionally on v:
//   Pr[Σ v_i w_i ≥ S] ≤ min_λ≥0 exp(−λS) Π E[exp(λ v_i w_i)]   (Chernoff)
// computed in log space; family-wise P_j = min(1, J · p_j) over the J
// downloads scored. Attributed if P ≤ 1e-9, suspect if P ≤ 1e-3.
//
// As a check on the whole chain (table, votes, keys), never-issued decoy
// ids are scored too; their Z must look like N(0, 1). If the largest is
// above 5.5 the result abstains: every verdict is none.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_DETECT_H_
#define MODELVAULT_TRACE_DETECT_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "trace/keys.h"
#include "trace/mark_table.h"
#include "trace/votes.h"

namespace mv {

struct DetectOptions {
  size_t decoys = 10'000;
  double attribute_p = 1e-9;
  double suspect_p = 1e-3;
  double decoy_abstain_z = 5.5;
};

enum class Verdict { kNone, kSuspect, kAttributed };
const char* VerdictName(Verdict verdict);

struct CandidateScore {
  uint64_t download_id = 0;
  double z = 0;
  double log10_p = 0;         // the Chernoff bound for this download alone
                              // (0, i.e. p = 1, below the first 10 in Z
                              // order once one gets no verdict)
  double log10_p_family = 0;  // log10 P = log10 min(1, J · p)
  Verdict verdict = Verdict::kNone;
};

struct DecoyStats {
  size_t count = 0;
  double mean_z = 0, stddev_z = 0, max_z = 0;
};

struct TraceResult {
  TraceMode mode = TraceMode::kNoData;
  size_t votes_present = 0;  // Tardos positions found in the leak
  size_t votes_nonzero = 0;
  std::vector<CandidateScore> candidates;  // sorted by Z, highest first
  DecoyStats decoys;
  bool abstained = false;  // decoys misbehaved: no verdicts
};

// Scores `download_ids` (the version's logged downloads; J = their count).
// Votes made for another table count as no votes.
TraceResult ScoreDownloads(const TraceKeys& keys, const MarkTable& table,
                           const Votes& votes,
                           const std::vector<uint64_t>& download_ids,
                           const DetectOptions& options = {});

// The whole of detection steps 2-5 for a leak held in memory: reads it
// (leak_reader.h), votes (votes.h) and scores. INVALID_ARGUMENT if the leak
// is neither safetensors nor GGUF.
absl::StatusOr<TraceResult> TraceLeak(const TraceKeys& keys,
                                      const MarkTable& table,
                                      std::string_view leak_file,
                                      const std::vector<uint64_t>& download_ids,
                                      const DetectOptions& options = {});

// log(min over λ ≥ 0 of exp(−λ Σ v_i w_i) Π E[exp(λ v_i W_i)]), W_i = +a_i
// with probability p_i, −b_i otherwise (the innocent distribution). ≤ 0.
// REQUIRES: v, p, w of equal length; 0 < p_i < 1.
double ChernoffLogBound(const std::vector<double>& v,
                        const std::vector<double>& p,
                        const std::vector<double>& w);

}  // namespace mv

#endif  // MODELVAULT_TRACE_DETECT_H_
