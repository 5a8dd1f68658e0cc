#include "trace/plan.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numbers>
#include <string>
#include <utility>

#include "common/status_macros.h"
#include "trace/element_codec.h"

namespace mv {
namespace {

constexpr double kTardosCutoff = 0.01;  // t, Ingest step 4

// u in [0, 1) from 53 keystream bits.
double UnitInterval(uint64_t v) {
  return static_cast<double>(v >> 11) * 0x1p-53;
}

bool StraddlesChunk(uint64_t offset, uint32_t size, uint64_t chunk) {
  return offset / chunk != (offset + size - 1) / chunk;
}

}  // namespace

uint16_t TardosWeight(double u) {
  const double theta = std::asin(std::sqrt(kTardosCutoff));
  const double s = std::sin(theta + u * (std::numbers::pi / 2 - 2 * theta));
  const double scaled = std::round(s * s * 65536.0);
  return static_cast<uint16_t>(std::clamp(scaled, 1.0, 65535.0));
}

std::vector<uint64_t> AllocateQuotas(const std::vector<uint64_t>& sizes,
                                     uint64_t total) {
  std::vector<uint64_t> quotas(sizes.size(), 0);
  long double sum = 0;
  for (uint64_t s : sizes) sum += s;
  if (sum == 0) return quotas;
  std::vector<std::pair<long double, size_t>> remainders;
  uint64_t given = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const long double exact = total * (sizes[i] / sum);
    quotas[i] = std::min<uint64_t>(sizes[i], static_cast<uint64_t>(exact));
    given += quotas[i];
    remainders.push_back({exact - quotas[i], i});
  }
  std::stable_sort(
      remainders.begin(), remainders.end(),
      [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total && k < remainders.size(); ++k) {
    const size_t i = remainders[k].second;
    if (quotas[i] < sizes[i]) ++quotas[i], ++given;
  }
  return quotas;
}

absl::StatusOr<MarkPlanner> MarkPlanner::New(const TraceKeys& keys,
                                             std::vector<TraceTensor> tensors,
                                             uint64_t file_size,
                                             const PlanOptions& options) {
  if (options.storage_chunk_size == 0 || options.oversampling == 0) {
    return absl::InvalidArgumentError(
        "trace: chunk size and oversampling must be > 0");
  }
  for (const TraceTensor& t : tensors) {
    if (t.offset > file_size || t.length > file_size - t.offset) {
      return absl::InvalidArgumentError(
          "trace: a tensor lies outside the file");
    }
  }
  MV_ASSIGN_OR_RETURN(std::vector<size_t> eligible,
                      EligibleTensors(tensors, options.eligibility));
  MarkPlanner planner;
  planner.options_ = options;
  planner.file_size_ = file_size;
  std::vector<uint64_t> sizes;
  for (size_t i : eligible) {
    planner.tensors_.emplace_back();
    planner.tensors_.back().info = std::move(tensors[i]);
    sizes.push_back(planner.tensors_.back().info.NumElements());
  }
  const std::vector<uint64_t> tardos =
      AllocateQuotas(sizes, options.tardos_positions);
  const std::vector<uint64_t> reference =
      AllocateQuotas(sizes, options.reference_positions);
  for (size_t i = 0; i < planner.tensors_.size(); ++i) {
    planner.tensors_[i].tardos_quota = tardos[i];
    planner.tensors_[i].reference_quota = reference[i];
    DrawCandidates(keys, i, options.oversampling, &planner.tensors_[i]);
    planner.by_offset_.push_back(i);
  }
  std::sort(planner.by_offset_.begin(), planner.by_offset_.end(),
            [&](size_t a, size_t b) {
              return planner.tensors_[a].info.offset <
                     planner.tensors_[b].info.offset;
            });
  const std::string bias_stream = keys.Stream(
      TraceKeyPurpose::kBiases, 0, 8 * uint64_t{options.tardos_positions});
  for (uint32_t i = 0; i < options.tardos_positions; ++i) {
    planner.weights_.push_back(
        TardosWeight(UnitInterval(StreamU64(bias_stream, i))));
  }
  return planner;
}

void MarkPlanner::DrawCandidates(const TraceKeys& keys, uint64_t stream_id,
                                 uint32_t oversampling, Tensor* t) {
  const uint64_t numel = t->info.NumElements();
  const uint64_t n = std::min<uint64_t>(
      numel, oversampling * (t->tardos_quota + t->reference_quota) + 64);
  const std::string stream =
      keys.Stream(TraceKeyPurpose::kPositions, stream_id, 8 * n);
  // u64 mod numel: the bias is below numel / 2^64, far under anything a
  // tensor size makes measurable.
  for (uint64_t d = 0; d < n; ++d)
    t->draws.push_back(StreamU64(stream, d) % numel);
  t->candidates = t->draws;
  std::sort(t->candidates.begin(), t->candidates.end());
  t->candidates.erase(std::unique(t->candidates.begin(), t->candidates.end()),
                      t->candidates.end());
  t->values.assign(t->candidates.size(), 0);
}

namespace {

// F16 bits -> value, exactly as DecodeElement (256 KiB, built once).
const float* HalfTable() {
  static const float* table = [] {
    float* t = new float[65536];
    for (uint32_t h = 0; h < 65536; ++h) {
      t[h] = static_cast<float>(DecodeElement(MarkableType::kF16, h));
    }
    return t;
  }();
  return table;
}

// Σ x² over the finite elements of `n` little-endian elements at `src`,
// added to *sum in element order (so σ does not depend on piece sizes).
template <MarkableType kType>
void SumSquares(const char* src, uint64_t n, double* sum, uint64_t* finite) {
  double s = *sum;
  uint64_t count = 0;
  if constexpr (kType == MarkableType::kF32) {
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, src + 4 * i, 4);
      if ((bits & 0x7F800000u) == 0x7F800000u) continue;  // Inf or NaN
      const double x = std::bit_cast<float>(bits);
      s += x * x;
      ++count;
    }
  } else if constexpr (kType == MarkableType::kBF16) {
    for (uint64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, src + 2 * i, 2);
      if ((bits & 0x7F80u) == 0x7F80u) continue;
      const double x = std::bit_cast<float>(uint32_t{bits} << 16);
      s += x * x;
      ++count;
    }
  } else {
    const float* half = HalfTable();
    for (uint64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, src + 2 * i, 2);
      if ((bits & 0x7C00u) == 0x7C00u) continue;
      const double x = half[bits];
      s += x * x;
      ++count;
    }
  }
  *sum = s;
  *finite += count;
}

}  // namespace

