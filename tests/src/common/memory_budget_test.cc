// MemoryBudget: reservations add up to at most the limit, grow, give back
// on destruction, and wait for others within the time given.
#include "common/memory_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace mv {
namespace {

using ::testing::HasSubstr;

TEST(MemoryBudgetTest, ReservationsAddUpToTheLimitAndGiveBack) {
  MemoryBudget budget(100);
  MemoryBudget::Reservation a = budget.Empty();
  ASSERT_TRUE(a.GrowTo(60, absl::ZeroDuration(), "a").ok());
  ASSERT_TRUE(a.GrowTo(40, absl::ZeroDuration(), "a").ok());  // holds 60 still
  EXPECT_EQ(a.bytes(), 60u);
  {
    MemoryBudget::Reservation b = budget.Empty();
    absl::Status busy = b.GrowTo(41, absl::ZeroDuration(), "parsing b");
    EXPECT_EQ(busy.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(busy.message(), HasSubstr("server busy: parsing b needs"));
    EXPECT_EQ(b.bytes(), 0u);  // unchanged by a refusal
    ASSERT_TRUE(b.GrowTo(40, absl::ZeroDuration(), "b").ok());
    EXPECT_EQ(budget.in_use(), 100u);
  }
  EXPECT_EQ(budget.in_use(), 60u);  // b gave its 40 back
  absl::Status never = a.GrowTo(101, absl::Seconds(10), "parsing a");
  EXPECT_EQ(never.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(never.message(), HasSubstr("more than the 1 MiB the server "
                                         "allows for all of them at once"));
  MemoryBudget::Reservation moved(std::move(a));
  EXPECT_EQ(a.bytes(), 0u);
  EXPECT_EQ(budget.in_use(), 60u);
  moved.Release();
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(MemoryBudgetTest, AWaiterGetsWhatAnotherGivesBack) {
  MemoryBudget budget(100);
  auto first = std::make_unique<MemoryBudget::Reservation>(budget.Empty());
  ASSERT_TRUE(first->GrowTo(100, absl::ZeroDuration(), "first").ok());
  std::thread giver([&] {
    // Gives back only once `second` is really waiting for it.
    while (budget.waiting() == 0) std::this_thread::yield();
    first.reset();
  });
  MemoryBudget::Reservation second = budget.Empty();
  // Bounded by the wait, not by a timing assertion: 10 minutes is "forever".
  EXPECT_TRUE(second.GrowTo(100, absl::Minutes(10), "second").ok());
  giver.join();
  EXPECT_EQ(budget.in_use(), 100u);
}

}  // namespace
}  // namespace mv
