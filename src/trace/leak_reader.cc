#include "trace/leak_reader.h"

#include <algorithm>
#include <cmath>

#include "common/status_macros.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "trace/element_codec.h"
#include "trace/ggml_dequant.h"
#include "trace/leak_file.h"

namespace mv {
namespace {

// Where a table tensor is read in the leak.
struct TensorMapping {
  int64_t leak_tensor = -1;  // index into the leak's tensors; -1: none
  ElementMap map;
  MatchedBy by = MatchedBy::kNone;
  Alignment alignment = {};  // pass 4's
};

// The element maps a mapping pass tries for a table tensor of `shape`.
using ElementMaps =
    std::vector<ElementMap> (*)(const std::vector<uint64_t>& shape);

std::vector<ElementMap> AsStored(const std::vector<uint64_t>&) { return {{}}; }

// The rewrites pass 3 undoes: llama.cpp's Q/K row order both ways, for every
// head count h for which it is defined (rows % 2h == 0) and moves rows (with
// half = 1 it is the identity, which the previous pass tried), and the
// transpose of a 2-D tensor. Divisors are enumerated up to the square root,
// so a tensor with millions of rows costs thousands of steps.
std::vector<ElementMap> Rewrites(const std::vector<uint64_t>& shape) {
  std::vector<ElementMap> out;
  if (shape.size() == 2) out.push_back({.transposed = true});
  if (shape.size() < 2 || shape[0] % 2 != 0) return out;
  const uint64_t pairs = shape[0] / 2;  // heads * half
  std::vector<uint64_t> heads;
  for (uint64_t d = 1; d * d <= pairs; ++d) {
    if (pairs % d != 0) continue;
    heads.push_back(d);
    heads.push_back(pairs / d);
  }
  std::sort(heads.begin(), heads.end());
  heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
  for (uint64_t h : heads) {
    if (pairs / h < 2) continue;
    out.push_back({.heads = h});
    out.push_back({.heads = h, .inverse = true});
  }
  return out;
}

// The shape a leak tensor holding an original of `shape` has under `map`.
std::vector<uint64_t> LeakShape(const std::vector<uint64_t>& shape,
                                ElementMap map) {
  if (!map.transposed) return shape;
  return {shape[1], shape[0]};
}

// The table entries of each table tensor.
std::vector<std::vector<size_t>> EntriesByTensor(const MarkTable& table) {
  std::vector<std::vector<size_t>> out(table.tensors.size());
  for (size_t i = 0; i < table.entries.size(); ++i) {
    out[table.entries[i].tensor].push_back(i);
  }
  return out;
}

bool Readable(const TraceTensor& t, const LeakFile& leak) {
  if (t.offset > leak.size() || t.length > leak.size() - t.offset) return false;
  if (t.quantized) {
    const GgmlTypeTraits& traits = GgmlTraits(*t.quantized);
    return t.NumElements() % traits.block_size == 0 &&
           t.length == t.NumElements() / traits.block_size * traits.type_size;
  }
  return t.dtype != MarkableType::kNotMarkable &&
         t.length == t.NumElements() * ElementBytes(t.dtype);
}

// Reads single elements of the leak. The first read error is kept and every
// later read gives zeros, so the matching arithmetic needs no error paths;
// ReadLeakValues returns the error at the end.
class ElementReader {
 public:
  explicit ElementReader(const LeakFile& leak) : leak_(leak) {}

  const LeakFile& file() const { return leak_; }
  const absl::Status& status() const { return status_; }

  // REQUIRES: Readable(t, file()); element < t.NumElements().
  LeakSample Sample(const TraceTensor& t, uint64_t element) const {
    if (t.quantized) return Dequantized(t, element);
    const uint32_t size = ElementBytes(t.dtype);
    char bytes[8] = {};
    if (status_.ok()) {
      status_.Update(
          leak_.ReadAt(t.offset + element * size, std::span(bytes, size)));
    }
    const uint32_t bits = LoadElementBits(t.dtype, bytes);
    return {true, t.dtype, bits, DecodeElement(t.dtype, bits)};
  }

  // The leak's value of a table entry's element (of an original of
  // `shape`), found through `map` and `alignment`; not present if its row
  // (column) was not aligned.
  LeakSample SampleEntry(const TraceTensor& t,
                         const std::vector<uint64_t>& shape, ElementMap map,
                         const Alignment& alignment, const MarkEntry& e) const {
    const std::optional<LeakElement> at =
        LeakElementOf(map, alignment, shape, e.element);
    if (!at) return {};
    LeakSample s = Sample(t, at->index);
    if (std::fabs(at->scale - 1) > kScaleTolerance) {
      s.value /= at->scale;
      s.dtype = MarkableType::kNotMarkable, s.bits = 0;
    }
    return s;
  }