void MarkPlanner::Take(size_t index, uint64_t element, uint64_t n,
                       const char* src) {
  Tensor& t = tensors_[index];
  const MarkableType type = t.info.dtype;
  switch (type) {
    case MarkableType::kF32:
      SumSquares<MarkableType::kF32>(src, n, &t.sum_squares, &t.finite_count);
      break;
    case MarkableType::kF16:
      SumSquares<MarkableType::kF16>(src, n, &t.sum_squares, &t.finite_count);
      break;
    case MarkableType::kBF16:
      SumSquares<MarkableType::kBF16>(src, n, &t.sum_squares, &t.finite_count);
      break;
    case MarkableType::kNotMarkable:
      return;
  }
  const uint32_t size = ElementBytes(type);
  while (t.cursor < t.candidates.size() &&
         t.candidates[t.cursor] < element + n) {
    const uint64_t e = t.candidates[t.cursor];  // >= element: file order
    t.values[t.cursor++] = LoadElementBits(type, src + (e - element) * size);
  }
}

absl::Status MarkPlanner::Feed(std::string_view piece) {
  if (finished_)
    return absl::FailedPreconditionError("trace: planner finished");
  if (piece.size() > file_size_ - fed_) {
    return absl::FailedPreconditionError(
        "trace: fed more bytes than the file has");
  }
  const uint64_t begin = fed_, end = fed_ + piece.size();
  uint64_t p = begin;
  while (p < end && scan_ < by_offset_.size()) {
    const size_t index = by_offset_[scan_];
    const TraceTensor& t = tensors_[index].info;
    const uint64_t t_end = t.offset + t.length;
    if (p >= t_end) {
      ++scan_;
      continue;
    }
    if (p < t.offset) {
      p = std::min(end, t.offset);
      continue;
    }
    const uint32_t size = ElementBytes(t.dtype);
    const uint64_t element = (p - t.offset) / size;
    const uint32_t within = (p - t.offset) % size;
    if (within != 0 || end - p < size) {  // an element split between pieces
      const uint32_t take = std::min<uint64_t>(size - within, end - p);
      std::copy_n(piece.data() + (p - begin), take, carry_ + within);
      p += take;
      if (within + take == size) Take(index, element, 1, carry_);
      continue;
    }
    const uint64_t n = std::min(end - p, t_end - p) / size;
    Take(index, element, n, piece.data() + (p - begin));
    p += n * size;
  }
  fed_ = end;
  return absl::OkStatus();
}

