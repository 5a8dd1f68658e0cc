// Synthetic safetensors models and the leaks the trace tests build from
// them (LEAK_TRACING.md, "What it must survive"): casts, noise, partial
// copies, colluder averages and majority votes, GGUF re-exports (llama.cpp's
// conversion included). Values are Gaussian with a fixed seed. Header-only;
// not thread-safe.
#ifndef MODELVAULT_TESTS_SRC_TRACE_TRACE_TEST_MODELS_H_
#define MODELVAULT_TESTS_SRC_TRACE_TRACE_TEST_MODELS_H_

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "src/formats/format_builders.h"
#include "src/trace/ggml_quantize.h"
#include "trace/element_codec.h"
#include "trace/embed.h"
#include "trace/mark_table.h"
#include "trace/plan.h"

namespace mvtesting {

using mv::MarkableType;

// A model as a list of tensors with their raw bytes.
struct ModelTensor {
  std::string name, dtype;
  std::vector<uint64_t> shape;
  std::string data;
};
using Model = std::vector<ModelTensor>;

inline MarkableType TypeOf(const std::string& dtype) {
  if (dtype == "F32") return MarkableType::kF32;
  if (dtype == "F16") return MarkableType::kF16;
  if (dtype == "BF16") return MarkableType::kBF16;
  return MarkableType::kNotMarkable;
}

inline std::string Encode(const std::vector<float>& values, MarkableType type) {
  std::string out(values.size() * mv::ElementBytes(type), '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    mv::StoreElementBits(type, mv::CastToElement(type, values[i]),
                         out.data() + i * mv::ElementBytes(type));
  }
  return out;
}

inline std::vector<float> Gaussian(size_t n, float sigma, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, sigma);
  std::vector<float> out(n);
  for (float& v : out) v = normal(rng);
  return out;
}

// Appends tensor `name` of `dtype` and `shape`, with Gaussian weights
// (σ = 0.02) drawn from `seed`.
inline void AddGaussianTensor(Model& m, std::string name,
                              const std::string& dtype,
                              std::vector<uint64_t> shape, uint64_t seed) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  m.push_back({std::move(name), dtype, shape,
               Encode(Gaussian(n, 0.02f, seed), TypeOf(dtype))});
}

