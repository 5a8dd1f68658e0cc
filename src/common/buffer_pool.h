// Buffers handed back by the last stage of a chunk pipeline for its first
// stage to fill again. A reused buffer already has the size the next chunk
// needs; a fresh std::string is zero-filled by resize() before it is
// overwritten (1 MiB of memset per chunk, ~3% of a push's CPU) and its pages
// may have to fault in. Holds at most `capacity` buffers. Thread-safe.
#ifndef MODELVAULT_COMMON_BUFFER_POOL_H_
#define MODELVAULT_COMMON_BUFFER_POOL_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace mv {

class BufferPool {
 public:
  explicit BufferPool(size_t capacity) : capacity_(capacity) {}

  // A spare buffer (contents unspecified), or an empty string if none.
  std::string Take() {
    MutexLock lock(&mu_);
    if (spare_.empty()) return {};
    std::string buffer = std::move(spare_.back());
    spare_.pop_back();
    return buffer;
  }

  // Keeps `buffer` for a later Take(), unless the pool is full.
  void Give(std::string&& buffer) {
    MutexLock lock(&mu_);
    if (spare_.size() < capacity_) spare_.push_back(std::move(buffer));
  }

 private:
  const size_t capacity_;
  Mutex mu_;
  std::vector<std::string> spare_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mv

#endif  // MODELVAULT_COMMON_BUFFER_POOL_H_