 private:
  // Reads the element's whole block (at most 210 bytes, Q6_K).
  LeakSample Dequantized(const TraceTensor& t, uint64_t element) const {
    const GgmlTypeTraits& traits = GgmlTraits(*t.quantized);
    char block[256] = {};
    const std::span<char> bytes(block, traits.type_size);
    if (status_.ok()) {
      status_.Update(leak_.ReadAt(
          t.offset + element / traits.block_size * traits.type_size, bytes));
    }
    return {
        true, MarkableType::kNotMarkable, 0,
        DequantizeElement(*t.quantized, bytes,
                          static_cast<uint32_t>(element % traits.block_size))};
  }

  const LeakFile& leak_;
  mutable absl::Status status_;
};

// Pass 3 reads ~10 row orders of every candidate (one per head count). To keep
// that affordable when nothing matches (an unrelated model of the same
// architecture), it first correlates on a spread-out subset of about
// kScreeningEntries of a tensor's entries and reads the rest only when that
// subset clears kMinScreeningCorrelation. A true reading correlates ~1 on any
// subset; an unrelated one clears 0.5 on 16 entries ~2.5% of the time, so with
// a few dozen entries per tensor the pass reads a third to a half of them; a
// reading whose full correlation is just 0.9 fails the screen with
// probability ~4e-4 (both rates for Gaussian values, by simulation).
constexpr size_t kScreeningEntries = 16;
constexpr double kMinScreeningCorrelation = 0.5;

enum class Screening { kNone, kSubsetFirst };

constexpr double kMinNameCorrelation = 0.5;

// A leak's tensor names go into the signed report; the leaker chooses them.
constexpr size_t kMaxReportedName = 256;

// Running sums of a Pearson correlation; non-finite leak values are skipped.
class CorrelationSums {
 public:
  void Add(double x, double y) {
    if (!std::isfinite(y)) return;
    n_ += 1, sx_ += x, sy_ += y, sxx_ += x * x, syy_ += y * y, sxy_ += x * y;
  }
  // 0 when fewer than 2 pairs or either side is constant.
  double Value() const {
    if (n_ < 2) return 0;
    const double vx = sxx_ - sx_ * sx_ / n_, vy = syy_ - sy_ * sy_ / n_;
    if (vx <= 0 || vy <= 0) return 0;
    return (sxy_ - sx_ * sy_ / n_) / std::sqrt(vx * vy);
  }

 private:
  double n_ = 0, sx_ = 0, sy_ = 0, sxx_ = 0, syy_ = 0, sxy_ = 0;
};

// Maps table tensors to leak tensors, one pass at a time; a leak tensor is
// mapped to at most one table tensor.
class TensorMatcher {
 public:
  TensorMatcher(const MarkTable& table,
                const std::vector<std::vector<size_t>>& entries,
                const std::vector<TraceTensor>& leak_tensors,
                const ElementReader& leak)
      : table_(table),
        entries_(entries),
        leak_tensors_(leak_tensors),
        leak_(leak),
        mappings_(table.tensors.size()),
        used_(leak_tensors.size(), false) {}

  // A tensor of the same name is taken if its values at all the entries
  // correlate with the originals at least kMinNameCorrelation (screened
  // first); a permuted or unrelated tensor under the original's name is
  // left to the later passes. The bar is lower than kMinMappingCorrelation:
  // a name is some evidence, and a leak with a fifth of its rows zeroed
  // correlates ~0.89. An unrelated tensor with n entries reaches 0.5 with
  // probability ~exp(-n/3) (Gaussian values): never, past a few dozen.
  void ByName() {
    for (size_t t = 0; t < table_.tensors.size(); ++t) {
      for (size_t l = 0; l < leak_tensors_.size(); ++l) {
        if (!Available(t, l, {}) ||
            leak_tensors_[l].name != table_.tensors[t].name)
          continue;
        // (Fewer than two entries give no correlation: nothing to go on
        // but the name.)
        if (entries_[t].size() < 2 ||
            Correlation(t, leak_tensors_[l], {}, Screening::kSubsetFirst) >=
                kMinNameCorrelation)
          Map(t, {static_cast<int64_t>(l), {}, MatchedBy::kName});
        break;
      }
    }
  }

