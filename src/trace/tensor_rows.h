// Whole rows of a tensor of a model file, as floats: what alignment
// (align.h) reads to compare a leak's tensors with the original's by
// content. A tensor of shape [R, d1, ...] is read as R rows of
// d1·d2·... elements (shapes are outermost first, so a row is contiguous in
// both safetensors and GGUF). Quantized GGUF rows are dequantized
// (ggml_dequant.h); ggml quantizes whole rows, so a row is whole blocks.
//
// Pure functions; thread-safe if the file's reads are.
#ifndef MODELVAULT_TRACE_TENSOR_ROWS_H_
#define MODELVAULT_TRACE_TENSOR_ROWS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "trace/leak_file.h"
#include "trace/tensors.h"

namespace mv {

// Elements per row: the product of shape[1..]; 1 for a 1-D tensor.
uint64_t RowLength(const TraceTensor& t);

// `t` lies within a file of `file_size` bytes, has at least one element,
// and its rows can be read: a markable dtype whose length matches the
// shape, or a dequantizable type whose rows are whole blocks.
bool RowsReadable(const TraceTensor& t, uint64_t file_size);

// Replaces *out with rows [first, first + count) of `t`, row-major.
// REQUIRES: RowsReadable(t, file.size()); first + count <= t.shape[0].
// Fails only as file.ReadAt does.
absl::Status ReadRows(const LeakFile& file, const TraceTensor& t,
                      uint64_t first, uint64_t count, std::vector<float>* out);

// How many rows to read at once so that a batch is about 4 MiB.
uint64_t RowsPerBatch(const TraceTensor& t);

}  // namespace mv

#endif  // MODELVAULT_TRACE_TENSOR_ROWS_H_
