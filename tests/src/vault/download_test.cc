// Range downloads through Catalog::OpenDownload.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "common/bytes.h"
#include "crypto/sha256.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Digest(std::string_view data) {
  mv::Sha256Digest d = mv::Sha256::Of(data);
  return std::string(mv::AsChars(d));
}

class DownloadTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    std::mt19937_64 rng(21);
    data_ = RandomBytes(5 * kChunk + 3, rng);
    ASSERT_THAT(Upload("r/m", data_), IsOk());
  }
  std::string data_;
};

TEST_F(DownloadTest, RangesAtChunkBoundariesAreByteIdentical) {
  const uint64_t size = data_.size();
  std::vector<uint64_t> points = {0,
                                  1,
                                  kChunk - 1,
                                  kChunk,
                                  kChunk + 1,
                                  2 * kChunk,
                                  3 * kChunk - 1,
                                  5 * kChunk,
                                  5 * kChunk + 1,
                                  size - 1,
                                  size};
  int cases = 0;
  for (uint64_t begin : points) {
    for (uint64_t end : points) {
      if (end <= begin) continue;
      Download got = Fetch("r/m", begin, end - begin);
      ASSERT_THAT(got.status, IsOk()) << begin << ".." << end;
      const std::string want = data_.substr(begin, end - begin);
      ASSERT_TRUE(got.bytes == want)
          << begin << ".." << end << ": bytes differ";
      ASSERT_EQ(got.delivered_sha256, Digest(want)) << begin << ".." << end;
      ++cases;
    }
  }
  EXPECT_GT(cases, 50);
}

TEST_F(DownloadTest, LengthZeroMeansToTheEnd) {
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{kChunk},
                          uint64_t{data_.size() - 1}}) {
    Download got = Fetch("r/m", offset, 0);
    ASSERT_THAT(got.status, IsOk());
    EXPECT_TRUE(got.bytes == data_.substr(offset)) << offset;
    EXPECT_EQ(got.delivered_sha256, Digest(data_.substr(offset)));
  }
}

TEST_F(DownloadTest, OffsetAtTheEndGivesNoBytes) {
  Download got = Fetch("r/m", data_.size(), 0);
  ASSERT_THAT(got.status, IsOk());
  EXPECT_EQ(got.bytes, "");
  EXPECT_EQ(got.delivered_sha256, Digest(""));
}

TEST_F(DownloadTest, ReaderReportsItsRangeAndVersion) {
  auto reader = vault_->catalog().OpenDownload("r/m@1", kChunk, 10);
  ASSERT_THAT(reader, IsOk());
  EXPECT_EQ((*reader)->offset(), kChunk);
  EXPECT_EQ((*reader)->length(), 10u);
  EXPECT_EQ((*reader)->version().Ref(), "r/m@1");
  EXPECT_EQ((*reader)->version().size, data_.size());
  auto whole = vault_->catalog().OpenDownload("r/m", 0, 0);
  ASSERT_THAT(whole, IsOk());
  EXPECT_EQ((*whole)->length(), data_.size());
}

TEST_F(DownloadTest, NextAfterTheEndKeepsReturningFalse) {
  auto reader = vault_->catalog().OpenDownload("r/m", 0, 5);
  ASSERT_THAT(reader, IsOk());
  std::string piece;
  EXPECT_THAT((*reader)->Next(&piece), IsOkAndHolds(true));
  EXPECT_EQ(piece, data_.substr(0, 5));
  EXPECT_THAT((*reader)->Next(&piece), IsOkAndHolds(false));
  EXPECT_THAT((*reader)->Next(&piece), IsOkAndHolds(false));
}

TEST_F(DownloadTest, OutOfRangeIsOutOfRange) {
  const uint64_t size = data_.size();
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m", size + 1, 0),
              StatusIs(absl::StatusCode::kOutOfRange,
                       AllOf(HasSubstr("past the end"), HasSubstr("r/m@1"))));
  EXPECT_THAT(
      vault_->catalog().OpenDownload("r/m", 0, size + 1),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("exceeds r/m@1")));
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m", size, 1),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("exceeds")));
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m", 1, size),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("exceeds")));
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m", 10, UINT64_MAX),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("exceeds")));
  EXPECT_THAT(
      vault_->catalog().OpenDownload("r/m", UINT64_MAX, UINT64_MAX),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("past the end")));
}

TEST_F(DownloadTest, EmptyArtifactDownloadsAsNothing) {
  ASSERT_THAT(Upload("empty", ""), IsOk());
  Download got = Fetch("empty");
  ASSERT_THAT(got.status, IsOk());
  EXPECT_EQ(got.bytes, "");
  EXPECT_EQ(got.delivered_sha256, Digest(""));
  EXPECT_THAT(
      vault_->catalog().OpenDownload("empty", 1, 0),
      StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("past the end")));
}

TEST_F(DownloadTest, UnknownOrInvalidReferencesFail) {
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m@2", 0, 0),
              StatusIs(absl::StatusCode::kNotFound, "not found: r/m@2"));
  EXPECT_THAT(vault_->catalog().OpenDownload("r/other", 0, 0),
              StatusIs(absl::StatusCode::kNotFound, "not found: r/other"));
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m@prod", 0, 0),
              StatusIs(absl::StatusCode::kNotFound, "not found: r/m@prod"));
  EXPECT_THAT(vault_->catalog().OpenDownload("R/m", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid artifact name")));
  EXPECT_THAT(vault_->catalog().OpenDownload("r/m@0", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad version number")));
}

TEST_F(DownloadTest, VersionDeletedDuringTheDownloadEndsInNotFound) {
  // 40 chunks: the prefetcher can read at most two batches (16 chunks) ahead
  // of a reader that has not started, so the rest is read after the delete.
  std::mt19937_64 rng(22);
  const std::string big = RandomBytes(40 * kChunk, rng);
  ASSERT_THAT(Upload("big", big), IsOk());
  auto reader = vault_->catalog().OpenDownload("big", 0, 0);
  ASSERT_THAT(reader, IsOk());
  ASSERT_THAT(vault_->catalog().DeleteVersion("big@1"), IsOk());
  Download got = Drain(**reader);
  EXPECT_THAT(got.status,
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("big@1 was deleted during the download")));
  EXPECT_LT(got.bytes.size(), big.size());
  EXPECT_TRUE(got.bytes == big.substr(0, got.bytes.size()))
      << "wrong bytes before the error";
}

TEST_F(DownloadTest, AbandonedReaderIsReleased) {
  for (int i = 0; i < 20; ++i) {
    auto reader = vault_->catalog().OpenDownload("r/m", 0, 0);
    ASSERT_THAT(reader, IsOk());
    std::string piece;
    ASSERT_THAT((*reader)->Next(&piece), IsOkAndHolds(true));
  }  // destroyed mid-stream each time
  ASSERT_THAT(Upload("r/m", "writes still work"), IsOk());
  EXPECT_EQ(Fetch("r/m@2").bytes, "writes still work");
}

}  // namespace
}  // namespace mvtesting
