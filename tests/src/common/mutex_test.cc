// Mutex, MutexLock, CondVar: exclusion, waits that wake and that time out,
// and a lock released for a window and taken back. That the annotations are
// checked at all is thread_safety_analysis_test (a clang build refuses an
// unguarded access).
#include "common/mutex.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mv {
namespace {

TEST(MutexTest, ExcludesOtherThreads) {
  Mutex mu;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, 40000);
}

// Sets `flag` under `mu` on another thread and signals `ready`.
std::thread SetFlagAndSignal(Mutex& mu, CondVar& ready, bool& flag) {
  return std::thread([&] {
    MutexLock lock(&mu);
    flag = true;
    ready.SignalAll();
  });
}

TEST(CondVarTest, WaitWakesWhenSignalled) {
  Mutex mu;
  CondVar ready;
  bool flag = false;
  std::thread setter = SetFlagAndSignal(mu, ready, flag);
  {
    MutexLock lock(&mu);
    while (!flag) ready.Wait(mu);
    EXPECT_TRUE(flag);
  }
  setter.join();
}

TEST(CondVarTest, WaitUntilTimesOutAndAnInfiniteDeadlineNeverPasses) {
  Mutex mu;
  CondVar never;
  MutexLock lock(&mu);
  EXPECT_FALSE(never.WaitUntil(mu, CondVar::After(absl::Milliseconds(5))));
  EXPECT_FALSE(never.WaitUntil(mu, CondVar::After(absl::ZeroDuration())));
  EXPECT_EQ(CondVar::After(absl::InfiniteDuration()), CondVar::Deadline::max());
}

TEST(CondVarTest, WaitUntilAnInfiniteDeadlineReturnsWhenSignalled) {
  Mutex mu;
  CondVar ready;
  bool flag = false;
  std::thread setter = SetFlagAndSignal(mu, ready, flag);
  {
    MutexLock lock(&mu);
    while (!flag)
      EXPECT_TRUE(
          ready.WaitUntil(mu, CondVar::After(absl::InfiniteDuration())));
  }
  setter.join();
}

TEST(MutexLockTest, ReleaseLetsOthersInUntilReacquire) {
  Mutex mu;
  int value = 0;
  MutexLock lock(&mu);
  lock.Release();
  std::thread other([&] {
    MutexLock inner(&mu);
    value = 1;
  });
  other.join();  // would deadlock if Release kept the lock
  lock.Reacquire();
  EXPECT_EQ(value, 1);
}

}  // namespace
}  // namespace mv
