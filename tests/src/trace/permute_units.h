// The rewrite a leaker who knows the fingerprinting scheme tries first:
// permuting the hidden units of every layer, which moves rows and columns
// and keeps the model's function (issue [trace-structure]). Header-only;
// not thread-safe.
#ifndef MODELVAULT_TESTS_SRC_TRACE_PERMUTE_UNITS_H_
#define MODELVAULT_TESTS_SRC_TRACE_PERMUTE_UNITS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "src/trace/trace_test_models.h"

namespace mvtesting {

inline std::vector<uint64_t> RandomPermutation(uint64_t n,
                                               std::mt19937_64& rng) {
  std::vector<uint64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

// `values` of a [rows, cols] tensor with row r of the result taken from
// row from[r] (from.size() == rows), or column c from column from[c]
// (`columns`; from.size() == cols).
inline std::vector<float> Permuted(const std::vector<float>& values,
                                   uint64_t rows, uint64_t cols,
                                   const std::vector<uint64_t>& from,
                                   bool columns) {
  std::vector<float> out(values.size());
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t c = 0; c < cols; ++c) {
      out[r * cols + c] =
          columns ? values[r * cols + from[c]] : values[from[r] * cols + c];
    }
  }
  return out;
}

// A permutation of n = blocks · block_size indices that applies the same
// random order `within` inside every block of `block_size`.
inline std::vector<uint64_t> WithinBlocks(uint64_t n, uint64_t block_size,
                                          const std::vector<uint64_t>& within) {
  std::vector<uint64_t> p(n);
  for (uint64_t i = 0; i < n; ++i)
    p[i] = i - i % block_size + within[i % block_size];
  return p;
}

// `file` (LlamaModel, safetensors) with the hidden units of every layer
// permuted, each layer its own way, consistently across the tensors that
// share them, so the model computes the same function:
//  - the MLP's units: rows of gate_proj and up_proj, columns of down_proj;
//  - each attention head's dims for Q·K (the same order in every head of
//    q_proj and k_proj: the dot products are unchanged);
//  - each head's value dims: rows of v_proj within every head, and the
//    columns of o_proj within every head's block.
// Everything else is left as it was. With `rescale`, each unit is also
// multiplied by a random factor ±[0.5, 2] where it is produced (up_proj,
// q_proj, v_proj rows) and divided by it where it is consumed (down_proj,
// o_proj columns; k_proj rows), which keeps the function too (gate_proj's
// SiLU is not scale-equivariant, so it is left unscaled).
inline std::string PermuteHiddenUnits(const std::string& file, uint64_t seed,
                                      uint64_t head_dim = kLlamaHeadDim,
                                      bool rescale = false) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::vector<uint64_t>> mlp, qk, v;  // per layer
  std::map<std::string, std::vector<float>> factors;  // per layer and kind
  Model m = Parse(file);
  for (ModelTensor& t : m) {
    if (t.shape.size() != 2 || !t.name.starts_with("model.layers.")) continue;
    const std::string layer = t.name.substr(0, t.name.find('.', 13));
    const uint64_t rows = t.shape[0], cols = t.shape[1];
    auto order = [&](std::map<std::string, std::vector<uint64_t>>& per_layer,
                     uint64_t n) -> const std::vector<uint64_t>& {
      auto it = per_layer.find(layer);
      if (it == per_layer.end())
        it = per_layer.emplace(layer, RandomPermutation(n, rng)).first;
      return it->second;
    };
    std::vector<uint64_t> from;
    bool columns = false;
    // The factor of each unit of `kind` in this layer, drawn once.
    auto factor = [&](const std::string& kind, uint64_t n) {
      std::vector<float>& f = factors[layer + kind];
      std::uniform_real_distribution<float> magnitude(0.5f, 2.0f);
      while (f.size() < n)
        f.push_back(magnitude(rng) * (rng() % 2 ? 1.0f : -1.0f));
      return f;
    };
    std::vector<float> scale;  // per row or column of the result; empty: 1
    const bool produces = !t.name.ends_with("gate_proj.weight");
    if (t.name.ends_with("gate_proj.weight") ||
        t.name.ends_with("up_proj.weight")) {
      from = order(mlp, rows);
    } else if (t.name.ends_with("down_proj.weight")) {
      from = order(mlp, cols), columns = true;
    } else if (t.name.ends_with("q_proj.weight") ||
               t.name.ends_with("k_proj.weight")) {
      from = WithinBlocks(rows, head_dim, order(qk, head_dim));
    } else if (t.name.ends_with("v_proj.weight")) {
      from = WithinBlocks(rows, head_dim, order(v, head_dim));
    } else if (t.name.ends_with("o_proj.weight")) {
      from = WithinBlocks(cols, head_dim, order(v, head_dim)), columns = true;
    } else {
      continue;
    }
    if (rescale && produces) {
      const bool mlp_unit = t.name.find(".mlp.") != std::string::npos;
      const bool value_unit = t.name.ends_with("v_proj.weight") ||
                              t.name.ends_with("o_proj.weight");
      const std::string kind = mlp_unit ? "mlp" : value_unit ? "v" : "qk";
      const std::vector<float> f = factor(kind, from.size());
      // Consumers divide; k_proj divides what q_proj multiplies.
      const bool divide = columns || t.name.ends_with("k_proj.weight");
      for (uint64_t i = 0; i < from.size(); ++i)
        scale.push_back(divide ? 1 / f[from[i]] : f[from[i]]);
    }
    std::vector<float> values = Permuted(Values(t), rows, cols, from, columns);
    for (uint64_t k = 0; k < scale.size(); ++k) {
      for (uint64_t other = 0; other < (columns ? rows : cols); ++other)
        values[columns ? other * cols + k : k * cols + other] *= scale[k];
    }
    t.data = Encode(values, TypeOf(t.dtype));
  }
  return Build(m);
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SRC_TRACE_PERMUTE_UNITS_H_