// Ten eligible 256x256 tensors plus ones the rule must skip: excluded
// names (embed, norm, gate, bias), a tiny one, a 1-D one and an I32 one.
inline Model SyntheticModel(const std::string& dtype, uint64_t seed) {
  Model m;
  auto add = [&](std::string name, std::vector<uint64_t> shape) {
    AddGaussianTensor(m, std::move(name), dtype, std::move(shape), seed++);
  };
  add("model.embed_tokens.weight", {256, 512});
  for (int i = 0; i < 10; ++i) {
    add("model.layers." + std::to_string(i) + ".mlp.up_proj.weight",
        {256, 256});
  }
  add("model.layers.0.mlp.gate_proj.weight", {256, 256});
  add("model.layers.0.input_layernorm.weight", {256});
  add("model.layers.0.self_attn.q_proj.bias", {256, 256});
  add("tiny.weight", {16, 16});
  add("flat.weight", {70'000});
  m.push_back({"position_ids", "I32", {64}, PatternBytes(256, 3)});
  return m;
}

inline std::string Build(const Model& m) {
  SafetensorsBuilder b;
  for (const ModelTensor& t : m) b.Tensor(t.name, t.dtype, t.shape, t.data);
  return b.Build();
}

inline Model Parse(const std::string& file) {
  auto layout = mv::ParseSafetensors(file);
  Model m;
  if (!layout.ok()) return m;
  for (const mv::SafetensorsTensor& t : layout->tensors) {
    m.push_back({t.name, std::string(mv::SafetensorsDtypeName(t.dtype)),
                 t.shape, file.substr(t.offset, t.length)});
  }
  return m;
}

// The values of a markable tensor.
inline std::vector<float> Values(const ModelTensor& t) {
  const MarkableType type = TypeOf(t.dtype);
  std::vector<float> values(t.data.size() / mv::ElementBytes(type));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(mv::DecodeElement(
        type,
        mv::LoadElementBits(type, t.data.data() + i * mv::ElementBytes(type))));
  }
  return values;
}

// Applies f(values) to every markable tensor, re-encoding as `to` (or the
// tensor's own dtype when `to` is empty).
inline std::string Transform(
    const std::string& file, const std::string& to,
    const std::function<void(std::vector<float>*)>& f) {
  Model m = Parse(file);
  for (ModelTensor& t : m) {
    if (TypeOf(t.dtype) == MarkableType::kNotMarkable) continue;
    std::vector<float> values = Values(t);
    f(&values);
    if (!to.empty()) t.dtype = to;
    t.data = Encode(values, TypeOf(t.dtype));
  }
  return Build(m);
}

inline std::string Cast(const std::string& file, const std::string& to) {
  return Transform(file, to, [](std::vector<float>*) {});
}

// Adds N(0, (scale · k · ulp_bf16(x))²) to every value: scale 0.5 is noise
// of half the mark size.
inline std::string AddNoise(const std::string& file, double scale,
                            uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  return Transform(file, "", [&](std::vector<float>* values) {
    for (float& v : *values) {
      v = static_cast<float>(v + normal(rng) * scale * mv::kMarkUlps *
                                     mv::UlpBf16(v));
    }
  });
}

// Elementwise combination of same-layout copies.
inline std::string Combine(
    const std::vector<std::string>& files,
    const std::function<float(const std::vector<float>&)>& f) {
  std::vector<Model> models;
  for (const std::string& file : files) models.push_back(Parse(file));
  Model out = models[0];
  for (size_t t = 0; t < out.size(); ++t) {
    const MarkableType type = TypeOf(out[t].dtype);
    if (type == MarkableType::kNotMarkable) continue;
    const uint32_t size = mv::ElementBytes(type);
    std::vector<float> values(out[t].data.size() / size), at(files.size());
    for (size_t i = 0; i < values.size(); ++i) {
      for (size_t c = 0; c < files.size(); ++c) {
        at[c] = static_cast<float>(mv::DecodeElement(
            type,
            mv::LoadElementBits(type, models[c][t].data.data() + i * size)));
      }
      values[i] = f(at);
    }
    out[t].data = Encode(values, type);
  }
  return Build(out);
}

inline std::string Average(const std::vector<std::string>& files) {
  return Combine(files, [](const std::vector<float>& v) {
    double sum = 0;
    for (float x : v) sum += x;
    return static_cast<float>(sum / v.size());
  });
}

// The value most copies agree on (the first copy's when none agree).
inline std::string Majority(const std::vector<std::string>& files) {
  return Combine(files, [](const std::vector<float>& v) {
    for (size_t i = 0; i < v.size(); ++i) {
      int agree = 0;
      for (float x : v) agree += x == v[i];
      if (2 * agree > static_cast<int>(v.size())) return v[i];
    }
    return v[0];
  });
}

// Keeps only the tensors `keep` accepts (a partial leak).
inline std::string KeepTensors(
    const std::string& file,
    const std::function<bool(const ModelTensor&)>& keep) {
  Model out;
  for (ModelTensor& t : Parse(file)) {
    if (keep(t)) out.push_back(std::move(t));
  }
  return Build(out);
}

// `file` (safetensors) re-exported as GGUF with llama.cpp-style names
// ("blk.N.<k>"), dims innermost first, F32/F16 only (others dropped).
inline std::string ToGguf(const std::string& file) {
  GgufBuilder b;
  int k = 0;
  for (const ModelTensor& t : Parse(file)) {
    const uint32_t type = t.dtype == "F32" ? 0 : (t.dtype == "F16" ? 1 : 99);
    if (type == 99) continue;
    std::vector<uint64_t> dims(t.shape.rbegin(), t.shape.rend());
    b.Tensor("blk." + std::to_string(k++) + ".w", type, dims, t.data);
  }
  return b.Build();
}

// Attention heads of LlamaModel are this many rows of q_proj/k_proj.
inline constexpr uint64_t kLlamaHeadDim = 64;

// A small llama-style model (hidden size 512, 8 query heads of 64): token
// embedding, final norm and 3 layers of input norm and q/k/v/o projections.
// Layer 0 has 8 K/V heads, so Q, K, V and O all share a shape; layers 1 and
// 2 use grouped-query attention with 2 K/V heads ([128, 512] K and V). Real
// models use one K/V head count throughout; mixing them tests both here.
// Eligible: the 12 projections. With `mlp_rows`, each layer also has an
// MLP of that many hidden units (gate_proj, up_proj [mlp_rows, 512] and
// down_proj [512, mlp_rows]; gate_proj is never marked).
inline Model LlamaModel(const std::string& dtype, uint64_t seed,
                        uint64_t mlp_rows = 0) {
  Model m;
  auto add = [&](std::string name, std::vector<uint64_t> shape) {
    AddGaussianTensor(m, std::move(name), dtype, std::move(shape), seed++);
  };
  add("model.embed_tokens.weight", {64, 512});
  for (int i = 0; i < 3; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    const uint64_t kv_rows = (i == 0 ? 8 : 2) * kLlamaHeadDim;
    add(layer + "input_layernorm.weight", {512});
    add(layer + "self_attn.q_proj.weight", {512, 512});
    add(layer + "self_attn.k_proj.weight", {kv_rows, 512});
    add(layer + "self_attn.v_proj.weight", {kv_rows, 512});
    add(layer + "self_attn.o_proj.weight", {512, 512});
    if (mlp_rows == 0) continue;
    add(layer + "mlp.gate_proj.weight", {mlp_rows, 512});
    add(layer + "mlp.up_proj.weight", {mlp_rows, 512});
    add(layer + "mlp.down_proj.weight", {512, mlp_rows});
  }
  add("model.norm.weight", {512});
  return m;
}

// llama.cpp's GGUF name for a Hugging Face llama tensor name.
// Hugging Face llama name pieces and llama.cpp's GGUF names for them.
inline constexpr std::pair<std::string_view, std::string_view>
    kLlamaCppRenames[] = {{"model.embed_tokens.", "token_embd."},
                          {"model.norm.", "output_norm."},
                          {"model.layers.", "blk."},
                          {".input_layernorm.", ".attn_norm."},
                          {".self_attn.q_proj.", ".attn_q."},
                          {".self_attn.k_proj.", ".attn_k."},
                          {".self_attn.v_proj.", ".attn_v."},
                          {".self_attn.o_proj.", ".attn_output."}};

// `name` with each piece the table names replaced (`back`: the other way).
inline std::string RenameLlama(std::string name, bool back) {
  for (auto [from, to] : kLlamaCppRenames) {
    if (back) std::swap(from, to);
    const size_t at = name.find(from);
    if (at != std::string::npos) name.replace(at, from.size(), to);
  }
  return name;
}

inline std::string LlamaCppName(std::string name) {
  return RenameLlama(std::move(name), false);
}

// convert_hf_to_gguf.py's permute(w, n_head, n_head_kv) as numpy evaluates
// it: w.reshape(n_head, 2, half, *rest) has row strides (2·half, half, 1);
// .swapaxes(1, 2) views it as (n_head, half, 2) with row strides
// (2·half, 1, half); .reshape(w.shape) copies that view in C order. For
// each row of the result, the row of w it holds.
inline std::vector<uint64_t> NumpyPermuteSourceRows(uint64_t rows,
                                                    uint64_t n_head) {
  const uint64_t half = rows / n_head / 2;
  std::vector<uint64_t> source;
  for (uint64_t a = 0; a < n_head; ++a) {
    for (uint64_t b = 0; b < half; ++b) {
      for (uint64_t c = 0; c < 2; ++c)
        source.push_back(a * 2 * half + b * 1 + c * half);
    }
  }
  return source;
}

// `values` (whole rows) with row r of the result taken from row source[r].
inline std::vector<float> PermuteRowValues(
    const std::vector<float>& values, const std::vector<uint64_t>& source) {
  const size_t row = values.size() / source.size();
  std::vector<float> out;
  out.reserve(values.size());
  for (uint64_t r : source) {
    const auto first = values.begin() + static_cast<std::ptrdiff_t>(r * row);
    out.insert(out.end(), first, first + static_cast<std::ptrdiff_t>(row));
  }
  return out;
}

// The GGUF type id and bytes of `values` as `dtype`: "F32", "F16" or what
// llama-quantize writes, "Q8_0" and "Q4_K" (ggml_quantize.h).
inline std::pair<uint32_t, std::string> EncodeGgml(
    const std::vector<float>& values, const std::string& dtype) {
  if (dtype == "Q8_0") return {8, QuantizeQ8_0(values)};
  if (dtype == "Q4_K") return {12, QuantizeQ4_K(values)};
  return {dtype == "F32" ? 0 : 1, Encode(values, TypeOf(dtype))};
}

// `file` (safetensors with Hugging Face llama names) converted the way
// llama.cpp's convert_hf_to_gguf.py does it: GGUF names, q_proj/k_proj rows
// permuted with rows / head_dim heads (n_head for Q, n_head_kv for K; rows
// left in place if head_dim is 0), tensors of >= 2 dims written as `outtype`
// ("F32", "F16", or quantized as llama-quantize does: "Q8_0", "Q4_K"), 1-D
// ones as F32, dims innermost first.
inline std::string ToLlamaCppGguf(const std::string& file, uint64_t head_dim,
                                  const std::string& outtype) {
  GgufBuilder b;
  for (const ModelTensor& t : Parse(file)) {
    const std::string dtype = t.shape.size() >= 2 ? outtype : "F32";
    std::vector<float> values = Values(t);
    const bool permuted = t.name.find(".q_proj.") != std::string::npos ||
                          t.name.find(".k_proj.") != std::string::npos;
    if (permuted && head_dim != 0) {
      values = PermuteRowValues(
          values, NumpyPermuteSourceRows(t.shape[0], t.shape[0] / head_dim));
    }
    const auto [type, data] = EncodeGgml(values, dtype);
    std::vector<uint64_t> dims(t.shape.rbegin(), t.shape.rend());
    b.Tensor(LlamaCppName(t.name), type, dims, data);
  }
  return b.Build();
}

// A GGUF made by ToLlamaCppGguf (F32 or F16) converted back to Hugging Face
// safetensors (as F32): names back, Q/K rows back in Hugging Face's order
// (rows / head_dim heads), dims outermost first. What a leaker does to use
// a GGUF download with transformers.
inline std::string FromLlamaCppGguf(const std::string& gguf,
                                    uint64_t head_dim) {
  auto layout = mv::ParseGguf(gguf);
  Model out;
  if (!layout.ok()) return Build(out);
  for (const mv::GgufTensor& t : layout->tensors) {
    const std::string name = RenameLlama(t.name, /*back=*/true);
    const std::string dtype = t.type == mv::GgmlType::kF32 ? "F32" : "F16";
    std::vector<float> values =
        Values({name, dtype, t.shape, gguf.substr(t.offset, t.length)});
    if (name.find(".q_proj.") != std::string::npos ||
        name.find(".k_proj.") != std::string::npos) {
      // GGUF row r holds Hugging Face row source[r]: put each back.
      const std::vector<uint64_t> source =
          NumpyPermuteSourceRows(t.shape[0], t.shape[0] / head_dim);
      const size_t row = values.size() / t.shape[0];
      std::vector<float> back(values.size());
      for (size_t r = 0; r < source.size(); ++r) {
        std::copy_n(
            values.begin() + static_cast<std::ptrdiff_t>(r * row), row,
            back.begin() + static_cast<std::ptrdiff_t>(source[r] * row));
      }
      values = std::move(back);
    }
    out.push_back({name, "F32", t.shape, Encode(values, MarkableType::kF32)});
  }
  return Build(out);
}

// `file` (safetensors with Hugging Face llama names) rewritten as a GPT-2
// style checkpoint: every 2-D tensor transposed ([in, out], as Conv1D
// stores it) and the projections renamed transformer.h.N.attn.c_q/c_k/c_v/
// c_proj. The model computes the same function; only where elements lie
// and what they are called changed.
inline std::string ToGpt2Conv1d(const std::string& file) {
  static constexpr std::pair<std::string_view, std::string_view> kRenames[] = {
      {"model.layers.", "transformer.h."},
      {".self_attn.q_proj.", ".attn.c_q."},
      {".self_attn.k_proj.", ".attn.c_k."},
      {".self_attn.v_proj.", ".attn.c_v."},
      {".self_attn.o_proj.", ".attn.c_proj."}};
  Model out;
  for (ModelTensor t : Parse(file)) {
    for (const auto& [from, to] : kRenames) {
      const size_t at = t.name.find(from);
      if (at != std::string::npos) t.name.replace(at, from.size(), to);
    }
    if (t.shape.size() == 2) {
      const std::vector<float> values = Values(t);
      const uint64_t rows = t.shape[0], cols = t.shape[1];
      std::vector<float> transposed(values.size());
      for (uint64_t r = 0; r < rows; ++r) {
        for (uint64_t c = 0; c < cols; ++c)
          transposed[c * rows + r] = values[r * cols + c];
      }
      t.shape = {cols, rows};
      t.data = Encode(transposed, TypeOf(t.dtype));
    }
    out.push_back(std::move(t));
  }
  return Build(out);
}

// The table of `file`, fed to the planner (one pass) in pieces of `piece`
// bytes.
inline absl::StatusOr<mv::MarkTable> PlanInPieces(
    const mv::TraceKeys& keys, const std::string& file, size_t piece,
    const mv::PlanOptions& options = {}) {
  std::vector<mv::TraceTensor> tensors;
  if (file.starts_with("GGUF")) {
    auto layout = mv::ParseGguf(file);
    if (!layout.ok()) return layout.status();
    tensors = mv::TraceTensorsOf(*layout);
  } else {
    auto layout = mv::ParseSafetensors(file);
    if (!layout.ok()) return layout.status();
    tensors = mv::TraceTensorsOf(*layout);
  }
  auto planner =
      mv::MarkPlanner::New(keys, std::move(tensors), file.size(), options);
  if (!planner.ok()) return planner.status();
  for (size_t at = 0; at < file.size(); at += piece) {
    absl::Status s = planner->Feed(std::string_view(file).substr(at, piece));
    if (!s.ok()) return s;
  }
  return planner->Finish();
}

// `file` as download `code` receives it, marked in pieces of `piece` bytes.
inline std::string MarkInPieces(const mv::MarkTable& table,
                                const mv::DownloadCode& code,
                                const std::string& file, size_t piece) {
  std::string out;
  for (size_t at = 0; at < file.size(); at += piece) {
    std::string bytes = file.substr(at, piece);
    if (!mv::ApplyMarks(table, code, at, &bytes).ok()) return "";
    out += bytes;
  }
  return out;
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SRC_TRACE_TRACE_TEST_MODELS_H_
