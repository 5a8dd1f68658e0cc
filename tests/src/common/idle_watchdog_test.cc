// IdleWatchdog: fires once after a quiet period, never while touched.
#include "common/idle_watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace mvtesting {
namespace {

TEST(IdleWatchdog, FiresOnceAfterTheIdleTimeout) {
  std::atomic<int> calls{0};
  mv::IdleWatchdog watchdog(absl::Milliseconds(50), [&] { ++calls; });
  for (int i = 0; i < 200 && !watchdog.fired(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(watchdog.fired());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(calls.load(), 1);
}

TEST(IdleWatchdog, TouchingKeepsItQuiet) {
  std::atomic<int> calls{0};
  mv::IdleWatchdog watchdog(absl::Milliseconds(500), [&] { ++calls; });
  // Touch every 10 ms for 1.2 s: more than two timeouts pass, never a gap
  // anywhere near one (wide margin for a loaded machine).
  for (int i = 0; i < 120; ++i) {
    watchdog.Touch();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(watchdog.fired());
  EXPECT_EQ(calls.load(), 0);
}

TEST(IdleWatchdog, DestroyingItBeforeTheTimeoutNeverFires) {
  std::atomic<int> calls{0};
  {
    mv::IdleWatchdog watchdog(absl::Hours(1), [&] { ++calls; });
  }
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace mvtesting
