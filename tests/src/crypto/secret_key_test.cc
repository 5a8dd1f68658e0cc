#include "crypto/secret_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/bytes.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

std::string Raw(const SecretKey& k) { return std::string(AsChars(k.span())); }

TEST(SecretKey, FromBytesCopiesExactly32Bytes) {
  std::string raw(32, '\0');
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 7);
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(AsBytes(raw));
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(Raw(*key), raw);
  raw[0] = 'x';  // a copy, not a view
  EXPECT_NE(Raw(*key), raw);
}

TEST(SecretKey, FromBytesRejectsAnyOtherLength) {
  for (size_t n : {0, 1, 16, 31, 33, 64}) {
    EXPECT_THAT(SecretKey::FromBytes(AsBytes(std::string(n, 'k'))),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("exactly 32 bytes")))
        << n;
  }
}

TEST(SecretKey, RandomKeysDiffer) {
  absl::StatusOr<SecretKey> a = SecretKey::Random(), b = SecretKey::Random();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(Raw(*a), Raw(*b));
  EXPECT_NE(Raw(*a), std::string(32, '\0'));
}

TEST(SecretKey, MoveTransfersTheBytes) {
  const std::string raw(32, 'q');
  SecretKey a = *SecretKey::FromBytes(AsBytes(raw));
  SecretKey b(std::move(a));
  EXPECT_EQ(Raw(b), raw);
  SecretKey c = *SecretKey::Random();
  c = std::move(b);
  EXPECT_EQ(Raw(c), raw);
  EXPECT_EQ(c.span().size(), SecretKey::kSize);
}

}  // namespace
}  // namespace mv
