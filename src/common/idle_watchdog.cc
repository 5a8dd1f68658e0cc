#include "common/idle_watchdog.h"

namespace mv {

IdleWatchdog::IdleWatchdog(absl::Duration idle_timeout,
                           std::function<void()> on_idle)
    : idle_timeout_(idle_timeout),
      on_idle_(std::move(on_idle)),
      last_touch_ns_(absl::GetCurrentTimeNanos()),
      thread_([this] { Run(); }) {}

IdleWatchdog::~IdleWatchdog() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_requested_.SignalAll();
  thread_.join();
}

void IdleWatchdog::Run() {
  MutexLock lock(&mu_);
  while (!stop_) {
    absl::Time due = absl::FromUnixNanos(last_touch_ns_.load()) + idle_timeout_;
    if (absl::Now() >= due) {
      fired_.store(true);
      on_idle_();
      return;
    }
    // Wakes early only to stop; a Touch() just moves the next due time.
    const CondVar::Deadline deadline = CondVar::After(due - absl::Now());
    while (!stop_ && stop_requested_.WaitUntil(mu_, deadline)) {
    }
  }
}

}  // namespace mv