  // For each table tensor still unmapped: the available leak tensor and map
  // (among `maps`) whose values correlate best with the originals, if that
  // is at least kMinMappingCorrelation.
  void ByValues(ElementMaps maps, Screening screening, MatchedBy by) {
    for (size_t t = 0; t < table_.tensors.size(); ++t) {
      if (mappings_[t].leak_tensor >= 0) continue;
      const std::vector<ElementMap> tried = maps(table_.tensors[t].shape);
      double best = kMinMappingCorrelation;
      TensorMapping found;
      for (size_t l = 0; l < leak_tensors_.size(); ++l) {
        for (ElementMap map : tried) {
          if (!Available(t, l, map)) continue;
          const double r = Correlation(t, leak_tensors_[l], map, screening);
          if (r >= best) best = r, found = {static_cast<int64_t>(l), map, by};
        }
      }
      if (found.leak_tensor >= 0) Map(t, found);
    }
  }

  // Pass 4, for each table tensor still unmapped with at least two
  // entries: the leak tensor `aligner` finds its rows (columns) in by
  // content (align.h), if the values at the aligned entries then
  // correlate with the originals at least kMinMappingCorrelation.
  absl::Status ByContent(ContentAligner& aligner) {
    for (size_t t = 0; t < table_.tensors.size(); ++t) {
      if (mappings_[t].leak_tensor >= 0 || entries_[t].size() < 2) continue;
      std::vector<size_t> candidates;
      for (size_t l = 0; l < leak_tensors_.size(); ++l) {
        if (!used_[l]) candidates.push_back(l);
      }
      std::vector<uint64_t> elements;
      for (size_t i : entries_[t])
        elements.push_back(table_.entries[i].element);
      MV_ASSIGN_OR_RETURN(
          std::optional<ContentAligner::Found> found,
          aligner.Align(table_.tensors[t], elements, candidates));
      if (!found) continue;
      const ElementMap map{.transposed = found->transposed};
      if (Correlation(t, leak_tensors_[found->leak_tensor], map,
                      Screening::kNone,
                      found->alignment) < kMinMappingCorrelation)
        continue;
      Map(t, {static_cast<int64_t>(found->leak_tensor), map,
              MatchedBy::kContent, std::move(found->alignment)});
    }
    return absl::OkStatus();
  }

  const std::vector<TensorMapping>& mappings() const { return mappings_; }

 private:
  // Leak tensor `l` is unmapped and could hold table tensor `t` under `map`.
  bool Available(size_t t, size_t l, ElementMap map) const {
    return !used_[l] &&
           leak_tensors_[l].shape == LeakShape(table_.tensors[t].shape, map) &&
           Readable(leak_tensors_[l], leak_.file());
  }

  void Map(size_t t, TensorMapping m) {
    mappings_[t] = std::move(m);
    used_[m.leak_tensor] = true;
  }

  // |Pearson correlation| of table tensor `t`'s originals and the leak's
  // values at its entries, found in `candidate` through `map` (absolute: a
  // negated tensor is still the original's; the votes divide by its
  // slope). With kSubsetFirst, 0 if the screening subset (every stride-th
  // entry) correlates below kMinScreeningCorrelation.
  double Correlation(size_t t, const TraceTensor& candidate, ElementMap map,
                     Screening screening,
                     const Alignment& alignment = {}) const {
    const std::vector<size_t>& entries = entries_[t];
    const size_t stride = screening == Screening::kSubsetFirst
                              ? ScreeningStride(entries.size())
                              : 1;
    CorrelationSums sums;
    for (size_t k = 0; k < entries.size(); k += stride)
      AddEntry(t, entries[k], candidate, map, alignment, &sums);
    if (stride == 1) return std::fabs(sums.Value());  // all entries read
    if (std::fabs(sums.Value()) < kMinScreeningCorrelation) return 0;
    for (size_t k = 0; k < entries.size(); ++k) {
      if (k % stride != 0)
        AddEntry(t, entries[k], candidate, map, alignment, &sums);
    }
    return std::fabs(sums.Value());
  }

  static size_t ScreeningStride(size_t entries) {
    return std::max<size_t>(1, entries / kScreeningEntries);
  }

  void AddEntry(size_t t, size_t entry, const TraceTensor& candidate,
                ElementMap map, const Alignment& alignment,
                CorrelationSums* sums) const {
    const MarkEntry& e = table_.entries[entry];
    const LeakSample s = leak_.SampleEntry(candidate, table_.tensors[t].shape,
                                           map, alignment, e);
    if (s.present) sums->Add(DecodeElement(e.dtype, e.original_bits), s.value);
  }

