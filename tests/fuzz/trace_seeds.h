// The mark table the trace fuzzers read leaks against, shared with
// make_corpus so that the committed seeds are files this table can map: three
// markable tensors of an attention/MLP layer (the third with rows of 256, so
// that a quantized GGUF leak can hold it: ggml's blocks are 32 and 256
// elements of a row), plus a 16x16 one (the smallest axis alignment by
// content works on), every third element marked or kept as a reference
// value.
#ifndef MODELVAULT_TESTS_FUZZ_TRACE_SEEDS_H_
#define MODELVAULT_TESTS_FUZZ_TRACE_SEEDS_H_

#include <cstdint>
#include <string>

#include "trace/mark_table.h"

namespace mv::fuzz {

inline MarkTable TraceSeedTable() {
  MarkTable table;
  table.file_size = 4096;
  table.tensors = {
      {"model.layers.0.mlp.up_proj.weight",
       MarkableType::kF32,
       {8, 4},
       64,
       128},
      {"model.layers.0.self_attn.q_proj.weight",
       MarkableType::kF16,
       {8, 4},
       192,
       64},
      {"model.layers.0.mlp.down_proj.weight",
       MarkableType::kF32,
       {2, 256},
       256,
       2048},
      {"model.layers.0.self_attn.o_proj.weight",
       MarkableType::kF32,
       {16, 16},
       2304,
       1024},
  };
  for (uint32_t t = 0; t < table.tensors.size(); ++t) {
    const TraceTensor& tensor = table.tensors[t];
    const uint64_t size = tensor.dtype == MarkableType::kF32 ? 4 : 2;
    for (uint64_t e = 0; e < tensor.NumElements(); e += 3) {
      MarkEntry entry;
      entry.file_offset = tensor.offset + e * size;
      entry.tensor = t;
      entry.element = e;
      entry.dtype = tensor.dtype;
      entry.channel = e % 2 ? MarkChannel::kTardos : MarkChannel::kReference;
      entry.weight = entry.channel == MarkChannel::kTardos ? 1000 + e : 0;
      // A value of either encoding that is neither zero nor tiny.
      entry.original_bits = size == 4 ? 0x3f800000u + (e << 12) : 0x3c00u + e;
      table.entries.push_back(entry);
    }
  }
  return table;
}

// The file the seed table was made from (4096 bytes): each entry's
// original bits where the table puts it, fixed pseudo-random values of the
// same magnitude elsewhere, so that rows differ and alignment by content
// (pass 4) has something to find.
inline std::string TraceSeedOriginal() {
  const MarkTable table = TraceSeedTable();
  std::string file(table.file_size, '\0');
  uint32_t x = 12345;
  for (const TraceTensor& t : table.tensors) {
    const uint64_t size = t.dtype == MarkableType::kF32 ? 4 : 2;
    for (uint64_t e = 0; e < t.NumElements(); ++e) {
      x = x * 1103515245u + 12345u;
      const uint32_t bits = size == 4 ? 0x3f000000u + (x >> 9)  // [0.5, 1)
                                      : 0x3800u + (x >> 22);    // [0.5, 1)
      for (uint64_t b = 0; b < size; ++b)
        file[t.offset + e * size + b] = static_cast<char>(bits >> (8 * b));
    }
  }
  for (const MarkEntry& e : table.entries) {
    const uint64_t size = e.dtype == MarkableType::kF32 ? 4 : 2;
    for (uint64_t b = 0; b < size; ++b)
      file[e.file_offset + b] = static_cast<char>(e.original_bits >> (8 * b));
  }
  return file;
}

}  // namespace mv::fuzz

#endif  // MODELVAULT_TESTS_FUZZ_TRACE_SEEDS_H_
