// IdleWatchdog: calls `on_idle` once if Touch() has not been called for
// `idle_timeout`. Streams carry gigabytes, so no fixed deadline fits both a
// 1 KiB and a 20 GiB artifact; instead each stream is cancelled when no
// message has moved for a while (a stalled peer). Transport code passes a
// callback that cancels its call (e.g. grpc ServerContext::TryCancel).
//
// Thread-safe: Touch() and fired() may be called from any thread. The
// watchdog runs one thread of its own, joined by the destructor; `on_idle`
// runs on that thread.
#ifndef MODELVAULT_COMMON_IDLE_WATCHDOG_H_
#define MODELVAULT_COMMON_IDLE_WATCHDOG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace mv {

class IdleWatchdog {
 public:
  // REQUIRES: idle_timeout > 0.
  IdleWatchdog(absl::Duration idle_timeout, std::function<void()> on_idle);
  ~IdleWatchdog();
  IdleWatchdog(const IdleWatchdog&) = delete;
  IdleWatchdog& operator=(const IdleWatchdog&) = delete;

  // Records progress; cheap enough to call per message.
  void Touch() { last_touch_ns_.store(absl::GetCurrentTimeNanos()); }
  // True once `on_idle` has been called.
  bool fired() const { return fired_.load(); }

 private:
  void Run();

  const absl::Duration idle_timeout_;
  const std::function<void()> on_idle_;
  std::atomic<int64_t> last_touch_ns_;
  std::atomic<bool> fired_{false};
  Mutex mu_;
  CondVar stop_requested_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mv

#endif  // MODELVAULT_COMMON_IDLE_WATCHDOG_H_
