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
// Everything else is left as it was.
inline std::string PermuteHiddenUnits(const std::string& file, uint64_t seed,
                                      uint64_t head_dim = kLlamaHeadDim) {
  std::mt19937_64 rng(seed);
  std::map<std::string, std::vector<uint64_t>> mlp, qk, v;  // per layer
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
    t.data =
        Encode(Permuted(Values(t), rows, cols, from, columns), TypeOf(t.dtype));
  }
  return Build(m);
}

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SRC_TRACE_PERMUTE_UNITS_H_