// Step 3: accept candidates in draw order, Tardos quota first.
void MarkPlanner::Select(size_t index, std::vector<MarkEntry>* out) const {
  const Tensor& t = tensors_[index];
  const uint32_t size = ElementBytes(t.info.dtype);
  std::vector<bool> chosen(t.candidates.size(), false);
  uint64_t tardos = 0, reference = 0;
  for (uint64_t element : t.draws) {
    if (tardos == t.tardos_quota && reference == t.reference_quota) break;
    const size_t k =
        std::lower_bound(t.candidates.begin(), t.candidates.end(), element) -
        t.candidates.begin();
    if (chosen[k]) continue;
    const uint32_t bits = t.values[k];
    const double magnitude = std::fabs(DecodeElement(t.info.dtype, bits));
    if (!(magnitude >= t.sigma && magnitude <= 3 * t.sigma))
      continue;  // NaN too
    if (!MarkedBits(t.info.dtype, bits, +1) ||
        !MarkedBits(t.info.dtype, bits, -1))
      continue;
    const uint64_t offset = t.info.offset + element * size;
    if (StraddlesChunk(offset, size, options_.storage_chunk_size)) continue;
    chosen[k] = true;
    const bool is_tardos = tardos < t.tardos_quota;
    (is_tardos ? tardos : reference)++;
    out->push_back(
        {.file_offset = offset,
         .tensor = static_cast<uint32_t>(index),
         .element = element,
         .dtype = t.info.dtype,
         .channel = is_tardos ? MarkChannel::kTardos : MarkChannel::kReference,
         .weight = 0,
         .original_bits = bits});
  }
}

absl::StatusOr<MarkTable> MarkPlanner::Finish() {
  if (finished_ || fed_ != file_size_) {
    return absl::FailedPreconditionError(
        "trace: the planner was not fed the whole file");
  }
  finished_ = true;
  for (Tensor& t : tensors_) {
    t.sigma =
        t.finite_count == 0 ? 0 : std::sqrt(t.sum_squares / t.finite_count);
  }
  MarkTable table;
  table.file_size = file_size_;
  for (size_t i = 0; i < tensors_.size(); ++i) Select(i, &table.entries);
  std::sort(table.entries.begin(), table.entries.end(),
            [](const MarkEntry& a, const MarkEntry& b) {
              return a.file_offset < b.file_offset;
            });
  size_t next_weight = 0;
  for (MarkEntry& e : table.entries) {
    if (e.channel == MarkChannel::kTardos) e.weight = weights_[next_weight++];
  }
  for (Tensor& t : tensors_) table.tensors.push_back(std::move(t.info));
  return table;
}

}  // namespace mv
