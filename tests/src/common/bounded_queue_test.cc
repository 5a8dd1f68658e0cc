#include "common/bounded_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <thread>

#include "common/bytes.h"
#include "common/clock.h"

namespace mv {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

// Returns once `n` threads are blocked in `q` (not a timing guess: the
// close tests below must close a queue someone is really asleep on).
template <typename T>
void WaitUntilBlocked(const BoundedQueue<T>& q, int n) {
  while (q.waiting() < n) std::this_thread::yield();
}

TEST(BoundedQueue, PopsInPushOrder) {
  BoundedQueue<int> q(4);
  EXPECT_TRUE(q.Push(1));
  EXPECT_TRUE(q.Push(2));
  EXPECT_THAT(q.Pop(), Optional(1));
  EXPECT_THAT(q.Pop(), Optional(2));
}

TEST(BoundedQueue, CloseDrainsWhatIsLeftThenEnds) {
  BoundedQueue<std::string> q(4);
  ASSERT_TRUE(q.Push("a"));
  ASSERT_TRUE(q.Push("b"));
  q.Close();
  EXPECT_FALSE(q.Push("c")) << "pushes fail once closed";
  EXPECT_THAT(q.Pop(), Optional(std::string("a")));
  EXPECT_THAT(q.Pop(), Optional(std::string("b")));
  EXPECT_EQ(q.Pop(), std::nullopt);
  EXPECT_EQ(q.Pop(), std::nullopt);
}

TEST(BoundedQueue, PopAllTakesEverythingQueued) {
  BoundedQueue<int> q(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.Push(i));
  std::deque<int> out;
  ASSERT_TRUE(q.PopAll(&out));
  EXPECT_THAT(out, ElementsAre(0, 1, 2, 3, 4));
  q.Close();
  EXPECT_FALSE(q.PopAll(&out));
  EXPECT_EQ(out.size(), 5u);
}

TEST(BoundedQueue, FullQueueBlocksTheProducerUntilAPop) {
  BoundedQueue<int> q(2);
  ASSERT_TRUE(q.Push(0));
  ASSERT_TRUE(q.Push(1));
  std::thread producer([&] {
    for (int i = 2; i < 100; ++i) ASSERT_TRUE(q.Push(i));
    q.Close();
  });
  WaitUntilBlocked(q, 1);  // the producer really is held back by the bound
  std::vector<int> got;
  while (std::optional<int> v = q.Pop()) got.push_back(*v);
  producer.join();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
}

TEST(BoundedQueue, CloseWakesABlockedProducer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(0));
  bool pushed = true;
  std::thread producer([&] { pushed = q.Push(1); });
  WaitUntilBlocked(q, 1);
  q.Close();
  producer.join();
  EXPECT_FALSE(pushed);
  EXPECT_EQ(q.waiting(), 0);
}

TEST(BoundedQueue, CloseWakesABlockedConsumer) {
  BoundedQueue<int> q(1);
  std::optional<int> got = 42;
  std::thread consumer([&] { got = q.Pop(); });
  WaitUntilBlocked(q, 1);
  q.Close();
  consumer.join();
  EXPECT_EQ(got, std::nullopt);
  EXPECT_EQ(q.waiting(), 0);
}

TEST(BoundedQueue, CloseWakesEveryBlockedPopAll) {
  BoundedQueue<int> q(1);
  bool first = true, second = true;
  std::deque<int> a, b;
  std::thread one([&] { first = q.PopAll(&a); });
  std::thread two([&] { second = q.PopAll(&b); });
  WaitUntilBlocked(q, 2);
  q.Close();
  one.join();
  two.join();
  EXPECT_FALSE(first);
  EXPECT_FALSE(second);
}

TEST(BoundedQueue, APushWakesABlockedConsumer) {
  BoundedQueue<int> q(1);
  std::optional<int> got;
  std::thread consumer([&] { got = q.Pop(); });
  WaitUntilBlocked(q, 1);
  ASSERT_TRUE(q.Push(7));
  consumer.join();
  EXPECT_THAT(got, Optional(7));
}

TEST(FakeClock, MovesOnlyWhenAdvanced) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(absl::ToUnixMillis(clock.Now()), 1'001'500);
  EXPECT_NE(Clock::Real(), nullptr);
  EXPECT_GT(Clock::Real()->Now(), absl::FromUnixSeconds(1'600'000'000));
}

TEST(BigEndian, RoundTripsAndOrdersNumerically) {
  uint8_t buf[8];
  PutBigEndian64(buf, 0x0102030405060708);
  EXPECT_EQ(buf[0], 1);
  EXPECT_EQ(buf[7], 8);
  EXPECT_EQ(GetBigEndian64(buf), 0x0102030405060708u);
  uint8_t b4[4];
  PutBigEndian32(b4, 0xa1b2c3d4);
  EXPECT_EQ(b4[0], 0xa1);
  EXPECT_EQ(b4[3], 0xd4);
  std::string s;
  AppendBigEndian64(&s, 1);
  AppendBigEndian64(&s, UINT64_MAX);
  std::string expected(8, '\0');
  expected[7] = '\x01';
  expected.append(8,
                  '\xff');  // not operator+: GCC 12 -O2 sees a bogus overflow
  EXPECT_EQ(s, expected);
}

}  // namespace
}  // namespace mv
