#include "trace/embed.h"

#include <algorithm>

#include "trace/element_codec.h"

namespace mv {

DownloadCode MakeDownloadCode(const TraceKeys& keys, const MarkTable& table,
                              uint64_t download_id) {
  DownloadCode code{.download_id = download_id, .signs = {}};
  const std::string stream = keys.Stream(TraceKeyPurpose::kCode, download_id,
                                         2 * table.entries.size());
  code.signs.reserve(table.entries.size());
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const MarkEntry& e = table.entries[i];
    int8_t sign = 0;
    if (e.channel == MarkChannel::kTardos) {
      sign = StreamU16(stream, i) < e.weight ? 1 : -1;
    }
    code.signs.push_back(sign);
  }
  return code;
}

uint32_t MarkedElement(const MarkTable& table, const DownloadCode& code,
                       size_t i) {
  const MarkEntry& e = table.entries[i];
  if (code.signs[i] == 0) return e.original_bits;
  // The planner only chose elements markable both ways.
  return MarkedBits(e.dtype, e.original_bits, code.signs[i])
      .value_or(e.original_bits);
}

absl::Status ApplyMarks(const MarkTable& table, const DownloadCode& code,
                        uint64_t range_offset, std::string* bytes) {
  if (code.signs.size() != table.entries.size()) {
    return absl::InvalidArgumentError(
        "trace: the download code is not this table's");
  }
  if (range_offset > table.file_size ||
      bytes->size() > table.file_size - range_offset) {
    return absl::InvalidArgumentError(
        "trace: range runs past the end of the file");
  }
  const uint64_t range_end = range_offset + bytes->size();
  // The first entry that ends after range_offset (entries never overlap).
  auto it =
      std::lower_bound(table.entries.begin(), table.entries.end(), range_offset,
                       [](const MarkEntry& e, uint64_t at) {
                         return e.file_offset + ElementBytes(e.dtype) <= at;
                       });
  for (; it != table.entries.end() && it->file_offset < range_end; ++it) {
    const size_t i = it - table.entries.begin();
    char original[4], marked[4];
    StoreElementBits(it->dtype, it->original_bits, original);
    StoreElementBits(it->dtype, MarkedElement(table, code, i), marked);
    const uint32_t size = ElementBytes(it->dtype);
    for (uint32_t b = 0; b < size; ++b) {
      const uint64_t at = it->file_offset + b;
      if (at < range_offset || at >= range_end) continue;
      char& out = (*bytes)[at - range_offset];
      if (out != original[b]) {
        return absl::DataLossError(
            "trace: the file does not match its mark table");
      }
      out = marked[b];
    }
  }
  return absl::OkStatus();
}

}  // namespace mv
