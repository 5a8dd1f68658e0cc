// The position table of one model version (LEAK_TRACING.md, Ingest step 5):
// where the marks go, their Tardos biases and the original values. Made
// once at upload commit (plan.h), stored sealed by the vault, read for every
// fingerprinted download (embed.h) and every trace (detect.h).
//
// Serialized form (all integers little-endian):
//
//   "MVFPTBL" u8 layout version (1)
//   u64 file_size
//   u32 tensor_count, then per tensor:
//       u32 name length, name bytes, u8 dtype (1 F32, 2 F16, 3 BF16),
//       u8 ndim (1..8), u64 shape[ndim], u64 offset, u64 length
//   u32 entry_count, then per entry (sorted by file offset, no overlap):
//       u64 file_offset, u32 tensor, u64 element, u8 channel,
//       u16 weight, u32 original bits
//
// ~27 bytes per entry: ~330 KB for N_A = 8192 plus 4096 reference samples.
// Plain data; no synchronisation needed.
#ifndef MODELVAULT_TRACE_MARK_TABLE_H_
#define MODELVAULT_TRACE_MARK_TABLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/prefix_parse.h"
#include "trace/tensors.h"

namespace mv {

enum class MarkChannel : uint8_t {
  // Channel A: a Tardos code symbol; `weight` is P_i = round(p_i * 65536).
  kTardos = 0,
  // Channel B (payload): `weight` is the payload bit / chip index. Never
  // produced yet (N_B = 0) but the layout carries it.
  kPayload = 1,
  // Never marked: an original value the detector uses to tell a cast from
  // a re-quantization and to fit leak ~ alpha x + beta (Detection step 3).
  kReference = 2,
};

struct MarkEntry {
  uint64_t file_offset = 0;  // absolute; the element's first byte
  uint32_t tensor = 0;       // index into MarkTable::tensors
  uint64_t element = 0;      // row-major index within the tensor
  MarkableType dtype = MarkableType::kNotMarkable;  // the tensor's
  MarkChannel channel = MarkChannel::kTardos;
  uint16_t weight = 0;         // P_i for channel A (1..65535)
  uint32_t original_bits = 0;  // the element as uploaded

  bool operator==(const MarkEntry&) const = default;
};

struct MarkTable {
  uint64_t file_size = 0;
  std::vector<TraceTensor> tensors;  // the eligible tensors, sorted by name
  std::vector<MarkEntry> entries;    // sorted by file_offset

  size_t CountChannel(MarkChannel channel) const;
  bool operator==(const MarkTable&) const = default;
};

std::string SerializeMarkTable(const MarkTable& table);

// The inverse of SerializeMarkTable. DATA_LOSS naming the defect for a
// truncated, trailing, unsorted, out-of-range or otherwise inconsistent
// table; never reads past `bytes`.
absl::StatusOr<MarkTable> ParseMarkTable(std::string_view bytes);

}  // namespace mv

#endif  // MODELVAULT_TRACE_MARK_TABLE_H_
