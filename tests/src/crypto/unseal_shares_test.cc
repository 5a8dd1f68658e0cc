#include "crypto/unseal_shares.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/master_key.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

std::string Raw(const SecretKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), SecretKey::kSize);
}

std::vector<UnsealShare> Parse(const std::vector<std::string>& texts) {
  std::vector<UnsealShare> out;
  for (const std::string& t : texts) out.push_back(*ParseShare(t));
  return out;
}

TEST(UnsealShares, ShareTextHasTheDocumentedShape) {
  SecretKey kek = *SecretKey::Random();
  std::vector<std::string> shares = *SplitKey(kek, 5, 3);
  ASSERT_EQ(shares.size(), 5u);
  for (size_t i = 0; i < shares.size(); ++i) {
    EXPECT_THAT(shares[i], ::testing::MatchesRegex(
                               "mvshare1-[0-9a-f]{8}-" + std::to_string(i + 1) +
                               "-[0-9a-f]{64}-[0-9a-f]{8}"));
    EXPECT_THAT(shares[i], HasSubstr("-" + ShareTag(kek) + "-"));
  }
}

TEST(UnsealShares, EveryThresholdSubsetRebuildsTheKey) {
  SecretKey kek = *SecretKey::Random();
  std::vector<UnsealShare> all = Parse(*SplitKey(kek, 5, 3));
  // Every 3-subset and the 4- and 5-subsets containing it.
  std::vector<bool> pick(5, false);
  std::fill(pick.begin(), pick.begin() + 3, true);
  int subsets = 0;
  do {
    std::vector<UnsealShare> some;
    for (size_t i = 0; i < 5; ++i)
      if (pick[i]) some.push_back(all[i]);
    absl::StatusOr<SecretKey> key = CombineShares(some);
    ASSERT_THAT(key.status(), IsOk());
    EXPECT_EQ(Raw(*key), Raw(kek));
    ++subsets;
  } while (std::prev_permutation(pick.begin(), pick.end()));
  EXPECT_EQ(subsets, 10);
  EXPECT_EQ(Raw(*CombineShares(all)), Raw(kek));
}

TEST(UnsealShares, FewerThanThresholdGiveAnotherKeyWithAnotherTag) {
  SecretKey kek = *SecretKey::Random();
  std::vector<UnsealShare> all = Parse(*SplitKey(kek, 5, 3));
  std::vector<UnsealShare> two = {all[0], all[3]};
  SecretKey wrong = *CombineShares(two);
  EXPECT_NE(Raw(wrong), Raw(kek));
  EXPECT_NE(ShareTag(wrong), ShareTag(kek));
  EXPECT_NE(KeyCheckValue(wrong, "0123456789abcdef"),
            KeyCheckValue(kek, "0123456789abcdef"));
}

TEST(UnsealShares, OneOfOneIsTheKeyItself) {
  SecretKey kek = *SecretKey::Random();
  std::vector<UnsealShare> one = Parse(*SplitKey(kek, 1, 1));
  EXPECT_EQ(Raw(*CombineShares(one)), Raw(kek));
}

TEST(UnsealShares, SplittingTwiceGivesDifferentShares) {
  SecretKey kek = *SecretKey::Random();
  // Fresh random coefficients each time (the CSPRNG, not random()).
  EXPECT_NE((*SplitKey(kek, 3, 2))[0], (*SplitKey(kek, 3, 2))[0]);
}

