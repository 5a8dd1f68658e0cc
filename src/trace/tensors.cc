#include "trace/tensors.h"

#include <algorithm>
#include <string_view>

#include "trace/element_codec.h"
#include "trace/ggml_dequant.h"

namespace mv {

uint64_t TraceTensor::NumElements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // the parsers rejected overflow
  return n;
}

std::vector<TraceTensor> TraceTensorsOf(const SafetensorsLayout& layout) {
  std::vector<TraceTensor> out;
  out.reserve(layout.tensors.size());
  for (const SafetensorsTensor& t : layout.tensors) {
    out.push_back(
        {t.name, MarkableTypeOf(t.dtype), t.shape, t.offset, t.length});
  }
  return out;
}

std::vector<TraceTensor> TraceTensorsOf(const GgufLayout& layout) {
  std::vector<TraceTensor> out;
  out.reserve(layout.tensors.size());
  for (const GgufTensor& t : layout.tensors) {
    std::optional<GgmlType> quantized;
    if (CanDequantize(t.type)) quantized = t.type;
    out.push_back({t.name, MarkableTypeOf(t.type), t.shape, t.offset, t.length,
                   quantized});
  }
  return out;
}

absl::StatusOr<std::vector<size_t>> EligibleTensors(
    const std::vector<TraceTensor>& tensors, const EligibilityRule& rule) {
  std::vector<std::string_view> excluded;
  for (std::string_view rest = rule.excluded_names;;) {
    const size_t bar = rest.find('|');
    excluded.push_back(rest.substr(0, bar));
    if (excluded.back().empty() || excluded.back() == "=") {
      return absl::InvalidArgumentError(
          "trace: the excluded tensor name pattern has an empty alternative");
    }
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  auto is_excluded = [&](const std::string& name) {
    return std::any_of(excluded.begin(), excluded.end(),
                       [&](std::string_view e) {
                         if (e.starts_with('=')) return name == e.substr(1);
                         return name.find(e) != std::string::npos;
                       });
  };
  std::vector<size_t> out;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TraceTensor& t = tensors[i];
    if (t.dtype == MarkableType::kNotMarkable) continue;
    if (t.shape.size() < rule.min_dims || t.shape.size() > kMaxEligibleDims)
      continue;
    if (t.NumElements() < rule.min_elements) continue;
    if (t.length != t.NumElements() * ElementBytes(t.dtype)) continue;
    if (is_excluded(t.name)) continue;
    out.push_back(i);
  }
  std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
    return tensors[a].name < tensors[b].name;
  });
  return out;
}

}  // namespace mv
