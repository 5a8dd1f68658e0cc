// Mutex, MutexLock, CondVar: std::mutex and std::condition_variable with
// clang's thread-safety annotations, so that `-Wthread-safety` checks every
// ABSL_GUARDED_BY member against the locks actually held.
//
//   Mutex mu_;
//   CondVar ready_;
//   std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
//
//   MutexLock lock(&mu_);
//   while (jobs_.empty()) ready_.Wait(mu_);  // the loop re-checks under mu_
//
// Why not absl::Mutex: Debian's libabsl is not built with -fsanitize=thread,
// so TSan sees none of absl::Mutex's happens-before edges and reports every
// contended use as a race. Under these wrappers TSan sees the std::mutex.
//
// Waits take no predicate: a lambda is analysed as a function of its own,
// which does not hold the lock, so callers loop in the locked scope instead.
#ifndef MODELVAULT_COMMON_MUTEX_H_
#define MODELVAULT_COMMON_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace mv {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope. Release/Reacquire open a window without the lock
// (e.g. around a disk write) that the analysis also tracks.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Release() ABSL_UNLOCK_FUNCTION() {
    mu_->Unlock();
    held_ = false;
  }
  void Reacquire() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

class CondVar {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  // `timeout` from now; an infinite timeout never passes.
  static Deadline After(absl::Duration timeout) {
    if (timeout == absl::InfiniteDuration()) return Deadline::max();
    return std::chrono::steady_clock::now() +
           absl::ToChronoNanoseconds(timeout);
  }

  // Releases `mu` until notified (or woken spuriously), then takes it back.
  void Wait(Mutex& mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // `mu` stays held, as the caller expects
  }
  // Like Wait, but false once `deadline` has passed.
  bool WaitUntil(Mutex& mu, Deadline deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    bool woken = true;
    if (deadline == Deadline::max()) {
      cv_.wait(lock);
    } else {
      woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    }
    lock.release();
    return woken;
  }

  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace mv

#endif  // MODELVAULT_COMMON_MUTEX_H_
