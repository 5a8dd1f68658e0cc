#include "common/xxh3.h"

#include <gtest/gtest.h>

#include <string>

namespace mv {
namespace {

TEST(Xxh3Test, EmptyInputHasThePublishedValue) {
  // XXH3_64bits("", 0) with seed 0, as xxHash's own tests give it: the
  // client and any other implementation must agree on the function.
  EXPECT_EQ(Xxh3::Of(""), 0x2D06800538D394C2u);
  EXPECT_EQ(Xxh3().Digest(), 0x2D06800538D394C2u);
}

TEST(Xxh3Test, StreamingInAnySplitEqualsOneShot) {
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 131 + (i >> 9));
  for (size_t piece : {size_t{1} << 20, size_t{4096}, size_t{1000}, size_t{7}}) {
    Xxh3 streamed;
    for (size_t at = 0; at < data.size(); at += piece)
      streamed.Update(std::string_view(data).substr(at, piece));
    EXPECT_EQ(streamed.Digest(), Xxh3::Of(data)) << "pieces of " << piece;
  }
}

TEST(Xxh3Test, ASingleFlippedBitChangesTheChecksum) {
  std::string data(1 << 20, 'x');
  const uint64_t before = Xxh3::Of(data);
  data[12345] ^= 0x10;
  EXPECT_NE(Xxh3::Of(data), before);
}

}  // namespace
}  // namespace mv
