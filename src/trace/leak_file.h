// LeakFile: a suspected leak as the tracer reads it: its size, its SHA-256
// and its bytes by range. The tracer never needs the whole file in memory or
// in clear on disk: the server spools a received file sealed
// (sealed_spool.h) and the tracer reads through it; tests, benchmarks and
// local tools hand it bytes they already hold (MemoryLeakFile).
//
// Reading is not thread-safe (an implementation may cache what it read);
// one trace reads one LeakFile at a time.
#ifndef MODELVAULT_TRACE_LEAK_FILE_H_
#define MODELVAULT_TRACE_LEAK_FILE_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/sha256.h"
#include "trace/tensors.h"

namespace mv {

class LeakFile {
 public:
  virtual ~LeakFile() = default;

  virtual uint64_t size() const = 0;
  virtual Sha256Digest sha256() const = 0;
  // Fills `out` with the bytes at [offset, offset + out.size()).
  // OUT_OF_RANGE if that runs past size(); DATA_LOSS if the bytes cannot be
  // authenticated; INTERNAL on an I/O error.
  virtual absl::Status ReadAt(uint64_t offset, std::span<char> out) const = 0;
};

// A leak held in memory (or mapped). The bytes must outlive the object.
class MemoryLeakFile final : public LeakFile {
 public:
  explicit MemoryLeakFile(std::string_view bytes) : bytes_(bytes) {}

  uint64_t size() const override { return bytes_.size(); }
  Sha256Digest sha256() const override { return Sha256::Of(bytes_); }
  absl::Status ReadAt(uint64_t offset, std::span<char> out) const override;

 private:
  std::string_view bytes_;
};

// The leak's tensors: a GGUF file if it starts with "GGUF", else
// safetensors. Reads only the header. INVALID_ARGUMENT if it parses as
// neither, saying which format was tried.
absl::StatusOr<std::vector<TraceTensor>> ParseLeakTensors(const LeakFile& leak);

}  // namespace mv

#endif  // MODELVAULT_TRACE_LEAK_FILE_H_
