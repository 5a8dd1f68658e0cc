#include "server/stream_limiter.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace mvserver {

StreamLimiter::Slot::Slot(Slot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      principal_(std::move(other.principal_)) {}

StreamLimiter::Slot& StreamLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    principal_ = std::move(other.principal_);
  }
  return *this;
}

StreamLimiter::Slot::~Slot() { Release(); }

void StreamLimiter::Slot::Release() {
  if (limiter_ != nullptr)
    std::exchange(limiter_, nullptr)->Release(principal_);
}

absl::StatusOr<StreamLimiter::Slot> StreamLimiter::Acquire(
    const std::string& principal) {
  mv::MutexLock lock(&mu_);
  uint32_t& open = open_[principal];  // max_ > 0, so a refused principal has an
                                      // entry already
  if (max_ != 0 && open >= max_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many open streams for principal ", principal,
                     " (limit ", max_, ")"));
  }
  ++open;
  return Slot(this, principal);
}

uint32_t StreamLimiter::OpenStreams(const std::string& principal) const {
  mv::MutexLock lock(&mu_);
  auto it = open_.find(principal);
  return it == open_.end() ? 0 : it->second;
}

void StreamLimiter::Release(const std::string& principal) {
  mv::MutexLock lock(&mu_);
  auto it = open_.find(principal);
  if (it == open_.end()) return;  // unreachable: every Slot was counted
  if (--it->second == 0) open_.erase(it);
}

}  // namespace mvserver
