// The safetensors JSON header → SafetensorsLayout, in one streaming (SAX)
// pass: no JSON document is built. Internal to formats/safetensors.cc.
//
// Why not a DOM: nlohmann's DOM costs ~30 bytes of memory per byte of a
// header of tiny keys, and its callback parser (needed to catch duplicate
// keys) walks the parent object at the end of every child, so a header of a
// million tensor entries took minutes of CPU. This pass costs time linear in
// the header and memory of the layout it returns (a small multiple of the
// header's size).
//
// What it reports, in this order: invalid JSON, a duplicate key within one
// object, nesting deeper than 4 levels (the first of these met, aborting
// the pass); a duplicate tensor name; then the first defective entry in key
// order (the order a JSON object has no other of), with the messages of
// safetensors.h. Tiling is checked by the caller.
//
// Pure; thread-safe.
#ifndef MODELVAULT_FORMATS_SAFETENSORS_HEADER_H_
#define MODELVAULT_FORMATS_SAFETENSORS_HEADER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "formats/safetensors.h"

namespace mv::formats_internal {

// At most this many "__metadata__" entries (each costs a map node, far more
// than its bytes in the header).
inline constexpr size_t kMaxSafetensorsMetadataEntries = 10'000;

// The layout of the header `text` (N bytes) of a file of `file_size` bytes:
// every entry checked, tensors in the order met (unsorted, tiling not yet
// checked). REQUIRES: 8 + text.size() <= file_size.
// INVALID_ARGUMENT "safetensors: WHAT" / "safetensors: tensor 'NAME': WHAT";
// "[begin, end)".
absl::Status SafetensorsError(std::string_view what);
absl::Status SafetensorsTensorError(std::string_view name,
                                    std::string_view what);
std::string OffsetRange(uint64_t begin, uint64_t end);

absl::StatusOr<SafetensorsLayout> ParseSafetensorsHeader(std::string_view text,
                                                         uint64_t file_size);

}  // namespace mv::formats_internal

#endif  // MODELVAULT_FORMATS_SAFETENSORS_HEADER_H_