TEST(UnsealShares, ThresholdRulesAreChecked) {
  SecretKey kek = *SecretKey::Random();
  EXPECT_THAT(SplitKey(kek, 0, 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(SplitKey(kek, 256, 3).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(SplitKey(kek, 3, 4).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(
      SplitKey(kek, 5, 1).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 2")));
  EXPECT_THAT(SplitKey(kek, 255, 255).status(), IsOk());
}

TEST(UnsealShares, EveryOneCharacterTypoIsCaught) {
  SecretKey kek = *SecretKey::Random();
  const std::string share = (*SplitKey(kek, 3, 2))[1];
  for (size_t i = 0; i < share.size(); ++i) {
    std::string typo = share;
    typo[i] = typo[i] == 'a' ? 'b' : 'a';
    absl::StatusOr<UnsealShare> parsed = ParseShare(typo);
    EXPECT_FALSE(parsed.ok()) << "position " << i;
  }
  EXPECT_THAT(ParseShare(share.substr(0, share.size() - 1)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(UnsealShares, ChecksumMismatchSaysTypoAndNeverEchoesTheShare) {
  SecretKey kek = *SecretKey::Random();
  std::string share = (*SplitKey(kek, 3, 2))[0];
  // Flip a payload digit: the shape stays valid, the check does not.
  const size_t at = share.size() - 12;
  share[at] = share[at] == '0' ? '1' : '0';
  absl::Status status = ParseShare(share).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("checksum mismatch")));
  EXPECT_THAT(std::string(status.message()),
              ::testing::Not(HasSubstr(share.substr(20, 16))));
}

TEST(UnsealShares, ParseIgnoresSurroundingWhitespaceAndRejectsGarbage) {
  SecretKey kek = *SecretKey::Random();
  const std::string share = (*SplitKey(kek, 3, 2))[2];
  EXPECT_THAT(ParseShare("  " + share + "\n").status(), IsOk());
  EXPECT_THAT(ParseShare("").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not an unseal key")));
  EXPECT_THAT(ParseShare("mvt_abcdef").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  std::string zero = share;
  zero.replace(18, 1, "0");  // index 0 is the secret's point, never a share
  EXPECT_FALSE(ParseShare(zero).ok());
}

TEST(UnsealShares, SharesOfAnotherVaultCarryAnotherTagAndDoNotMix) {
  SecretKey a = *SecretKey::Random(), b = *SecretKey::Random();
  std::vector<UnsealShare> from_a = Parse(*SplitKey(a, 3, 2));
  std::vector<UnsealShare> from_b = Parse(*SplitKey(b, 3, 2));
  EXPECT_NE(from_a[0].tag, from_b[1].tag);
  std::vector<UnsealShare> mixed = {from_a[0], from_b[1]};
  EXPECT_THAT(CombineShares(mixed).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("different vaults")));
}

TEST(UnsealShares, SameShareTwiceIsRefused) {
  SecretKey kek = *SecretKey::Random();
  std::vector<UnsealShare> all = Parse(*SplitKey(kek, 3, 2));
  std::vector<UnsealShare> twice = {all[1], all[1]};
  EXPECT_THAT(CombineShares(twice).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
}

TEST(SealConfig, RoundTripsThroughTheFile) {
  mvtesting::TempDir dir;
  SealConfig config{5, 3, "0a1b2c3d"};
  ASSERT_THAT(WriteSealConfig(dir.path(), config), IsOk());
  const std::string path = dir.path() + "/unseal.conf";
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "mvseal1 shares=5 threshold=3 tag=0a1b2c3d");
  absl::StatusOr<SealConfig> back = ReadSealConfig(dir.path());
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->shares, 5u);
  EXPECT_EQ(back->threshold, 3u);
  EXPECT_EQ(back->tag, "0a1b2c3d");
  EXPECT_THAT(WriteSealConfig(dir.path(), config),
              StatusIs(absl::StatusCode::kAlreadyExists, ::testing::_));
}

TEST(SealConfig, MissingFileIsNotFoundAndBadOnesAreNamed) {
  mvtesting::TempDir dir;
  EXPECT_THAT(ReadSealConfig(dir.path()).status(),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(
      ParseSealConfig("mvseal1 shares=3 threshold=5 tag=0a1b2c3d"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threshold")));
  EXPECT_THAT(ParseSealConfig("mvseal1 shares=3 threshold=2 tag=zz"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag")));
  EXPECT_THAT(ParseSealConfig("mvseal2 shares=3 threshold=2 tag=0a1b2c3d"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace mv
