#include "trace/tensor_rows.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <span>
#include <string>

#include "common/status_macros.h"
#include "trace/element_codec.h"
#include "trace/ggml_dequant.h"

namespace mv {
namespace {

constexpr uint64_t kBatchBytes = 4 << 20;

// Bytes of one row of `t`. REQUIRES: RowsReadable(t, ...).
uint64_t RowBytes(const TraceTensor& t) {
  if (t.quantized) {
    const GgmlTypeTraits& traits = GgmlTraits(*t.quantized);
    return RowLength(t) / traits.block_size * traits.type_size;
  }
  return RowLength(t) * ElementBytes(t.dtype);
}

}  // namespace

uint64_t RowLength(const TraceTensor& t) {
  uint64_t n = 1;
  for (size_t d = 1; d < t.shape.size(); ++d) n *= t.shape[d];
  return n;
}

bool RowsReadable(const TraceTensor& t, uint64_t file_size) {
  if (t.shape.empty() || t.NumElements() == 0) return false;
  if (t.offset > file_size || t.length > file_size - t.offset) return false;
  if (t.quantized) {
    if (!CanDequantize(*t.quantized)) return false;
    const GgmlTypeTraits& traits = GgmlTraits(*t.quantized);
    return RowLength(t) % traits.block_size == 0 &&
           t.length == t.NumElements() / traits.block_size * traits.type_size;
  }
  return t.dtype != MarkableType::kNotMarkable &&
         t.length == t.NumElements() * ElementBytes(t.dtype);
}

uint64_t RowsPerBatch(const TraceTensor& t) {
  return std::max<uint64_t>(1,
                            kBatchBytes / std::max<uint64_t>(1, RowBytes(t)));
}

absl::Status ReadRows(const LeakFile& file, const TraceTensor& t,
                      uint64_t first, uint64_t count, std::vector<float>* out) {
  const uint64_t row_bytes = RowBytes(t);
  std::string bytes(count * row_bytes, '\0');
  MV_RETURN_IF_ERROR(
      file.ReadAt(t.offset + first * row_bytes, std::span<char>(bytes)));
  const uint64_t n = count * RowLength(t);
  out->resize(n);
  if (t.dtype == MarkableType::kF32) {  // the common case: no decoding
    static_assert(sizeof(float) == 4 &&
                  std::endian::native == std::endian::little);
    std::memcpy(out->data(), bytes.data(), n * 4);
    return absl::OkStatus();
  }
  if (!t.quantized) {
    const uint32_t size = ElementBytes(t.dtype);
    for (uint64_t i = 0; i < n; ++i) {
      (*out)[i] = static_cast<float>(
          DecodeElement(t.dtype, LoadElementBits(t.dtype, &bytes[i * size])));
    }
    return absl::OkStatus();
  }
  const GgmlTypeTraits& traits = GgmlTraits(*t.quantized);
  for (uint64_t b = 0; b < n / traits.block_size; ++b) {
    const std::span<const char> block(&bytes[b * traits.type_size],
                                      traits.type_size);
    for (uint32_t i = 0; i < traits.block_size; ++i) {
      (*out)[b * traits.block_size + i] =
          DequantizeElement(*t.quantized, block, i);
    }
  }
  return absl::OkStatus();
}

}  // namespace mv
