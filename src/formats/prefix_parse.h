// What parsing the start of a model file produced, for callers that stream
// the file and must not hold all of it in memory.
//
// The safetensors and GGUF parsers (safetensors.h, gguf.h) read only the
// header at the start of a file: give them a prefix of the file and the
// file's total size, and they either finish (`layout` set) or say how long
// the prefix must be for them to make progress (`bytes_needed`). A caller
// reading a stream does:
//
//   std::string prefix;                       // bytes received so far
//   for (;;) {
//     MV_ASSIGN_OR_RETURN(auto parse, ParseGgufPrefix(prefix, file_size));
//     if (parse.layout) break;                // done: *parse.layout
//     read until prefix.size() >= parse.bytes_needed;   // never > file_size
//   }
//
// For safetensors two rounds suffice (8 bytes, then 8 + N). GGUF headers
// are a chain of length-prefixed items, so bytes_needed is only the next
// lower bound; reading at least twice the current prefix each round keeps
// the total re-parsing work linear.
//
// A malformed file is INVALID_ARGUMENT as soon as the prefix shows it;
// needing more bytes is not an error. bytes_needed never exceeds the file
// size: a header that would run past the end of the file is malformed.
// Plain data types; no synchronisation needed.
#ifndef MODELVAULT_FORMATS_PREFIX_PARSE_H_
#define MODELVAULT_FORMATS_PREFIX_PARSE_H_

#include <cstdint>
#include <optional>

namespace mv {

template <typename Layout>
struct PrefixParse {
  // Set when the prefix held the whole header and it is valid.
  std::optional<Layout> layout;
  // When `layout` is empty: the prefix must be at least this many bytes
  // long (> the prefix given, <= the file size) for the parse to progress.
  uint64_t bytes_needed = 0;
};

// The element encodings the leak-tracing fingerprinter may change
// (LEAK_TRACING.md, "Eligible tensors"): IEEE binary32, binary16 and
// bfloat16, little-endian. Everything else (integers, f64, fp8/fp6/fp4,
// quantized ggml blocks) is never marked.
enum class MarkableType : uint8_t { kNotMarkable, kF32, kF16, kBF16 };

}  // namespace mv

#endif  // MODELVAULT_FORMATS_PREFIX_PARSE_H_
