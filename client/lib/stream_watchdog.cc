#include "client/lib/stream_watchdog.h"

namespace mvclient {

StreamWatchdog::StreamWatchdog(grpc::ClientContext* ctx,
                               absl::Duration idle_timeout)
    : ctx_(ctx),
      idle_timeout_(idle_timeout),
      last_touch_ns_(absl::GetCurrentTimeNanos()) {
  thread_ = std::thread([this] { Run(); });
}

StreamWatchdog::~StreamWatchdog() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void StreamWatchdog::Run() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    absl::Time due = absl::FromUnixNanos(last_touch_ns_.load()) + idle_timeout_;
    if (absl::Now() >= due) {
      fired_.store(true);
      ctx_->TryCancel();
      return;
    }
    // Wakes early only to stop; a Touch() just moves the next due time.
    mu_.AwaitWithDeadline(absl::Condition(&stop_), due);
  }
}

}  // namespace mvclient
