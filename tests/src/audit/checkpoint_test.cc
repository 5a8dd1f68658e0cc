#include "audit/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

Checkpoint Sample() {
  return Checkpoint{1000, std::string(32, '\x5a'), 1700000000123};
}

std::unique_ptr<AuditSigningKey> NewKey() {
  auto key = AuditSigningKey::Generate();
  EXPECT_THAT(key, IsOk());
  return std::move(*key);
}

TEST(Checkpoint, RoundTrips) {
  const std::string e = EncodeCheckpoint(Sample());
  EXPECT_EQ(e.size(), 49u);
  EXPECT_EQ(e[0], kCheckpointLayoutVersion);
  EXPECT_THAT(DecodeCheckpoint(e), mvtesting::IsOkAndHolds(Sample()));
}

TEST(Checkpoint, DecoderRejectsMalformedInput) {
  const std::string e = EncodeCheckpoint(Sample());
  EXPECT_THAT(DecodeCheckpoint(""),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("empty")));
  EXPECT_THAT(DecodeCheckpoint(e.substr(0, 48)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("size")));
  EXPECT_THAT(DecodeCheckpoint(e + "x"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("size")));
  EXPECT_THAT(
      DecodeCheckpoint("\x02" + e.substr(1)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
  EXPECT_THAT(DecodeCheckpoint(std::string(1, '\0') + e.substr(1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("layout 0")));
}

TEST(Checkpoint, SignatureVerifies) {
  auto key = NewKey();
  const std::string sig = key->Sign(Sample());
  EXPECT_EQ(sig.size(), kSignatureSize);
  EXPECT_THAT(VerifyCheckpoint(Sample(), sig, key->public_key()), IsOk());
}

TEST(Checkpoint, TamperedCheckpointFailsVerification) {
  auto key = NewKey();
  const std::string sig = key->Sign(Sample());
  Checkpoint c = Sample();
  c.sequence++;
  EXPECT_THAT(VerifyCheckpoint(c, sig, key->public_key()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("bad checkpoint signature")));
  c = Sample();
  c.head[0] ^= 1;
  EXPECT_THAT(VerifyCheckpoint(c, sig, key->public_key()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
  c = Sample();
  c.time_unix_ms++;
  EXPECT_THAT(VerifyCheckpoint(c, sig, key->public_key()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
  std::string bad_sig = sig;
  bad_sig[10] ^= 1;
  EXPECT_THAT(VerifyCheckpoint(Sample(), bad_sig, key->public_key()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
  EXPECT_THAT(VerifyCheckpoint(Sample(), sig.substr(1), key->public_key()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
}

TEST(Checkpoint, AnotherKeysSignatureFails) {
  auto key = NewKey();
  auto other = NewKey();
  EXPECT_NE(key->public_key(), other->public_key());
  EXPECT_THAT(
      VerifyCheckpoint(Sample(), other->Sign(Sample()), key->public_key()),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature")));
}

TEST(AuditSigningKey, TheSameSeedGivesTheSameKey) {
  auto seed = SecretKey::Random();
  ASSERT_THAT(seed, IsOk());
  auto key = AuditSigningKey::FromSeed(*seed);
  auto again = AuditSigningKey::FromSeed(*seed);
  ASSERT_THAT(key, IsOk());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*key)->public_key(), (*again)->public_key());
  EXPECT_THAT(VerifyCheckpoint(Sample(), (*again)->Sign(Sample()),
                               (*key)->public_key()),
              IsOk());
  auto other = AuditSigningKey::FromSeed(*SecretKey::Random());
  EXPECT_NE((*other)->public_key(), (*key)->public_key());
}

TEST(PublicKeyText, RoundTrips) {
  auto key = NewKey();
  const std::string text = FormatPublicKey(key->public_key());
  EXPECT_TRUE(text.starts_with("modelvault-audit-ed25519 "));
  EXPECT_TRUE(text.ends_with("=\n"));
  EXPECT_THAT(ParsePublicKey(text), mvtesting::IsOkAndHolds(key->public_key()));
  EXPECT_THAT(ParsePublicKey(text.substr(0, text.size() - 1)),
              mvtesting::IsOkAndHolds(key->public_key()));
}

TEST(PublicKeyText, RejectsAnythingElse) {
  auto key = NewKey();
  const std::string text = FormatPublicKey(key->public_key());
  for (const std::string& bad :
       {std::string(""), std::string("modelvault-audit-ed25519 "),
        text.substr(4), "ssh-ed25519 " + text.substr(25),
        text.substr(0, 30) + "\n", text + "\n",
        text.substr(0, text.size() - 1) + " \n",
        "modelvault-audit-ed25519 " + std::string(44, '!')}) {
    EXPECT_THAT(ParsePublicKey(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("not a modelvault")))
        << bad;
  }
}

}  // namespace
}  // namespace mv
