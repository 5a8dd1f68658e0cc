#include "trace/votes.h"

#include <algorithm>
#include <cmath>

#include "trace/element_codec.h"

namespace mv {
namespace {

constexpr double kWinsorSigmas = 4;  // Detection step 3
constexpr double kMinRobustScale = 0.25;

struct Fit {
  bool lossless = true;
  double alpha = 1, beta = 0;
};

double Original(const MarkEntry& e) {
  return DecodeElement(e.dtype, e.original_bits);
}
double Leaked(const LeakSample& s) { return s.value; }

// Judges tensor `t` on its present reference positions.
Fit FitTensor(const MarkTable& table, const LeakValues& leak, uint32_t t) {
  size_t present = 0, equal = 0;
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const MarkEntry& e = table.entries[i];
    const LeakSample& s = leak.samples[i];
    if (e.tensor != t || e.channel != MarkChannel::kReference || !s.present)
      continue;
    ++present;
    const double x = Original(e);
    // A quantized leak (no markable dtype) has no cast to compare with.
    if (s.dtype != MarkableType::kNotMarkable &&
        s.bits == CastToElement(s.dtype, static_cast<float>(x)))
      ++equal;
    const double y = Leaked(s);
    if (!std::isfinite(y)) continue;
    n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  Fit fit;
  if (present == 0 || equal >= kLosslessShare * present) return fit;
  fit.lossless = false;
  const double var = sxx - sx * sx / std::max(n, 1.0);
  if (n >= 2 && var > 0) {
    fit.alpha = (sxy - sx * sy / n) / var;
    fit.beta = (sy - fit.alpha * sx) / n;
  }
  return fit;
}

double Sign(double d) { return d > 0 ? 1 : (d < 0 ? -1 : 0); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  auto mid = values.begin() + values.size() / 2;
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

}  // namespace

const char* TraceModeName(TraceMode mode) {
  switch (mode) {
    case TraceMode::kLossless:
      return "lossless";
    case TraceMode::kSoft:
      return "soft";
    case TraceMode::kNoData:
      break;
  }
  return "no data";
}

Votes ComputeVotes(const MarkTable& table, const LeakValues& leak) {
  Votes votes;
  votes.v.assign(table.entries.size(), 0);
  votes.tensor_modes.assign(table.tensors.size(), TraceMode::kNoData);
  votes.tensor_present.assign(table.tensors.size(), 0);
  if (leak.samples.size() != table.entries.size()) return votes;  // no data
  std::vector<Fit> fits;
  for (uint32_t t = 0; t < table.tensors.size(); ++t) {
    fits.push_back(FitTensor(table, leak, t));
  }
  std::vector<bool> tensor_present(table.tensors.size(), false);
  std::vector<size_t> soft;  // entries voting by residual
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const MarkEntry& e = table.entries[i];
    const LeakSample& s = leak.samples[i];
    if (e.channel != MarkChannel::kTardos || !s.present) continue;
    ++votes.present;
    tensor_present[e.tensor] = true;
    ++votes.tensor_present[e.tensor];
    const double x = Original(e), y = Leaked(s);
    if (!std::isfinite(y)) continue;
    const Fit& fit = fits[e.tensor];
    if (fit.lossless) {
      const double cast =
          DecodeElement(s.dtype, CastToElement(s.dtype, static_cast<float>(x)));
      votes.v[i] = Sign(y - cast) * Sign(x);
    } else if (std::fabs(fit.alpha) >= kMinSoftAlpha) {
      // Divided by α: a mark of δ in x is α·δ in y, so a tensor scaled by
      // α (or negated) votes as its original would.
      votes.v[i] = (y - fit.alpha * x - fit.beta) /
                   (fit.alpha * kMarkUlps * UlpBf16(x)) * Sign(x);
      soft.push_back(i);
    }
  }
  if (!soft.empty()) {
    std::vector<double> r;
    for (size_t i : soft) r.push_back(votes.v[i]);
    const double center = Median(r);
    for (double& d : r) d = std::fabs(d - center);
    const double limit =
        kWinsorSigmas *
        std::max(kMinRobustScale, 1.4826 * Median(std::move(r)));
    for (size_t i : soft) votes.v[i] = std::clamp(votes.v[i], -limit, limit);
  }
  for (uint32_t t = 0; t < table.tensors.size(); ++t) {
    if (!tensor_present[t]) continue;
    if (!fits[t].lossless) ++votes.soft_tensors;
    votes.tensor_modes[t] =
        fits[t].lossless ? TraceMode::kLossless : TraceMode::kSoft;
  }
  if (votes.present > 0) {
    votes.mode =
        votes.soft_tensors > 0 ? TraceMode::kSoft : TraceMode::kLossless;
  }
  return votes;
}

}  // namespace mv
