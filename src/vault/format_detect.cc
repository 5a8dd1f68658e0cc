#include "vault/format_detect.h"

namespace mv {

Format DetectFormat(std::string_view head, uint64_t size) {
  if (head.starts_with("GGUF")) return Format::kGguf;
  if (head.size() < kFormatSniffBytes || size < kFormatSniffBytes)
    return Format::kBlob;
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = header_len << 8 | static_cast<uint8_t>(head[i]);
  if (header_len <= 100'000'000 && header_len <= size - 8 && head[8] == '{') {
    return Format::kSafetensors;
  }
  return Format::kBlob;
}

}  // namespace mv
