// Clock seam: the core reads time only through a Clock so tests can inject
// one. Implementations must be thread-safe.
#ifndef MODELVAULT_COMMON_CLOCK_H_
#define MODELVAULT_COMMON_CLOCK_H_

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mv {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process-wide real-time clock; never null, never freed.
  static Clock* Real();
};

// A clock that only moves when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_ns_(absl::ToUnixNanos(start)) {}
  absl::Time Now() const override {
    return absl::FromUnixNanos(now_ns_.load());
  }
  void Advance(absl::Duration d) { now_ns_ += absl::ToInt64Nanoseconds(d); }

 private:
  std::atomic<int64_t> now_ns_;
};

}  // namespace mv

#endif  // MODELVAULT_COMMON_CLOCK_H_
