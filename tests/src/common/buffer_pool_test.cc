#include "common/buffer_pool.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mv {
namespace {

TEST(BufferPool, EmptyPoolGivesAnEmptyString) {
  BufferPool pool(2);
  EXPECT_TRUE(pool.Take().empty());
}

TEST(BufferPool, TakeReturnsAGivenBufferWithItsAllocation) {
  BufferPool pool(2);
  std::string buffer(1 << 20, 'x');
  const char* data = buffer.data();
  pool.Give(std::move(buffer));
  std::string again = pool.Take();
  EXPECT_EQ(again.data(), data);  // the same allocation, not a copy
  EXPECT_EQ(again.size(), size_t{1} << 20);
  EXPECT_TRUE(pool.Take().empty());
}

TEST(BufferPool, KeepsAtMostCapacityBuffers) {
  BufferPool pool(2);
  for (int i = 0; i < 5; ++i) pool.Give(std::string(100, 'a'));
  EXPECT_FALSE(pool.Take().empty());
  EXPECT_FALSE(pool.Take().empty());
  EXPECT_TRUE(pool.Take().empty());
}

TEST(BufferPool, GiveAndTakeFromTwoThreads) {
  BufferPool pool(4);
  std::thread giver([&] {
    for (int i = 0; i < 10000; ++i) pool.Give(std::string(64, 'g'));
  });
  size_t taken = 0;
  for (int i = 0; i < 10000; ++i) taken += pool.Take().size() == 64;
  giver.join();
  while (!pool.Take().empty()) ++taken;
  EXPECT_GT(taken, 0u);
  EXPECT_LE(taken, 10000u);
}

}  // namespace
}  // namespace mv
