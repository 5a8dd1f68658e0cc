#include "trace/leak_reader.h"

#include <cmath>

#include "common/status_macros.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "trace/element_codec.h"

namespace mv {
namespace {

// The table entries of each table tensor.
std::vector<std::vector<size_t>> EntriesByTensor(const MarkTable& table) {
  std::vector<std::vector<size_t>> out(table.tensors.size());
  for (size_t i = 0; i < table.entries.size(); ++i) {
    out[table.entries[i].tensor].push_back(i);
  }
  return out;
}

bool Readable(const TraceTensor& t, std::string_view leak) {
  return t.dtype != MarkableType::kNotMarkable &&
         t.length == t.NumElements() * ElementBytes(t.dtype) &&
         t.offset <= leak.size() && t.length <= leak.size() - t.offset;
}

LeakSample Sample(const TraceTensor& t, std::string_view leak,
                  uint64_t element) {
  const uint32_t size = ElementBytes(t.dtype);
  return {true, t.dtype,
          LoadElementBits(t.dtype, leak.data() + t.offset + element * size)};
}

// Pearson correlation of the originals and the leak's values at `entries`.
double Correlation(const MarkTable& table, const std::vector<size_t>& entries,
                   const TraceTensor& candidate, std::string_view leak) {
  double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (size_t i : entries) {
    const MarkEntry& e = table.entries[i];
    const double x = DecodeElement(e.dtype, e.original_bits);
    const LeakSample s = Sample(candidate, leak, e.element);
    const double y = DecodeElement(s.dtype, s.bits);
    if (!std::isfinite(y)) continue;
    n += 1, sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
  }
  if (n < 2) return 0;
  const double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
  if (vx <= 0 || vy <= 0) return 0;
  return (sxy - sx * sy / n) / std::sqrt(vx * vy);
}

}  // namespace

LeakValues ReadLeakValues(const MarkTable& table,
                          const std::vector<TraceTensor>& leak_tensors,
                          std::string_view leak) {
  LeakValues out;
  out.samples.resize(table.entries.size());
  const std::vector<std::vector<size_t>> entries = EntriesByTensor(table);
  std::vector<bool> used(leak_tensors.size(), false);
  std::vector<int64_t> mapping(table.tensors.size(), -1);
  for (size_t t = 0; t < table.tensors.size(); ++t) {  // by name
    for (size_t l = 0; l < leak_tensors.size(); ++l) {
      const TraceTensor& c = leak_tensors[l];
      if (!used[l] && c.name == table.tensors[t].name &&
          c.shape == table.tensors[t].shape && Readable(c, leak)) {
        mapping[t] = l, used[l] = true;
        break;
      }
    }
  }
  for (size_t t = 0; t < table.tensors.size(); ++t) {  // by shape + values
    if (mapping[t] >= 0) continue;
    double best = kMinMappingCorrelation;
    for (size_t l = 0; l < leak_tensors.size(); ++l) {
      const TraceTensor& c = leak_tensors[l];
      if (used[l] || c.shape != table.tensors[t].shape || !Readable(c, leak))
        continue;
      const double r = Correlation(table, entries[t], c, leak);
      if (r >= best) best = r, mapping[t] = l;
    }
    if (mapping[t] >= 0) used[mapping[t]] = true;
  }
  for (size_t t = 0; t < table.tensors.size(); ++t) {
    if (mapping[t] < 0) continue;
    ++out.tensors_mapped;
    for (size_t i : entries[t]) {
      out.samples[i] =
          Sample(leak_tensors[mapping[t]], leak, table.entries[i].element);
    }
  }
  return out;
}

absl::StatusOr<LeakValues> ReadLeakFile(const MarkTable& table,
                                        std::string_view leak) {
  std::vector<TraceTensor> tensors;
  if (leak.substr(0, 4) == "GGUF") {
    MV_ASSIGN_OR_RETURN(GgufLayout layout, ParseGguf(leak));
    tensors = TraceTensorsOf(layout);
  } else {
    MV_ASSIGN_OR_RETURN(SafetensorsLayout layout, ParseSafetensors(leak));
    tensors = TraceTensorsOf(layout);
  }
  return ReadLeakValues(table, tensors, leak);
}

}  // namespace mv
