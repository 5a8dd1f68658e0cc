// A small blocking FIFO with a fixed capacity, used to hand chunk buffers
// between the gRPC thread and the hashing/IO thread of a transfer.
//
// The capacity is what bounds a transfer's memory: with 1 MiB buffers and a
// capacity of 4, a pipeline holds at most a few MiB whatever the file size.
// Thread-safe: any number of producers and consumers. Close() wakes every
// waiter; after it, Push() fails and Pop() drains what is left, then fails.
#ifndef MODELVAULT_CLIENT_LIB_BOUNDED_QUEUE_H_
#define MODELVAULT_CLIENT_LIB_BOUNDED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace mvclient {

template <typename T>
class BoundedQueue {
 public:
  // REQUIRES: capacity > 0.
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Blocks while the queue is full. Returns false (and drops `item`) if the
  // queue is or becomes closed.
  bool Push(T item) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BoundedQueue::CanPush));
    if (closed_) return false;
    items_.push_back(std::move(item));
    return true;
  }

  // Blocks while the queue is empty and open. Returns nullopt once the queue
  // is closed and drained.
  std::optional<T> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BoundedQueue::CanPop));
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  // Idempotent.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  bool CanPush() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || items_.size() < capacity_;
  }
  bool CanPop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !items_.empty();
  }

  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_BOUNDED_QUEUE_H_
