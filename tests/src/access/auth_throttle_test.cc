// AuthThrottle: the token bucket per address, its keys, its counts and its
// bound on memory.
#include "access/auth_throttle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace mv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

// Fails `n` times from `ip` at `at`; how many were refused.
int FailTimes(AuthThrottle& throttle, std::string_view ip, int n,
              absl::Time at) {
  int refused = 0;
  for (int i = 0; i < n; ++i) refused += !throttle.Failed(ip, at).ok();
  return refused;
}

TEST(AuthThrottleTest, AllowsTheBurstThenRefusesAndCounts) {
  AuthThrottle throttle({.burst = 5, .per_minute = 5});
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 5, kT0), 0);
  absl::Status refused = throttle.Failed("10.0.0.7", kT0);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(),
              HasSubstr("too many failed authentications from 10.0.0.7; "
                        "retry in 12 s"));
  EXPECT_TRUE(IsThrottled(refused));
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 9, kT0 + absl::Seconds(1)), 9);

  std::vector<ThrottledAddress> drained = throttle.Drain();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].address, "10.0.0.7");
  EXPECT_EQ(drained[0].refused, 10u);
  EXPECT_EQ(drained[0].first, kT0);
  EXPECT_EQ(drained[0].last, kT0 + absl::Seconds(1));
  EXPECT_THAT(throttle.Drain(), IsEmpty());  // drained once
}

TEST(AuthThrottleTest, EarnsFailuresBackAtItsRateUpToTheBurst) {
  AuthThrottle throttle({.burst = 4, .per_minute = 2});
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 4, kT0), 0);
  // 2 per minute: one more after 30 s, not before.
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 1, kT0 + absl::Seconds(29)), 1);
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 2, kT0 + absl::Seconds(31)), 1);
  // An hour later the bucket is full again, and no fuller.
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 5, kT0 + absl::Hours(1)), 1);
}

TEST(AuthThrottleTest, AddressesHaveTheirOwnBuckets) {
  AuthThrottle throttle({.burst = 1, .per_minute = 1});
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 2, kT0), 1);
  EXPECT_EQ(FailTimes(throttle, "10.0.0.8", 1, kT0), 0);
  EXPECT_EQ(FailTimes(throttle, "", 1, kT0), 0);  // "local"
  EXPECT_EQ(FailTimes(throttle, "", 1, kT0), 1);
  std::vector<ThrottledAddress> drained = throttle.Drain();
  ASSERT_EQ(drained.size(), 2u);
  EXPECT_EQ(drained[0].address, "10.0.0.7");
  EXPECT_EQ(drained[1].address, "local");
}

TEST(AuthThrottleTest, ZeroBurstTurnsItOff) {
  AuthThrottle throttle({.burst = 0, .per_minute = 1});
  EXPECT_EQ(FailTimes(throttle, "10.0.0.7", 1000, kT0), 0);
  EXPECT_THAT(throttle.Drain(), IsEmpty());
}

TEST(AuthThrottleTest, KeysIpv6ByItsSlash64AndMappedIpv4AsIpv4) {
  EXPECT_EQ(ThrottleKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(ThrottleKey("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  EXPECT_EQ(ThrottleKey("::1"), "::/64");
  EXPECT_EQ(ThrottleKey("::ffff:10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ThrottleKey("10.1.2.3"), "10.1.2.3");
  EXPECT_EQ(ThrottleKey(""), "local");
  EXPECT_EQ(ThrottleKey("not an address"), "local");

  AuthThrottle throttle({.burst = 1, .per_minute = 1});
  EXPECT_EQ(FailTimes(throttle, "2001:db8:1:2::1", 1, kT0), 0);
  EXPECT_EQ(FailTimes(throttle, "2001:db8:1:2::2", 1, kT0), 1);  // same /64
  EXPECT_EQ(FailTimes(throttle, "2001:db8:1:3::1", 1, kT0), 0);
}

TEST(AuthThrottleTest, RestorePutsCountsBackWithoutLosingNewOnes) {
  AuthThrottle throttle({.burst = 1, .per_minute = 1});
  FailTimes(throttle, "10.0.0.7", 4, kT0);  // 3 refused
  std::vector<ThrottledAddress> drained = throttle.Drain();
  FailTimes(throttle, "10.0.0.7", 2, kT0 + absl::Seconds(5));  // 2 more
  throttle.Restore(drained);
  drained = throttle.Drain();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].refused, 5u);
  EXPECT_EQ(drained[0].first, kT0);
  EXPECT_EQ(drained[0].last, kT0 + absl::Seconds(5));
}

TEST(AuthThrottleTest, TrackedAddressesStayBoundedUnderASpray) {
  AuthThrottle throttle({.burst = 1, .per_minute = 1});
  // Every address spends its one failure and stays empty: nothing can be
  // dropped, so past the cap new addresses share the overflow bucket.
  const size_t n = AuthThrottle::kMaxTrackedAddresses;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(throttle
                    .Failed(absl::StrCat("10.", i >> 16, ".", (i >> 8) & 255,
                                         ".", i & 255),
                            kT0)
                    .ok());
  }
  EXPECT_TRUE(throttle.Failed("192.168.0.1", kT0).ok());   // overflow's one
  EXPECT_FALSE(throttle.Failed("192.168.0.2", kT0).ok());  // shares it
  std::vector<ThrottledAddress> drained = throttle.Drain();
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0].address, "overflow");
  // Once buckets have refilled they are dropped and addresses get their own.
  EXPECT_TRUE(throttle.Failed("192.168.0.3", kT0 + absl::Minutes(2)).ok());
  EXPECT_TRUE(throttle.Failed("192.168.0.4", kT0 + absl::Minutes(2)).ok());
}

}  // namespace
}  // namespace mv
