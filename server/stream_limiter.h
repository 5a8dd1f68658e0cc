// StreamLimiter: caps how many streams (Upload, Download, Trace calls) one
// principal has open at a time, counted across all its connections. Each
// open stream holds a server thread, buffers and, for downloads, LMDB read
// transactions; without a per-principal cap one token could take every
// thread of the server (ServerLimits::max_threads) from everybody else.
//
// Unary RPCs are not counted: they finish in one short transaction and are
// bounded by the thread quota.
//
// Usage, after the call is authenticated:
//   MV_GRPC_ASSIGN_OR_RETURN(StreamLimiter::Slot slot,
//   limiter.Acquire(who.name));
// The slot is given back when `slot` is destroyed, however the handler ends
// (success, error, cancellation, deadline, stall).
//
// Thread-safe.
#ifndef MODELVAULT_SERVER_STREAM_LIMITER_H_
#define MODELVAULT_SERVER_STREAM_LIMITER_H_

#include <cstdint>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "common/mutex.h"

namespace mvserver {

class StreamLimiter {
 public:
  // An open stream of one principal; releases it on destruction. Movable.
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class StreamLimiter;
    Slot(StreamLimiter* limiter, std::string principal)
        : limiter_(limiter), principal_(std::move(principal)) {}
    void Release();

    StreamLimiter* limiter_;  // nullptr once released or moved from
    std::string principal_;
  };

  // `max_per_principal` == 0 means no limit.
  explicit StreamLimiter(uint32_t max_per_principal)
      : max_(max_per_principal) {}
  StreamLimiter(const StreamLimiter&) = delete;
  StreamLimiter& operator=(const StreamLimiter&) = delete;
  // REQUIRES: every Slot has been destroyed.
  ~StreamLimiter() = default;

  // A slot for one more stream of `principal`; RESOURCE_EXHAUSTED
  // "too many open streams for principal P (limit N)" when it already has N.
  absl::StatusOr<Slot> Acquire(const std::string& principal);

  // Streams `principal` has open now.
  uint32_t OpenStreams(const std::string& principal) const;

  uint32_t limit() const { return max_; }

 private:
  void Release(const std::string& principal);

  const uint32_t max_;
  mutable mv::Mutex mu_;
  // Only principals with at least one open stream have an entry.
  std::unordered_map<std::string, uint32_t> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_STREAM_LIMITER_H_
