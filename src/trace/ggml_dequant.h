// The values of quantized GGUF tensors, so that a leak converted with
// llama.cpp (Q8_0, Q4_0, Q4_K, Q6_K: what `llama-quantize` writes for the
// common Q8_0, Q4_0 and Q4_K_M presets) can be read at the mark positions.
//
// Block layouts as ggml-common.h declares them (little-endian, f16 scales):
//   Q8_0  34 B / 32:  f16 d; i8 qs[32]                  x = d·qs[i]
//   Q4_0  18 B / 32:  f16 d; u8 qs[16]                  x = d·(nibble − 8)
//   Q4_K 144 B / 256: f16 d, dmin; u8 scales[12]; u8 qs[128]
//                     8 sub-blocks of 32, 6-bit scale sc and min m each:
//                     x = d·sc·nibble − dmin·m
//   Q6_K 210 B / 256: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d
//                     16 sub-blocks of 16: x = d·scale·(6-bit q − 32)
// Element i of a block is element i of the tensor's row-major order within
// that block (as dequantize_row_* writes them), so a tensor's element e is
// element e % block_size of block e / block_size.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_TRACE_GGML_DEQUANT_H_
#define MODELVAULT_TRACE_GGML_DEQUANT_H_

#include <cstdint>
#include <span>

#include "formats/ggml_types.h"

namespace mv {

// Q8_0, Q4_0, Q4_K and Q6_K.
bool CanDequantize(GgmlType type);

// The value of element `index` of one `block` of `type`.
// REQUIRES: CanDequantize(type); block.size() == GgmlTraits(type).type_size;
// index < GgmlTraits(type).block_size.
float DequantizeElement(GgmlType type, std::span<const char> block,
                        uint32_t index);

}  // namespace mv

#endif  // MODELVAULT_TRACE_GGML_DEQUANT_H_
