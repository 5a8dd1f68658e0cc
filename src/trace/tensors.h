// A format-neutral list of a model file's tensors and the MVFP-1 rule for
// which of them may carry marks (LEAK_TRACING.md, Ingest step 1).
//
// Built from a SafetensorsLayout or GgufLayout (src/formats/); everything
// downstream (plan.h, embed.h, detect.h) sees only TraceTensor.
//
// Pure functions and plain data; thread-safe.
#ifndef MODELVAULT_TRACE_TENSORS_H_
#define MODELVAULT_TRACE_TENSORS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/ggml_types.h"
#include "formats/gguf.h"
#include "formats/prefix_parse.h"
#include "formats/safetensors.h"

namespace mv {

struct TraceTensor {
  std::string name;
  MarkableType dtype = MarkableType::kNotMarkable;
  std::vector<uint64_t> shape;  // outermost first (GGUF dims reversed)
  uint64_t offset = 0;          // absolute byte offset in the file
  uint64_t length = 0;          // bytes
  // A GGUF tensor in a quantized type that ggml_dequant.h reads (dtype is
  // then kNotMarkable: never marked, but a leak may be read through it).
  std::optional<GgmlType> quantized = std::nullopt;

  uint64_t NumElements() const;  // product of shape; 1 for a scalar
  bool operator==(const TraceTensor&) const = default;
};

// Names that are never marked: embeddings and the output head (shared with
// tokenizers, often tied), norms, biases, scales and MoE routers/gates,
// where a 3% change of one weight is not negligible.
//
// The pattern is a '|'-separated list of literal substrings (the spec
// writes it as a regex alternation; no other regex syntax is supported):
// a name containing any alternative is excluded; an alternative "=NAME"
// excludes that whole name only. The default adds llama.cpp's GGUF names
// for the embedding and the output head to the spec's list: "token_embd"
// (which "embed" does not match) and "=output.weight" (a substring would
// also take every layer's attn_output.weight, the o_proj). Deliberately not
// std::regex: it recurses per character (a 70 KB tensor name would blow
// the stack) and trips GCC 12's -Wmaybe-uninitialized under sanitizers.
inline constexpr char kDefaultExcludedNames[] =
    "embed|lm_head|wte|wpe|norm|ln_|bias|scale|router|gate|token_embd|"
    "=output.weight";

// Weights have at most 4 dims; more are never marked (mark_table.h stores
// a u8 ndim).
inline constexpr size_t kMaxEligibleDims = 8;

struct EligibilityRule {
  std::string excluded_names = kDefaultExcludedNames;
  uint64_t min_elements = 65'536;
  size_t min_dims = 2;
};

// The tensors of a parsed file, in the layout's (offset) order.
std::vector<TraceTensor> TraceTensorsOf(const SafetensorsLayout& layout);
std::vector<TraceTensor> TraceTensorsOf(const GgufLayout& layout);

// Indices into `tensors` of the eligible ones, in sorted-name order (the
// order quotas and keystreams are assigned in, so it must not depend on the
// file's layout). INVALID_ARGUMENT if `rule.excluded_names` has an empty
// alternative (which would exclude everything).
absl::StatusOr<std::vector<size_t>> EligibleTensors(
    const std::vector<TraceTensor>& tensors, const EligibilityRule& rule = {});

}  // namespace mv

#endif  // MODELVAULT_TRACE_TENSORS_H_
