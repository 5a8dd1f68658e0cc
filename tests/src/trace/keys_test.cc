#include "trace/keys.h"

#include <gtest/gtest.h>

#include <array>

namespace mv {
namespace {

SecretKey MasterKey(uint8_t fill) {
  std::array<uint8_t, 32> bytes;
  bytes.fill(fill);
  return *SecretKey::FromBytes(bytes);
}

TraceKeys Keys(uint8_t fill, uint64_t serial) {
  return *TraceKeys::Derive(MasterKey(fill), serial);
}

TEST(TraceKeys, StreamsAreDeterministic) {
  EXPECT_EQ(Keys(1, 7).Stream(TraceKeyPurpose::kCode, 42, 64),
            Keys(1, 7).Stream(TraceKeyPurpose::kCode, 42, 64));
}

TEST(TraceKeys, ShortStreamIsAPrefixOfALongOne) {
  const TraceKeys keys = Keys(1, 7);
  EXPECT_EQ(keys.Stream(TraceKeyPurpose::kPositions, 3, 16),
            keys.Stream(TraceKeyPurpose::kPositions, 3, 4096).substr(0, 16));
}

TEST(TraceKeys, VersionMasterKeyPurposeAndStreamAllSeparate) {
  const std::string base = Keys(1, 7).Stream(TraceKeyPurpose::kCode, 42, 32);
  EXPECT_NE(base, Keys(1, 8).Stream(TraceKeyPurpose::kCode, 42, 32));
  EXPECT_NE(base, Keys(2, 7).Stream(TraceKeyPurpose::kCode, 42, 32));
  EXPECT_NE(base, Keys(1, 7).Stream(TraceKeyPurpose::kCode, 43, 32));
  for (TraceKeyPurpose p : {TraceKeyPurpose::kPositions,
                            TraceKeyPurpose::kBiases, TraceKeyPurpose::kChips,
                            TraceKeyPurpose::kTag, TraceKeyPurpose::kDecoys}) {
    EXPECT_NE(base, Keys(1, 7).Stream(p, 42, 32)) << int(p);
  }
}

TEST(TraceKeys, StreamNumbersAreLittleEndian) {
  const std::string s("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
  EXPECT_EQ(StreamU64(s, 0), 0x0807060504030201u);
  EXPECT_EQ(StreamU16(s, 1), 0x0403u);
}

}  // namespace
}  // namespace mv