  const MarkTable& table_;
  const std::vector<std::vector<size_t>>& entries_;
  const std::vector<TraceTensor>& leak_tensors_;
  const ElementReader& leak_;
  std::vector<TensorMapping> mappings_;  // per table tensor
  std::vector<bool> used_;               // per leak tensor
};

}  // namespace

const char* MatchedByName(MatchedBy by) {
  switch (by) {
    case MatchedBy::kName:
      return "name";
    case MatchedBy::kValues:
      return "values";
    case MatchedBy::kRewrite:
      return "rewrite";
    case MatchedBy::kContent:
      return "content";
    case MatchedBy::kNone:
      break;
  }
  return "none";
}

uint64_t LeakElementIndex(ElementMap map, const std::vector<uint64_t>& shape,
                          uint64_t element) {
  uint64_t row_length = 1;
  for (size_t d = 1; d < shape.size(); ++d) row_length *= shape[d];
  uint64_t row = element / row_length;
  const uint64_t column = element % row_length;
  if (map.heads != 0) {
    // Row head_start + j·half + i of one order is row head_start + 2·i + j
    // of the other.
    const uint64_t half = shape[0] / map.heads / 2;
    const uint64_t head_start = row - row % (2 * half), at = row % (2 * half);
    row = map.inverse ? head_start + at % 2 * half + at / 2
                      : head_start + 2 * (at % half) + at / half;
  }
  if (map.transposed) return column * shape[0] + row;
  return row * row_length + column;
}

std::optional<LeakElement> LeakElementOf(ElementMap map,
                                         const Alignment& alignment,
                                         const std::vector<uint64_t>& shape,
                                         uint64_t element) {
  if (alignment.axis == AlignedAxis::kNone)
    return LeakElement{LeakElementIndex(map, shape, element)};
  uint64_t columns = 1;
  for (size_t d = 1; d < shape.size(); ++d) columns *= shape[d];
  uint64_t row = element / columns, column = element % columns;
  uint64_t& moved = alignment.axis == AlignedAxis::kRows ? row : column;
  const AlignedPair* pair = alignment.Find(moved);
  if (pair == nullptr) return std::nullopt;
  moved = pair->leak;
  if (map.transposed) return LeakElement{column * shape[0] + row, pair->scale};
  return LeakElement{row * columns + column, pair->scale};
}

absl::StatusOr<LeakValues> ReadLeakValues(
    const MarkTable& table, const std::vector<TraceTensor>& leak_tensors,
    const LeakFile& leak, const LeakFile* original) {
  const std::vector<std::vector<size_t>> entries = EntriesByTensor(table);
  const ElementReader reader(leak);
  TensorMatcher matcher(table, entries, leak_tensors, reader);
  matcher.ByName();
  // Screened too: a leak whose tensors were permuted leaves every tensor
  // of a shape unmapped, and reading all entries of each against each
  // (from the sealed spool, a 4 KiB block per element) cost more than the
  // alignment that follows.
  matcher.ByValues(AsStored, Screening::kSubsetFirst, MatchedBy::kValues);
  matcher.ByValues(Rewrites, Screening::kSubsetFirst, MatchedBy::kRewrite);
  if (original != nullptr) {
    ContentAligner aligner(*original, leak, leak_tensors);
    MV_RETURN_IF_ERROR(matcher.ByContent(aligner));
  }
  LeakValues out;
  out.samples.resize(table.entries.size());
  out.matches.resize(table.tensors.size());
  for (size_t t = 0; t < table.tensors.size(); ++t) {
    const TensorMapping& m = matcher.mappings()[t];
    if (m.leak_tensor < 0) continue;
    const TraceTensor& leak_tensor = leak_tensors[m.leak_tensor];
    out.matches[t] = {m.by, leak_tensor.name.substr(0, kMaxReportedName), m.map,
                      m.alignment};
    ++out.tensors_mapped;
    if (m.map.heads != 0) ++out.tensors_row_permuted;
    if (m.map.transposed) ++out.tensors_transposed;
    if (m.alignment.axis != AlignedAxis::kNone) ++out.tensors_aligned;
    for (size_t i : entries[t]) {
      out.samples[i] = reader.SampleEntry(leak_tensor, table.tensors[t].shape,
                                          m.map, m.alignment, table.entries[i]);
    }
  }
  MV_RETURN_IF_ERROR(reader.status());
  return out;
}

absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        const LeakFile& leak,
                                        const LeakFile* original) {
  MV_ASSIGN_OR_RETURN(std::vector<TraceTensor> tensors, ParseLeakTensors(leak));
  return ReadLeakValues(table, tensors, leak, original);
}

absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        std::string_view leak,
                                        std::string_view original) {
  const MemoryLeakFile original_file(original);
  return ReadLeakFile(table, MemoryLeakFile(leak),
                      original.empty() ? nullptr : &original_file);
}

}  // namespace mv
