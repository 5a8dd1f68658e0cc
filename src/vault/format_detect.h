// Detects an artifact's format from its first bytes, never from its name.
//   safetensors: u64 LE header length N with N ≤ 100,000,000 and N ≤ size − 8,
//                followed by '{' (a JSON object)
//   gguf:        magic "GGUF"
//   anything else is a blob.
// Structural validation of the formats comes with their parsers. Pure;
// thread-safe.
#ifndef MODELVAULT_VAULT_FORMAT_DETECT_H_
#define MODELVAULT_VAULT_FORMAT_DETECT_H_

#include <cstdint>
#include <string_view>

#include "vault/records.h"

namespace mv {

inline constexpr size_t kFormatSniffBytes = 9;

// `head` is the first min(size, kFormatSniffBytes) bytes of an artifact of
// `size` bytes.
Format DetectFormat(std::string_view head, uint64_t size);

}  // namespace mv

#endif  // MODELVAULT_VAULT_FORMAT_DETECT_H_
