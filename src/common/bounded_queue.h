// A bounded multi-producer/multi-consumer queue with close semantics, used to
// overlap the stages of a stream (read, hash, crypt, send, commit) while
// keeping memory bounded by capacity × item size. Thread-safe.
#ifndef MODELVAULT_COMMON_BOUNDED_QUEUE_H_
#define MODELVAULT_COMMON_BOUNDED_QUEUE_H_

#include <deque>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace mv {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while full. Returns false (and drops `item`) once closed.
  bool Push(T item) {
    MutexLock lock(&mu_);
    while (!closed_ && items_.size() >= capacity_) {
      ++waiting_;
      not_full_.Wait(mu_);
      --waiting_;
    }
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.Signal();
    return true;
  }

  // Blocks while empty. Returns nullopt once closed and drained.
  std::optional<T> Pop() {
    MutexLock lock(&mu_);
    while (!closed_ && items_.empty()) {
      ++waiting_;
      not_empty_.Wait(mu_);
      --waiting_;
    }
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.Signal();
    return item;
  }

  // Moves every queued item into `out` (blocking until at least one is there
  // or the queue is closed). Returns false once closed and drained.
  bool PopAll(std::deque<T>* out) {
    MutexLock lock(&mu_);
    while (!closed_ && items_.empty()) {
      ++waiting_;
      not_empty_.Wait(mu_);
      --waiting_;
    }
    if (items_.empty()) return false;
    while (!items_.empty()) {
      out->push_back(std::move(items_.front()));
      items_.pop_front();
    }
    not_full_.SignalAll();
    return true;
  }

  // Threads blocked in Push or Pop right now. Lets a test know that the
  // thread it wants to wake is really asleep before it acts.
  int waiting() const {
    MutexLock lock(&mu_);
    return waiting_;
  }

  // Wakes every waiter; later pushes fail, pops drain what is left.
  void Close() {
    MutexLock lock(&mu_);
    closed_ = true;
    not_full_.SignalAll();
    not_empty_.SignalAll();
  }

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  CondVar not_full_, not_empty_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mv

#endif  // MODELVAULT_COMMON_BOUNDED_QUEUE_H_
