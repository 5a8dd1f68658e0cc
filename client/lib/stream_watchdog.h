// Idle timeout for a streaming RPC.
//
// Streams carry gigabytes, so no fixed deadline fits both a 1 KiB and a
// 20 GiB artifact on links of unknown speed. Instead each stream gets a
// watchdog: the transfer calls Touch() whenever a message moves, and if no
// message moves for `idle_timeout` the watchdog cancels the call
// (ClientContext::TryCancel), which unblocks the pending Read/Write. The
// caller then reports DEADLINE_EXCEEDED using fired().
//
// Thread-safe: Touch() and fired() may be called from any thread; the
// watchdog runs one thread of its own, joined by the destructor.
#ifndef MODELVAULT_CLIENT_LIB_STREAM_WATCHDOG_H_
#define MODELVAULT_CLIENT_LIB_STREAM_WATCHDOG_H_

#include <grpcpp/client_context.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mvclient {

class StreamWatchdog {
 public:
  // `ctx` must outlive the watchdog. REQUIRES: idle_timeout > 0.
  StreamWatchdog(grpc::ClientContext* ctx, absl::Duration idle_timeout);
  ~StreamWatchdog();

  StreamWatchdog(const StreamWatchdog&) = delete;
  StreamWatchdog& operator=(const StreamWatchdog&) = delete;

  // Records progress; cheap enough to call per message.
  void Touch() { last_touch_ns_.store(absl::GetCurrentTimeNanos()); }

  // True if the watchdog cancelled the call.
  bool fired() const { return fired_.load(); }

 private:
  void Run();

  grpc::ClientContext* const ctx_;
  const absl::Duration idle_timeout_;
  std::atomic<int64_t> last_touch_ns_;
  std::atomic<bool> fired_{false};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_STREAM_WATCHDOG_H_
