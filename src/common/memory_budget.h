// MemoryBudget: a process-wide allowance of bytes that concurrent work
// draws on and gives back, so that many hostile requests at once cannot add
// up to more memory than one is allowed (issue [security] item 6: upload
// headers being parsed).
//
//   MemoryBudget budget(128 << 20);
//   MemoryBudget::Reservation held = budget.Empty();
//   MV_RETURN_IF_ERROR(held.GrowTo(6 * header_bytes, absl::ZeroDuration(),
//                                  "parsing a header"));
//   ... parse; `held` gives everything back when destroyed.
//
// Thread-safe (a Reservation itself is not: one owner).
#ifndef MODELVAULT_COMMON_MEMORY_BUDGET_H_
#define MODELVAULT_COMMON_MEMORY_BUDGET_H_

#include <cstdint>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace mv {

class MemoryBudget {
 public:
  // What one owner holds; given back on destruction. Movable.
  class Reservation {
   public:
    Reservation(Reservation&& other) noexcept
        : budget_(other.budget_), bytes_(other.bytes_) {
      other.bytes_ = 0;
    }
    Reservation& operator=(Reservation&&) = delete;
    ~Reservation() { Release(); }

    // Holds `bytes` in all (nothing changes if it holds that much already),
    // waiting up to `wait` for others to give back enough. RESOURCE_EXHAUSTED
    // naming `what` when `bytes` exceeds the whole budget (at once) or does
    // not become free in time; the reservation is then unchanged.
    absl::Status GrowTo(uint64_t bytes, absl::Duration wait,
                        std::string_view what);
    void Release();
    uint64_t bytes() const { return bytes_; }

   private:
    friend class MemoryBudget;
    explicit Reservation(MemoryBudget* budget) : budget_(budget) {}
    MemoryBudget* budget_;
    uint64_t bytes_ = 0;
  };

  explicit MemoryBudget(uint64_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  Reservation Empty() { return Reservation(this); }
  uint64_t limit() const { return limit_; }
  uint64_t in_use() const;
  // Owners inside GrowTo right now (tests use it to act on a real waiter).
  int waiting() const;

 private:
  const uint64_t limit_;
  mutable Mutex mu_;
  CondVar freed_;
  uint64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mv

#endif  // MODELVAULT_COMMON_MEMORY_BUDGET_H_
