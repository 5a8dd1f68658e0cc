#include "common/memory_budget.h"

#include "absl/strings/str_cat.h"

namespace mv {
namespace {

uint64_t MiB(uint64_t bytes) { return (bytes + (1 << 20) - 1) >> 20; }

}  // namespace

absl::Status MemoryBudget::Reservation::GrowTo(uint64_t bytes,
                                               absl::Duration wait,
                                               std::string_view what) {
  if (bytes <= bytes_) return absl::OkStatus();
  MemoryBudget& b = *budget_;
  if (bytes > b.limit_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        std::string(what), " needs ", MiB(bytes), " MiB, more than the ",
        MiB(b.limit_), " MiB the server allows for all of them at once"));
  }
  const uint64_t more = bytes - bytes_;
  const CondVar::Deadline deadline = CondVar::After(wait);
  MutexLock lock(&b.mu_);
  ++b.waiting_;
  while (b.in_use_ + more > b.limit_ && b.freed_.WaitUntil(b.mu_, deadline)) {
  }
  --b.waiting_;
  if (b.in_use_ + more > b.limit_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", std::string(what), " needs ", MiB(bytes),
                     " MiB and others hold ", MiB(b.in_use_), " of ",
                     MiB(b.limit_), " MiB; retry"));
  }
  b.in_use_ += more;
  bytes_ = bytes;
  return absl::OkStatus();
}

int MemoryBudget::waiting() const {
  MutexLock lock(&mu_);
  return waiting_;
}

void MemoryBudget::Reservation::Release() {
  if (bytes_ == 0) return;
  {
    MutexLock lock(&budget_->mu_);
    budget_->in_use_ -= bytes_;
  }
  bytes_ = 0;
  budget_->freed_.SignalAll();
}

uint64_t MemoryBudget::in_use() const {
  MutexLock lock(&mu_);
  return in_use_;
}

}  // namespace mv
