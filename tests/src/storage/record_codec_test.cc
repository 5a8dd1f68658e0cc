#include "storage/record_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/status_matchers.h"
#include "testing/test_bytes.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;

std::string Sample() {
  return Encoder()
      .U8(0xab)
      .U32(0x01020304)
      .U64(0x1122334455667788)
      .Bytes("hi")
      .Bytes("")
      .Finish();
}

TEST(Encoder, WritesLittleEndianFixedWidthAndLengthPrefixedBytes) {
  EXPECT_EQ(mvtesting::Hex(Sample()),
            "ab"
            "04030201"
            "8877665544332211"
            "02000000"
            "6869"
            "00000000");
}

TEST(Decoder, ReadsBackWhatEncoderWrote) {
  const std::string in = Sample();
  uint8_t a = 0;
  uint32_t b = 0;
  uint64_t c = 0;
  std::string d, e = "stale";
  Decoder dec(in, "sample");
  dec.U8(&a).U32(&b).U64(&c).Bytes(&d).Bytes(&e);
  ASSERT_THAT(dec.Finish(), IsOk());
  EXPECT_EQ(a, 0xab);
  EXPECT_EQ(b, 0x01020304u);
  EXPECT_EQ(c, 0x1122334455667788u);
  EXPECT_EQ(d, "hi");
  EXPECT_EQ(e, "");
}

TEST(Decoder, EveryTruncationIsDataLossNamingTheRecord) {
  const std::string in = Sample();
  for (size_t n = 0; n < in.size(); ++n) {
    uint8_t a;
    uint32_t b;
    uint64_t c;
    std::string d, e;
    Decoder dec(std::string_view(in).substr(0, n), "sample");
    dec.U8(&a).U32(&b).U64(&c).Bytes(&d).Bytes(&e);
    EXPECT_FALSE(dec.ok()) << n;
    EXPECT_THAT(dec.Finish(),
                StatusIs(absl::StatusCode::kDataLoss, "corrupt sample record"))
        << n;
  }
}

TEST(Decoder, TrailingBytesAreDataLoss) {
  const std::string in = Encoder().U32(1).Finish() + "x";
  uint32_t v;
  Decoder dec(in, "thing");
  dec.U32(&v);
  EXPECT_TRUE(dec.ok());
  EXPECT_THAT(dec.Finish(),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt thing record"));
}

TEST(Decoder, HugeLengthPrefixNeverReadsPastTheInput) {
  const std::string in = std::string("\xff\xff\xff\xff", 4) + "abc";
  std::string v = "untouched";
  Decoder dec(in, "blob");
  dec.Bytes(&v);
  EXPECT_FALSE(dec.ok());
  EXPECT_EQ(v, "untouched");
  EXPECT_THAT(dec.Finish(),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt blob record"));
}

TEST(Decoder, StaysFailedAfterTheFirstShortRead) {
  const std::string in(5, '\x01');
  uint64_t big = 7;
  uint32_t small = 9;
  Decoder dec(in, "x");
  dec.U64(&big).U32(
      &small);  // the U64 fails; the U32 that would fit must not run
  EXPECT_EQ(big, 7u);
  EXPECT_EQ(small, 9u);
  EXPECT_FALSE(dec.ok());
}

TEST(Decoder, EmptyInputWithNoReadsIsOk) {
  EXPECT_THAT(Decoder("", "x").Finish(), IsOk());
}

}  // namespace
}  // namespace mv
