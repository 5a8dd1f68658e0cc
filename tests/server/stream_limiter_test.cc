// StreamLimiter: N slots per principal, the N+1-th refused with a message
// naming the principal and the limit, slots given back by destruction and
// moves, principals independent, 0 = no limit, and no lost counts under
// concurrent use.
#include "server/stream_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace mvserver {
namespace {

TEST(StreamLimiterTest,
     TheSlotBeyondTheLimitIsResourceExhaustedNamingPrincipalAndLimit) {
  StreamLimiter limiter(2);
  absl::StatusOr<StreamLimiter::Slot> a = limiter.Acquire("alice");
  absl::StatusOr<StreamLimiter::Slot> b = limiter.Acquire("alice");
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<StreamLimiter::Slot> c = limiter.Acquire("alice");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(c.status().message(),
            "too many open streams for principal alice (limit 2)");
  EXPECT_EQ(limiter.OpenStreams("alice"), 2u)
      << "a refused acquire holds nothing";
}

TEST(StreamLimiterTest, DestroyingASlotGivesItBack) {
  StreamLimiter limiter(1);
  {
    absl::StatusOr<StreamLimiter::Slot> a = limiter.Acquire("alice");
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(limiter.Acquire("alice").ok());
  }
  EXPECT_EQ(limiter.OpenStreams("alice"), 0u);
  EXPECT_TRUE(limiter.Acquire("alice").ok());
}

TEST(StreamLimiterTest, PrincipalsAreCountedSeparately) {
  StreamLimiter limiter(1);
  absl::StatusOr<StreamLimiter::Slot> alice = limiter.Acquire("alice");
  ASSERT_TRUE(alice.ok());
  EXPECT_FALSE(limiter.Acquire("alice").ok());
  absl::StatusOr<StreamLimiter::Slot> bob = limiter.Acquire("bob");
  EXPECT_TRUE(bob.ok());
  EXPECT_EQ(limiter.OpenStreams("alice"), 1u);
  EXPECT_EQ(limiter.OpenStreams("bob"), 1u);
  EXPECT_EQ(limiter.OpenStreams("carol"), 0u);
}

TEST(StreamLimiterTest, AMovedSlotIsReleasedOnceByItsLastOwner) {
  StreamLimiter limiter(2);
  std::optional<StreamLimiter::Slot> outer;
  {
    absl::StatusOr<StreamLimiter::Slot> a = limiter.Acquire("alice");
    ASSERT_TRUE(a.ok());
    outer.emplace(*std::move(a));
  }  // the moved-from slot is destroyed here and must not release
  EXPECT_EQ(limiter.OpenStreams("alice"), 1u);
  absl::StatusOr<StreamLimiter::Slot> b = limiter.Acquire("alice");
  ASSERT_TRUE(b.ok());
  *outer = *std::move(b);  // move-assign releases the slot `outer` held
  EXPECT_EQ(limiter.OpenStreams("alice"), 1u);
  outer.reset();
  EXPECT_EQ(limiter.OpenStreams("alice"), 0u);
}

TEST(StreamLimiterTest, ZeroMeansNoLimit) {
  StreamLimiter limiter(0);
  std::vector<StreamLimiter::Slot> slots;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<StreamLimiter::Slot> slot = limiter.Acquire("alice");
    ASSERT_TRUE(slot.ok()) << i;
    slots.push_back(*std::move(slot));
  }
  EXPECT_EQ(limiter.OpenStreams("alice"), 1000u);
  slots.clear();
  EXPECT_EQ(limiter.OpenStreams("alice"), 0u);
}

// 8 threads acquire and release the one principal's 3 slots as fast as they
// can; each counts how many it held at once. The limit is never exceeded
// and every slot comes back.
TEST(StreamLimiterTest,
     ConcurrentAcquiresNeverExceedTheLimitAndAllSlotsComeBack) {
  constexpr uint32_t kLimit = 3;
  StreamLimiter limiter(kLimit);
  std::atomic<uint32_t> held{0}, most{0}, granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        absl::StatusOr<StreamLimiter::Slot> slot = limiter.Acquire("alice");
        if (!slot.ok()) continue;
        ++granted;
        uint32_t now = ++held;
        uint32_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most.load(), kLimit);
  EXPECT_GT(granted.load(), 0u);
  EXPECT_EQ(limiter.OpenStreams("alice"), 0u);
}

}  // namespace
}  // namespace mvserver
