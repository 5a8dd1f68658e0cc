#include "vault/format_detect.h"

#include <gtest/gtest.h>

#include <string>

namespace mv {
namespace {

// The first kFormatSniffBytes of a safetensors file whose header is `n` bytes.
std::string SafetensorsHead(uint64_t n, char first = '{') {
  std::string head;
  for (int i = 0; i < 8; ++i)
    head.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  head.push_back(first);
  return head;
}

TEST(DetectFormat, RecognisesASafetensorsHeader) {
  EXPECT_EQ(DetectFormat(SafetensorsHead(2), 10), Format::kSafetensors);
  EXPECT_EQ(DetectFormat(SafetensorsHead(1000), 5000), Format::kSafetensors);
  EXPECT_EQ(DetectFormat(SafetensorsHead(100'000'000), 200'000'000),
            Format::kSafetensors);
}

TEST(DetectFormat, HeaderLengthMayEqualSizeMinus8ButNotExceedIt) {
  EXPECT_EQ(DetectFormat(SafetensorsHead(92), 100), Format::kSafetensors);
  EXPECT_EQ(DetectFormat(SafetensorsHead(93), 100), Format::kBlob);
  EXPECT_EQ(DetectFormat(SafetensorsHead(1), 9), Format::kSafetensors);
  EXPECT_EQ(DetectFormat(SafetensorsHead(2), 9), Format::kBlob);
}

TEST(DetectFormat, HugeHeaderLengthIsABlob) {
  EXPECT_EQ(DetectFormat(SafetensorsHead(100'000'001), uint64_t{1} << 40),
            Format::kBlob);
  EXPECT_EQ(DetectFormat(SafetensorsHead(UINT64_MAX), UINT64_MAX),
            Format::kBlob);
}

TEST(DetectFormat, HeaderNotStartingWithABraceIsABlob) {
  EXPECT_EQ(DetectFormat(SafetensorsHead(10, '['), 100), Format::kBlob);
  EXPECT_EQ(DetectFormat(SafetensorsHead(10, ' '), 100), Format::kBlob);
}

TEST(DetectFormat, RecognisesGgufMagic) {
  EXPECT_EQ(DetectFormat("GGUF\x03\0\0\0\0", 1000), Format::kGguf);
  EXPECT_EQ(DetectFormat("GGUF", 4), Format::kGguf);
  EXPECT_EQ(DetectFormat("gguf\x03\0\0\0\0", 1000), Format::kBlob);
  EXPECT_EQ(DetectFormat("GGU", 3), Format::kBlob);
}

TEST(DetectFormat, ShortInputsAreBlobs) {
  EXPECT_EQ(DetectFormat("", 0), Format::kBlob);
  EXPECT_EQ(DetectFormat("{", 1), Format::kBlob);
  EXPECT_EQ(DetectFormat(SafetensorsHead(0).substr(0, 8), 8), Format::kBlob);
}

TEST(DetectFormat, OtherBytesAreBlobs) {
  EXPECT_EQ(DetectFormat("PK\x03\x04zipfile", 1000), Format::kBlob);
  EXPECT_EQ(DetectFormat(std::string(9, '\xff'), 1000), Format::kBlob);
}

}  // namespace
}  // namespace mv
