// Internal to the GGUF parser (gguf.h): a cursor over a file prefix and the
// reader of typed metadata values. Not part of the library's API.
//
// Running out of prefix is not an error: the cursor remembers how many
// bytes would let it continue (needed()) and returns a NeedMore status that
// ParseGgufPrefix turns into PrefixParse::bytes_needed. Anything past the
// end of the file or past kGgufMaxHeaderBytes is INVALID_ARGUMENT instead.
// Not thread-safe (one parse owns one cursor).
#ifndef MODELVAULT_FORMATS_GGUF_CURSOR_H_
#define MODELVAULT_FORMATS_GGUF_CURSOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/gguf.h"

namespace mv::formats_internal {

absl::Status GgufError(std::string_view what);  // "gguf: " + what
// The sentinel for "prefix too short"; no other path returns OUT_OF_RANGE.
bool IsNeedMore(const absl::Status& s);

class GgufCursor {
 public:
  GgufCursor(std::string_view prefix, uint64_t file_size)
      : prefix_(prefix), file_size_(file_size) {}

  uint64_t pos() const { return pos_; }
  uint64_t file_size() const { return file_size_; }
  // Bytes of the file after pos().
  uint64_t remaining() const { return file_size_ - pos_; }
  // Valid after a NeedMore status: the prefix length that lets parsing go on.
  uint64_t needed() const { return needed_; }

  // `what` names the item for messages ("tensor_count", "key of KV 3").
  absl::StatusOr<uint32_t> U32(std::string_view what);
  absl::StatusOr<uint64_t> U64(std::string_view what);
  absl::StatusOr<std::string_view> Bytes(uint64_t n, std::string_view what);
  // A GGUF string (u64 length, bytes) of at most `max_len` bytes.
  absl::StatusOr<std::string> String(std::string_view what, uint64_t max_len);

 private:
  // OK when [pos, pos + n) is in the prefix; else NeedMore or an error.
  absl::Status Require(uint64_t n, std::string_view what);

  std::string_view prefix_;
  uint64_t file_size_;
  uint64_t pos_ = 0;
  uint64_t needed_ = 0;
};

// Reads one value of `type` (arrays recursively, up to kGgufMaxArrayDepth).
// `key` names the KV in messages.
absl::StatusOr<GgufValue> ReadGgufValue(GgufCursor& c, uint32_t type,
                                        std::string_view key, int depth = 0);

}  // namespace mv::formats_internal

#endif  // MODELVAULT_FORMATS_GGUF_CURSOR_H_
