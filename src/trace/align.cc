#include "trace/align.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <span>

#include "common/status_macros.h"
#include "trace/tensor_rows.h"

namespace mv {
namespace {

constexpr size_t kSketchDims = 32;
// Values per row compared (sketched, then verified): enough that an
// unrelated row's correlation is ~N(0, 1/512), few enough to stay cheap.
constexpr uint64_t kMaxSampled = 512;
// Below this many values a correlation means little: such an axis is
// never aligned.
constexpr uint64_t kMinSampled = 16;
// Leak rows verified per needed row: the true one has a sketch cosine of
// ~0.99 (the same linear map of nearly the same values); the best of 10^4
// unrelated rows ~0.7 (32 dims).
constexpr size_t kSketchCandidates = 2;
constexpr double kMinSketchCosine = 0.5;
// Hypotheses tried per table tensor, best pairing first.
constexpr size_t kHypotheses = 2;

// `sketch` holds n rows of kSketchDims.
using Sketches = std::vector<float>;
using Vectors = std::map<uint64_t, std::vector<float>>;

// Evenly spread positions along an axis of `n`.
std::vector<uint64_t> SampledPositions(uint64_t n) {
  const uint64_t k = std::min(n, kMaxSampled);
  std::vector<uint64_t> out(k);
  for (uint64_t i = 0; i < k; ++i) out[i] = i * n / k;
  return out;
}

// The bucket and sign of sample k (splitmix64 of k): a fixed, public
// count sketch; knowing it helps no one hide a row.
std::pair<size_t, float> BucketAndSign(uint64_t k) {
  uint64_t z = k + 0x9E3779B97F4A7C15u;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  z ^= z >> 31;
  return {z % kSketchDims, (z >> 32) & 1 ? 1.0f : -1.0f};
}

// Pearson's r of y on x and the least-squares slope; both 0 when either
// side is constant (or not finite).
struct LinearFit {
  double r = 0, slope = 0;
};
LinearFit Fit(std::span<const float> x, std::span<const float> y) {
  const size_t n = std::min(x.size(), y.size());
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    sx += x[i], sy += y[i], sxx += double{x[i]} * x[i];
    syy += double{y[i]} * y[i], sxy += double{x[i]} * y[i];
  }
  if (n < 2) return {};
  const double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
  if (!(vx > 0 && vy > 0)) return {};
  const double cov = sxy - sx * sy / n;
  return {cov / std::sqrt(vx * vy), cov / vx};
}

double Pearson(std::span<const float> x, std::span<const float> y) {
  return Fit(x, y).r;
}

// Reads all rows of `t` in batches, calling row(index, values) for each.
template <typename RowFn>
absl::Status ForEachRow(const LeakFile& file, const TraceTensor& t, RowFn row) {
  const uint64_t rows = t.shape[0], length = RowLength(t);
  const uint64_t batch = RowsPerBatch(t);
  std::vector<float> values;
  for (uint64_t first = 0; first < rows; first += batch) {
    const uint64_t count = std::min(batch, rows - first);
    MV_RETURN_IF_ERROR(ReadRows(file, t, first, count, &values));
    for (uint64_t r = 0; r < count; ++r)
      row(first + r, std::span<const float>(&values[r * length], length));
  }
  return absl::OkStatus();
}

// Adds `row`'s values at the sampled positions `at` into its sketch.
void SketchRow(std::span<const float> row, const std::vector<uint64_t>& at,
               float* sketch) {
  for (uint64_t k = 0; k < at.size(); ++k) {
    const auto [bucket, sign] = BucketAndSign(k);
    sketch[bucket] += sign * row[at[k]];
  }
}

// The sketch of each row (storage_axis 0) or column (1) of `t` as stored:
// of its values at the sampled positions of the other axis.
absl::StatusOr<Sketches> SketchesOf(const LeakFile& file, const TraceTensor& t,
                                    int storage_axis) {
  const uint64_t rows = t.shape[0], cols = RowLength(t);
  if (storage_axis == 0) {
    const std::vector<uint64_t> at = SampledPositions(cols);
    Sketches out(rows * kSketchDims, 0);
    MV_RETURN_IF_ERROR(
        ForEachRow(file, t, [&](uint64_t r, std::span<const float> row) {
          SketchRow(row, at, &out[r * kSketchDims]);
        }));
    return out;
  }
  Sketches out(cols * kSketchDims, 0);
  const std::vector<uint64_t> at = SampledPositions(rows);
  std::vector<float> row;
  for (uint64_t k = 0; k < at.size(); ++k) {
    MV_RETURN_IF_ERROR(ReadRows(file, t, at[k], 1, &row));
    const auto [bucket, sign] = BucketAndSign(k);
    for (uint64_t c = 0; c < cols; ++c)
      out[c * kSketchDims + bucket] += sign * row[c];
  }
  return out;
}

// The values of each of `indices` (rows if storage_axis is 0, else
// columns of `t` as stored) at the sampled positions of the other axis.
absl::StatusOr<Vectors> SampledVectors(const LeakFile& file,
                                       const TraceTensor& t, int storage_axis,
                                       const std::vector<uint64_t>& indices) {
  Vectors out;
  std::vector<float> row;
  if (storage_axis == 0) {
    const std::vector<uint64_t> at = SampledPositions(RowLength(t));
    for (uint64_t i : indices) {
      MV_RETURN_IF_ERROR(ReadRows(file, t, i, 1, &row));
      std::vector<float>& v = out[i];
      for (uint64_t p : at) v.push_back(row[p]);
    }
    return out;
  }
  for (uint64_t r : SampledPositions(t.shape[0])) {
    MV_RETURN_IF_ERROR(ReadRows(file, t, r, 1, &row));
    for (uint64_t i : indices) out[i].push_back(row[i]);
  }
  return out;
}

// Scales each sketch to unit length (all zeros stays zeros), so that a
// |cosine| is a 32-term float dot product the compiler vectorises.
void Normalize(Sketches* s) {
  for (size_t i = 0; i < s->size(); i += kSketchDims) {
    float* v = &(*s)[i];
    double sum = 0;
    for (size_t d = 0; d < kSketchDims; ++d) sum += double{v[d]} * v[d];
    if (!(sum > 0)) continue;  // zero, or not finite: matches nothing
    const float scale = static_cast<float>(1 / std::sqrt(sum));
    for (size_t d = 0; d < kSketchDims; ++d) v[d] *= scale;
  }
}

// Eight partial sums: the order of a float sum is fixed by the source, so
// one accumulator would not vectorise; eight lanes do.
float AbsDot(const float* a, const float* b) {
  float lanes[8] = {};
  for (size_t d = 0; d < kSketchDims; d += 8) {
    for (size_t k = 0; k < 8; ++k) lanes[k] += a[d + k] * b[d + k];
  }
  float dot = 0;
  for (float l : lanes) dot += l;
  return std::fabs(dot);
}

// Normalized sketches of one axis of the original and of the leak.
struct SketchPair {
  Sketches original, leak;
};

// The leak indices whose sketches are nearest to original index i (best
// first, |cosine| >= kMinSketchCosine), empty unless the nearest is mutual.
// (NaN from a non-finite value fails every comparison: never a candidate.)
std::vector<uint64_t> SketchCandidates(const SketchPair& s, uint64_t i) {
  const uint64_t n = s.leak.size() / kSketchDims;
  std::vector<std::pair<float, uint64_t>> top;  // best first
  const float* o = &s.original[i * kSketchDims];
  for (uint64_t j = 0; j < n; ++j) {
    const float c = AbsDot(o, &s.leak[j * kSketchDims]);
    if (!(c >= kMinSketchCosine)) continue;
    if (top.size() == kSketchCandidates && !(c > top.back().first)) continue;
    if (top.size() == kSketchCandidates) top.pop_back();
    top.insert(
        std::upper_bound(top.begin(), top.end(), std::make_pair(c, j),
                         [](auto& a, auto& b) { return a.first > b.first; }),
        {c, j});
  }
  if (top.empty()) return {};
  const float* l = &s.leak[top[0].second * kSketchDims];
  for (uint64_t k = 0; k < n; ++k) {
    if (k != i && AbsDot(l, &s.original[k * kSketchDims]) > top[0].first)
      return {};  // another row is nearer: not mutual
  }
  std::vector<uint64_t> out;
  for (const auto& [c, j] : top) out.push_back(j);
  return out;
}

// Step 3 for each needed index with candidates; pairs whose leak index
// two needed indices claim are dropped.
std::vector<AlignedPair> Verify(
    const std::map<uint64_t, std::vector<uint64_t>>& candidates,
    const Vectors& original, const Vectors& leak) {
  std::vector<AlignedPair> pairs;
  std::map<uint64_t, int> claims;
  for (const auto& [i, js] : candidates) {
    double best = 0, second = 0, slope = 0;
    uint64_t best_j = 0;
    for (uint64_t j : js) {
      const LinearFit f = Fit(original.at(i), leak.at(j));
      const double r = std::fabs(f.r);
      if (r > best)
        second = best, best = r, best_j = j, slope = f.slope;
      else if (r > second)
        second = r;
    }
    if (!(best >= kMinAlignedCorrelation &&
          best - second >= kMinAlignmentMargin))
      continue;
    const float scale = static_cast<float>(slope);
    if (!std::isfinite(scale) || scale == 0) continue;
    pairs.push_back({i, best_j, scale});
    ++claims[best_j];
  }
  std::erase_if(pairs, [&](auto& p) { return claims[p.leak] > 1; });
  return pairs;
}

// Sums of squares of each row and each column of `t` as stored and, if
// `row_sketches` is given, the sketch of each row (as SketchesOf with
// storage_axis 0), in one read.
absl::Status Profile(const LeakFile& file, const TraceTensor& t,
                     std::vector<float>* row_sums, std::vector<float>* col_sums,
                     Sketches* row_sketches = nullptr) {
  std::vector<double> rows(t.shape[0], 0), cols(RowLength(t), 0);
  const std::vector<uint64_t> at = SampledPositions(RowLength(t));
  if (row_sketches != nullptr)
    row_sketches->assign(rows.size() * kSketchDims, 0);
  MV_RETURN_IF_ERROR(
      ForEachRow(file, t, [&](uint64_t r, std::span<const float> row) {
        for (size_t c = 0; c < row.size(); ++c) {
          const double square = double{row[c]} * row[c];
          rows[r] += square, cols[c] += square;
        }
        if (row_sketches != nullptr)
          SketchRow(row, at, &(*row_sketches)[r * kSketchDims]);
      }));
  row_sums->assign(rows.begin(), rows.end());
  col_sums->assign(cols.begin(), cols.end());
  return absl::OkStatus();
}

// A candidate reading of table tensor O in leak tensor `leak`: as stored or
// transposed, with rows or columns permuted; `r` is step 1's |correlation|.
struct Hypothesis {
  size_t leak = 0;
  bool transposed = false;
  AlignedAxis axis = AlignedAxis::kNone;
  double r = 0;
};

// The distinct rows (axis 0) or columns (1) of `elements` in a tensor of
// `cols` columns.
std::vector<uint64_t> Needed(const std::vector<uint64_t>& elements,
                             uint64_t cols, int axis) {
  std::vector<uint64_t> out;
  for (uint64_t e : elements) out.push_back(axis == 0 ? e / cols : e % cols);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Steps 2 and 3 of a hypothesis; `original_row_sketches` are the table
// tensor's (Profile), `leak_row_sketches` the leak tensor's if they were
// kept (else empty).
absl::StatusOr<std::optional<Alignment>> AlignAxis(
    const LeakFile& original, const TraceTensor& t,
    const Sketches& original_row_sketches, const LeakFile& leak,
    const TraceTensor& l, const Sketches& leak_row_sketches,
    const std::vector<uint64_t>& elements, const Hypothesis& h) {
  const int axis = h.axis == AlignedAxis::kRows ? 0 : 1;
  const int leak_axis = h.transposed ? 1 - axis : axis;  // as stored
  const std::vector<uint64_t> needed = Needed(elements, RowLength(t), axis);
  SketchPair s;
  if (axis == 0) {
    s.original = original_row_sketches;
  } else {
    MV_ASSIGN_OR_RETURN(s.original, SketchesOf(original, t, axis));
  }
  if (leak_axis == 0 && !leak_row_sketches.empty()) {
    s.leak = leak_row_sketches;
  } else {
    MV_ASSIGN_OR_RETURN(s.leak, SketchesOf(leak, l, leak_axis));
  }
  Normalize(&s.original), Normalize(&s.leak);
  std::map<uint64_t, std::vector<uint64_t>> candidates;
  std::vector<uint64_t> originals, leak_indices;
  for (uint64_t i : needed) {
    std::vector<uint64_t> js = SketchCandidates(s, i);
    if (js.empty()) continue;
    originals.push_back(i);
    leak_indices.insert(leak_indices.end(), js.begin(), js.end());
    candidates[i] = std::move(js);
  }
  std::sort(leak_indices.begin(), leak_indices.end());
  leak_indices.erase(std::unique(leak_indices.begin(), leak_indices.end()),
                     leak_indices.end());
  MV_ASSIGN_OR_RETURN(Vectors o, SampledVectors(original, t, axis, originals));
  MV_ASSIGN_OR_RETURN(Vectors v,
                      SampledVectors(leak, l, leak_axis, leak_indices));
  Alignment a{.axis = h.axis,
              .needed = needed.size(),
              .pairs = Verify(candidates, o, v),
              .pairing_correlation = h.r};
  if (a.pairs.size() < 2 || 2 * a.pairs.size() < needed.size())
    return std::nullopt;
  return a;
}

}  // namespace

const char* AlignedAxisName(AlignedAxis axis) {
  switch (axis) {
    case AlignedAxis::kRows:
      return "rows";
    case AlignedAxis::kColumns:
      return "columns";
    case AlignedAxis::kNone:
      break;
  }
  return "none";
}

const AlignedPair* Alignment::Find(uint64_t original) const {
  auto it = std::lower_bound(
      pairs.begin(), pairs.end(), original,
      [](const AlignedPair& p, uint64_t o) { return p.original < o; });
  if (it == pairs.end() || it->original != original) return nullptr;
  return &*it;
}

std::optional<uint64_t> Alignment::LeakIndex(uint64_t original) const {
  const AlignedPair* p = Find(original);
  if (p == nullptr) return std::nullopt;
  return p->leak;
}

Sha256Digest Alignment::PairsSha256() const {
  Sha256 sha;
  for (const AlignedPair& p : pairs) {
    char bytes[16];
    for (int b = 0; b < 8; ++b) {
      bytes[b] = static_cast<char>(p.original >> (8 * b));
      bytes[8 + b] = static_cast<char>(p.leak >> (8 * b));
    }
    sha.Update(std::string_view(bytes, sizeof bytes));
  }
  return sha.Finish();
}

ContentAligner::ContentAligner(const LeakFile& original, const LeakFile& leak,
                               const std::vector<TraceTensor>& leak_tensors)
    : original_(original), leak_(leak), leak_tensors_(leak_tensors) {}

absl::StatusOr<const ContentAligner::AxisSums*> ContentAligner::LeakSums(
    size_t l) {
  auto it = leak_sums_.find(l);
  if (it == leak_sums_.end()) {
    AxisSums sums;
    const uint64_t sketch_bytes =
        leak_tensors_[l].shape[0] * kSketchDims * sizeof(float);
    const bool keep = sketch_bytes_ + sketch_bytes <= kSketchCacheBytes;
    MV_RETURN_IF_ERROR(Profile(leak_, leak_tensors_[l], &sums.rows, &sums.cols,
                               keep ? &sums.row_sketches : nullptr));
    if (keep) sketch_bytes_ += sketch_bytes;
    it = leak_sums_.emplace(l, std::move(sums)).first;
  }
  return &it->second;
}

absl::StatusOr<std::optional<ContentAligner::Found>> ContentAligner::Align(
    const TraceTensor& t, const std::vector<uint64_t>& elements,
    const std::vector<size_t>& candidates) {
  if (t.shape.size() < 2 || !RowsReadable(t, original_.size()))
    return std::nullopt;
  const uint64_t rows = t.shape[0], cols = RowLength(t);
  const bool two_d = t.shape.size() == 2;
  // (leak tensor, transposed) that could hold `t`; the original is read
  // only if there is one (a partial leak leaves most tensors without).
  std::vector<std::pair<size_t, bool>> readings;
  for (size_t l : candidates) {
    const TraceTensor& lt = leak_tensors_[l];
    if (!RowsReadable(lt, leak_.size())) continue;
    if (lt.shape == t.shape) readings.push_back({l, false});
    if (two_d && lt.shape == std::vector<uint64_t>{cols, rows})
      readings.push_back({l, true});
  }
  if (readings.empty()) return std::nullopt;
  AxisSums o;
  Sketches row_sketches;
  MV_RETURN_IF_ERROR(Profile(original_, t, &o.rows, &o.cols, &row_sketches));
  std::vector<Hypothesis> tried;
  for (const auto& [l, transposed] : readings) {
    MV_ASSIGN_OR_RETURN(const AxisSums* sums, LeakSums(l));
    // The sums along the permuted axis, oriented as the original.
    const std::vector<float>& v_cols = transposed ? sums->rows : sums->cols;
    const std::vector<float>& v_rows = transposed ? sums->cols : sums->rows;
    if (rows >= 2 && cols >= kMinSampled) {
      const double r = std::fabs(Pearson(o.cols, v_cols));
      if (r >= kMinPairingCorrelation)
        tried.push_back({l, transposed, AlignedAxis::kRows, r});
    }
    if (two_d && rows >= kMinSampled && cols >= 2) {
      const double r = std::fabs(Pearson(o.rows, v_rows));
      if (r >= kMinPairingCorrelation)
        tried.push_back({l, transposed, AlignedAxis::kColumns, r});
    }
  }
  std::stable_sort(tried.begin(), tried.end(),
                   [](auto& a, auto& b) { return a.r > b.r; });
  if (tried.size() > kHypotheses) tried.resize(kHypotheses);
  for (const Hypothesis& h : tried) {
    MV_ASSIGN_OR_RETURN(
        std::optional<Alignment> a,
        AlignAxis(original_, t, row_sketches, leak_, leak_tensors_[h.leak],
                  leak_sums_.at(h.leak).row_sketches, elements, h));
    if (a) return Found{h.leak, h.transposed, *std::move(a)};
  }
  return std::nullopt;
}

}  // namespace mv
