#include "crypto/sha256.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/bytes.h"
#include "testing/test_bytes.h"

namespace mv {
namespace {

std::string HexOf(const Sha256Digest& d) { return ToHex(d); }

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(HexOf(Sha256::Of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexOf(Sha256::Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexOf(Sha256::Of(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAsMatchesTheKnownVector) {
  Sha256 h;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(thousand);
  EXPECT_EQ(HexOf(h.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShotForEverySplit) {
  std::mt19937_64 rng(3);
  const std::string data = mvtesting::RandomBytes(300, rng);
  const Sha256Digest expected = Sha256::Of(data);
  for (size_t split = 0; split <= data.size(); split += 7) {
    Sha256 h;
    h.Update(std::string_view(data).substr(0, split));
    h.Update(AsBytes(std::string_view(data).substr(split)));
    ASSERT_EQ(h.Finish(), expected) << "split " << split;
  }
}

TEST(Sha256, EmptyUpdatesChangeNothing) {
  Sha256 h;
  h.Update("");
  h.Update("abc");
  h.Update(std::span<const uint8_t>{});
  EXPECT_EQ(h.Finish(), Sha256::Of("abc"));
}

TEST(Hex, ToHexIsLowercaseTwoDigitsPerByte) {
  const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff, 0x10};
  EXPECT_EQ(ToHex(bytes), "0001abff10");
  EXPECT_EQ(ToHex({}), "");
}

TEST(Hex, FromHexParsesBothCasesAndRoundTrips) {
  std::string out;
  ASSERT_TRUE(FromHex("0001abFF10", &out));
  EXPECT_EQ(out, std::string("\x00\x01\xab\xff\x10", 5));
  ASSERT_TRUE(FromHex("", &out));
  EXPECT_EQ(out, "");
  std::mt19937_64 rng(4);
  const std::string data = mvtesting::RandomBytes(64, rng);
  ASSERT_TRUE(FromHex(ToHex(AsBytes(data)), &out));
  EXPECT_EQ(out, data);
}

TEST(Hex, FromHexRejectsOddLengthAndBadDigits) {
  std::string out;
  for (const char* bad :
       {"0", "abc", "0g", "g0", "zz", " 0", "0x", "-1", "1 "}) {
    EXPECT_FALSE(FromHex(bad, &out)) << bad;
  }
}

}  // namespace
}  // namespace mv
