#include "crypto/aead.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/bytes.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::Eq;

constexpr char kFailure[] = "stored data failed authentication";

Aead NewAead() { return Aead(*SecretKey::Random()); }

TEST(Aead, SealThenOpenReturnsThePlaintext) {
  Aead aead = NewAead();
  std::mt19937_64 rng(1);
  for (size_t n : {0, 1, 15, 16, 17, 1000, 65537}) {
    const std::string plain = mvtesting::RandomBytes(n, rng);
    std::string sealed, opened;
    aead.Seal(AsBytes(plain), AsBytes("ad"), &sealed);
    ASSERT_EQ(sealed.size(), n + Aead::kOverhead);
    ASSERT_THAT(aead.Open(AsBytes(sealed), AsBytes("ad"), &opened), IsOk());
    EXPECT_EQ(opened, plain) << "size " << n;
  }
}

TEST(Aead, SealedBytesDoNotContainThePlaintext) {
  Aead aead = NewAead();
  const std::string plain(64, 'P');
  std::string sealed;
  aead.Seal(AsBytes(plain), {}, &sealed);
  EXPECT_EQ(sealed.find("PPPPPPPP"), std::string::npos);
}

TEST(Aead, TwoSealsOfTheSamePlaintextDiffer) {
  Aead aead = NewAead();
  std::string a, b;
  aead.Seal(AsBytes("same plaintext"), AsBytes("ad"), &a);
  aead.Seal(AsBytes("same plaintext"), AsBytes("ad"), &b);
  EXPECT_NE(a.substr(0, Aead::kNonceSize), b.substr(0, Aead::kNonceSize));
  EXPECT_NE(a.substr(Aead::kNonceSize), b.substr(Aead::kNonceSize));
}

TEST(Aead, WrongAssociatedDataFailsWithTheFixedMessage) {
  Aead aead = NewAead();
  std::string sealed, out = "stale";
  aead.Seal(AsBytes("secret"), AsBytes("ad-1"), &sealed);
  EXPECT_THAT(aead.Open(AsBytes(sealed), AsBytes("ad-2"), &out),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
  EXPECT_TRUE(out.empty());
  EXPECT_THAT(aead.Open(AsBytes(sealed), {}, &out),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST(Aead, WrongKeyFailsWithTheFixedMessage) {
  std::string sealed, out;
  NewAead().Seal(AsBytes("secret"), AsBytes("ad"), &sealed);
  EXPECT_THAT(NewAead().Open(AsBytes(sealed), AsBytes("ad"), &out),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST(Aead, EveryFlippedBitFailsToOpen) {
  Aead aead = NewAead();
  std::string sealed;
  aead.Seal(AsBytes("sixteen byte msg"), AsBytes("ad"), &sealed);
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::string bad = sealed, out;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_THAT(aead.Open(AsBytes(bad), AsBytes("ad"), &out),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << "bit " << bit;
    ASSERT_TRUE(out.empty()) << "bit " << bit;
  }
}

TEST(Aead, EveryTruncationFailsToOpen) {
  Aead aead = NewAead();
  std::string sealed;
  aead.Seal(AsBytes("some plaintext"), AsBytes("ad"), &sealed);
  for (size_t n = 0; n < sealed.size(); ++n) {
    std::string out;
    ASSERT_THAT(aead.Open(AsBytes(std::string_view(sealed).substr(0, n)),
                          AsBytes("ad"), &out),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << "length " << n;
  }
}

TEST(Aead, AppendedBytesFailToOpen) {
  Aead aead = NewAead();
  std::string sealed, out;
  aead.Seal(AsBytes("some plaintext"), AsBytes("ad"), &sealed);
  EXPECT_THAT(aead.Open(AsBytes(sealed + "x"), AsBytes("ad"), &out),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST(Aead, EmptyPlaintextStillAuthenticates) {
  Aead aead = NewAead();
  std::string sealed, out = "x";
  aead.Seal({}, AsBytes("ad"), &sealed);
  ASSERT_EQ(sealed.size(), Aead::kOverhead);
  EXPECT_THAT(aead.Open(AsBytes(sealed), AsBytes("ad"), &out), IsOk());
  EXPECT_EQ(out, "");
  EXPECT_THAT(aead.Open(AsBytes(sealed), AsBytes("other"), &out),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST(Aead, SameKeyBytesOpenWhatAnotherInstanceSealed) {
  const std::string raw(32, '\x42');
  Aead a(*SecretKey::FromBytes(AsBytes(raw)));
  Aead b(*SecretKey::FromBytes(AsBytes(raw)));
  std::string sealed, out;
  a.Seal(AsBytes("portable"), AsBytes("ad"), &sealed);
  ASSERT_THAT(b.Open(AsBytes(sealed), AsBytes("ad"), &out), IsOk());
  EXPECT_EQ(out, "portable");
}

}  // namespace
}  // namespace mv
