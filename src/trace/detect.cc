#include "trace/detect.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "common/status_macros.h"
#include "trace/embed.h"
#include "trace/leak_reader.h"

namespace mv {
namespace {

constexpr double kLog10 = 2.302585092994046;

// The Tardos positions that voted, with their p, as parallel arrays.
struct Active {
  std::vector<size_t> index;
  std::vector<double> v, p, plus, minus;  // w = +plus or −minus
  double norm = 0;                        // √Σ v²
};

Active ActivePositions(const MarkTable& table, const Votes& votes) {
  Active a;
  if (votes.v.size() != table.entries.size()) return a;
  for (size_t i = 0; i < table.entries.size(); ++i) {
    if (table.entries[i].channel != MarkChannel::kTardos || votes.v[i] == 0)
      continue;
    const double p = table.entries[i].weight / 65536.0;
    a.index.push_back(i);
    a.v.push_back(votes.v[i]);
    a.p.push_back(p);
    a.plus.push_back(std::sqrt((1 - p) / p));
    a.minus.push_back(std::sqrt(p / (1 - p)));
    a.norm += votes.v[i] * votes.v[i];
  }
  a.norm = std::sqrt(a.norm);
  return a;
}

// The download's weights at the active positions.
std::vector<double> Weights(const TraceKeys& keys, const MarkTable& table,
                            const Active& a, uint64_t download_id) {
  const DownloadCode code = MakeDownloadCode(keys, table, download_id);
  std::vector<double> w(a.index.size());
  for (size_t k = 0; k < a.index.size(); ++k) {
    w[k] = code.signs[a.index[k]] > 0 ? a.plus[k] : -a.minus[k];
  }
  return w;
}

double Score(const Active& a, const std::vector<double>& w) {
  if (a.norm == 0) return 0;
  double s = 0;
  for (size_t k = 0; k < w.size(); ++k) s += a.v[k] * w[k];
  return s / a.norm;
}

// f(λ) = −λS + Σ log E[exp(λ v W)] and f'(λ), stably.
void Objective(const std::vector<double>& v, const std::vector<double>& p,
               double s, double lambda, double* f, double* df) {
  *f = -lambda * s;
  *df = -s;
  for (size_t k = 0; k < v.size(); ++k) {
    const double a = std::sqrt((1 - p[k]) / p[k]),
                 b = std::sqrt(p[k] / (1 - p[k]));
    const double up = lambda * v[k] * a, down = -lambda * v[k] * b;
    const double m = std::max(up, down);
    const double eu = p[k] * std::exp(up - m),
                 ed = (1 - p[k]) * std::exp(down - m);
    *f += m + std::log(eu + ed);
    *df += v[k] * (a * eu - b * ed) / (eu + ed);
  }
}

Verdict Judge(double log10_p_family, const DetectOptions& options) {
  if (log10_p_family <= std::log10(options.attribute_p))
    return Verdict::kAttributed;
  if (log10_p_family <= std::log10(options.suspect_p)) return Verdict::kSuspect;
  return Verdict::kNone;
}

DecoyStats ScoreDecoys(const TraceKeys& keys, const MarkTable& table,
                       const Active& a, const std::vector<uint64_t>& issued,
                       size_t count) {
  const std::unordered_set<uint64_t> skip(issued.begin(), issued.end());
  const std::string ids = keys.Stream(TraceKeyPurpose::kDecoys, 0, 8 * count);
  DecoyStats stats;
  double sum = 0, sum_squares = 0;
  for (size_t d = 0; d < count; ++d) {
    const uint64_t id = StreamU64(ids, d);
    if (skip.contains(id)) continue;
    const double z = Score(a, Weights(keys, table, a, id));
    sum += z, sum_squares += z * z;
    stats.max_z = stats.count == 0 ? z : std::max(stats.max_z, z);
    ++stats.count;
  }
  if (stats.count > 0) {
    stats.mean_z = sum / stats.count;
    stats.stddev_z = std::sqrt(
        std::max(0.0, sum_squares / stats.count - stats.mean_z * stats.mean_z));
  }
  return stats;
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAttributed:
      return "attributed";
    case Verdict::kSuspect:
      return "suspect";
    case Verdict::kNone:
      break;
  }
  return "none";
}

double ChernoffLogBound(const std::vector<double>& v,
                        const std::vector<double>& p,
                        const std::vector<double>& w) {
  double s = 0;
  for (size_t k = 0; k < v.size(); ++k) s += v[k] * w[k];
  if (s <= 0) return 0;  // f'(0) = −S ≥ 0: the minimum is at λ = 0
  double f = 0, df = 0, lo = 0, hi = 1;
  // f is convex; bracket the root of f', then bisect.
  Objective(v, p, s, hi, &f, &df);
  while (df < 0 && hi < 1e12) {
    lo = hi;
    hi *= 2;
    Objective(v, p, s, hi, &f, &df);
  }
  for (int it = 0; it < 100 && hi - lo > 1e-12 * hi; ++it) {
    const double mid = (lo + hi) / 2;
    Objective(v, p, s, mid, &f, &df);
    (df < 0 ? lo : hi) = mid;
  }
  Objective(v, p, s, hi, &f, &df);
  double f_lo = 0;
  Objective(v, p, s, lo, &f_lo, &df);
  return std::min({0.0, f, f_lo});
}

TraceResult ScoreDownloads(const TraceKeys& keys, const MarkTable& table,
                           const Votes& votes,
                           const std::vector<uint64_t>& download_ids,
                           const DetectOptions& options) {
  TraceResult result;
  result.mode = votes.mode;
  result.votes_present = votes.present;
  const Active a = ActivePositions(table, votes);
  result.votes_nonzero = a.index.size();
  result.decoys = ScoreDecoys(keys, table, a, download_ids, options.decoys);
  result.abstained =
      result.decoys.count > 0 && result.decoys.max_z > options.decoy_abstain_z;
  const double log10_j = std::log10(std::max<size_t>(1, download_ids.size()));
  std::vector<std::vector<double>> weights;
  weights.reserve(download_ids.size());
  for (uint64_t id : download_ids) {
    weights.push_back(Weights(keys, table, a, id));
    result.candidates.push_back(
        CandidateScore{.download_id = id, .z = Score(a, weights.back())});
  }
  std::vector<size_t> order(download_ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return result.candidates[x].z > result.candidates[y].z;
  });
  // The bound falls as S = Z·√Σv² grows (v fixed), so once a candidate in
  // Z order gets no verdict, none below it can: their bounds are computed
  // only for the first kBoundsAtLeast. The rest keep p = 1 (log10 0), a
  // true if loose bound — 10,000 bisections would dominate a trace.
  constexpr size_t kBoundsAtLeast = 10;
  std::vector<CandidateScore> sorted;
  sorted.reserve(order.size());
  bool bounding = true;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    CandidateScore c = result.candidates[order[rank]];
    if (bounding) {
      c.log10_p = ChernoffLogBound(a.v, a.p, weights[order[rank]]) / kLog10;
      c.log10_p_family = std::min(0.0, log10_j + c.log10_p);
      const Verdict verdict = Judge(c.log10_p_family, options);
      c.verdict = result.abstained ? Verdict::kNone : verdict;
      bounding = rank + 1 < kBoundsAtLeast || verdict != Verdict::kNone;
    }
    sorted.push_back(c);
  }
  result.candidates = std::move(sorted);
  return result;
}

absl::StatusOr<TraceResult> TraceLeak(const TraceKeys& keys,
                                      const MarkTable& table,
                                      std::string_view leak_file,
                                      const std::vector<uint64_t>& download_ids,
                                      const DetectOptions& options) {
  MV_ASSIGN_OR_RETURN(LeakValues values, ReadLeakFile(table, leak_file));
  return ScoreDownloads(keys, table, ComputeVotes(table, values), download_ids,
                        options);
}

}  // namespace mv
