// Uploads through Catalog::BeginUpload and whole-artifact downloads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "common/bytes.h"
#include "common/xxh3.h"
#include "crypto/sha256.h"
#include "src/formats/format_builders.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

std::string Digest(std::string_view data) {
  mv::Sha256Digest d = mv::Sha256::Of(data);
  return std::string(mv::AsChars(d));
}

class UploadTest : public VaultTest {};

TEST_F(UploadTest, RoundTripsEverySizeAroundChunkBoundaries) {
  std::mt19937_64 rng(11);
  uint64_t number = 0;
  for (size_t size : {size_t{0}, size_t{1}, size_t{kChunk - 1}, size_t{kChunk},
                      size_t{kChunk + 1}, size_t{5 * kChunk + 3}}) {
    const std::string data = RandomBytes(size, rng);
    absl::StatusOr<mv::VersionInfo> info =
        Upload("rt/model", data, {7, 4093, 1, 333});
    ASSERT_THAT(info, IsOk()) << size;
    EXPECT_EQ(info->number, ++number);
    EXPECT_EQ(info->size, size);
    EXPECT_EQ(info->sha256, Digest(data));
    EXPECT_EQ(info->chunk_size, kChunk);
    Download got = Fetch("rt/model@" + std::to_string(number));
    ASSERT_THAT(got.status, IsOk()) << size;
    EXPECT_EQ(got.bytes.size(), size);
    EXPECT_TRUE(got.bytes == data) << "size " << size << ": bytes differ";
    EXPECT_EQ(got.delivered_sha256, Digest(data));
  }
}

TEST_F(UploadTest, PieceSizesDoNotMatter) {
  std::mt19937_64 rng(12);
  const std::string data = RandomBytes(3 * kChunk + 17, rng);
  for (std::vector<size_t> pieces : std::vector<std::vector<size_t>>{
           {1}, {kChunk}, {data.size()}, {kChunk + 1, kChunk - 1}, {3, 5, 7}}) {
    absl::StatusOr<mv::VersionInfo> info = Upload("pieces/m", data, pieces);
    ASSERT_THAT(info, IsOk());
    EXPECT_EQ(Fetch(info->Ref()).bytes, data) << pieces[0];
  }
}

TEST_F(UploadTest, MovedWholeChunksMixedWithCopiedPiecesRoundTrip) {
  std::mt19937_64 rng(13);
  const std::string data = RandomBytes(4 * kChunk + 5, rng);
  // Moved chunk-sized pieces take the no-copy path only when aligned; the
  // unaligned ones must fall back to copying and still land in order.
  const size_t pieces[] = {kChunk, kChunk, 3, kChunk, kChunk - 3, kChunk, 5};
  auto writer = vault_->catalog().BeginUpload({"moved/m", {}, {}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  size_t at = 0;
  for (size_t piece : pieces) {
    piece = std::min(piece, data.size() - at);
    ASSERT_THAT((*writer)->AppendOwned(std::string(data.substr(at, piece))),
                IsOk());
    at += piece;
  }
  ASSERT_EQ(at, data.size());
  absl::StatusOr<mv::VersionInfo> info = (*writer)->Commit(Digest(data));
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->size, data.size());
  Download got = Fetch(info->Ref());
  ASSERT_THAT(got.status, IsOk());
  EXPECT_TRUE(got.bytes == data);
}

TEST_F(UploadTest, LongUploadRoundTripsWhileSealedBuffersAreReused) {
  // Far more chunks than the committer's queue holds, so sealing reuses
  // buffers the committer has written; the short final chunk reuses a
  // full-size one.
  std::mt19937_64 rng(14);
  const std::string data = RandomBytes(40 * kChunk + 7, rng);
  absl::StatusOr<mv::VersionInfo> info = Upload("reuse/m", data, {kChunk});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->sha256, Digest(data));
  Download got = Fetch(info->Ref());
  ASSERT_THAT(got.status, IsOk());
  EXPECT_TRUE(got.bytes == data);
}

TEST_F(UploadTest, InfoCarriesMetadata) {
  clock_.Advance(absl::Seconds(5));
  mv::UploadSpec spec{
      "org/m", {{"arch", "llama"}, {"quant", "q4"}}, {"prod", "staging"}, 0};
  absl::StatusOr<mv::VersionInfo> info = Upload(spec, "payload");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->name, "org/m");
  EXPECT_EQ(info->Ref(), "org/m@1");
  EXPECT_THAT(info->labels,
              ElementsAre(Pair("arch", "llama"), Pair("quant", "q4")));
  EXPECT_THAT(info->aliases, ElementsAre("prod", "staging"));
  EXPECT_EQ(info->created_by, "root");
  EXPECT_EQ(info->created_at_unix_ms, absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(info->cipher_suite, "xchacha20poly1305-ietf");
  EXPECT_EQ(info->key_version, 1u);
  EXPECT_EQ(info->format, mv::Format::kBlob);
  absl::StatusOr<mv::VersionInfo> again =
      vault_->catalog().GetVersion("org/m@1");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->labels, info->labels);
  EXPECT_EQ(again->aliases, info->aliases);
  EXPECT_EQ(again->created_at_unix_ms, info->created_at_unix_ms);
}

TEST_F(UploadTest, DetectsFormatFromContent) {
  // Model files are parsed strictly (ingest_test.cc), so these are valid
  // ones: a safetensors file with one tensor and a GGUF file without any.
  std::string st = SafetensorsBuilder()
                       .Tensor("t", "U8", {100}, std::string(100, 't'))
                       .Build();
  absl::StatusOr<mv::VersionInfo> info = Upload("f/st", st, {1});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->format, mv::Format::kSafetensors);
  info = Upload("f/gguf", GgufBuilder().Build(), {2});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->format, mv::Format::kGguf);
  info = Upload("f/blob.safetensors", "not really", {100});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->format, mv::Format::kBlob) << "the name does not decide";
}

TEST_F(UploadTest, VersionsAreNumberedPerArtifact) {
  for (uint64_t n = 1; n <= 3; ++n) {
    absl::StatusOr<mv::VersionInfo> a = Upload("a", "a" + std::to_string(n));
    ASSERT_THAT(a, IsOk());
    EXPECT_EQ(a->number, n);
  }
  absl::StatusOr<mv::VersionInfo> b = Upload("b", "b");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->number, 1u);
  EXPECT_EQ(Fetch("a@2").bytes, "a2");
  EXPECT_EQ(Fetch("a").bytes, "a3");
}

TEST_F(UploadTest, WrongExpectedShaIsDataLossAndPublishesNothing) {
  auto writer = vault_->catalog().BeginUpload({"m", {}, {"prod"}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append(std::string(3 * kChunk, 'x')), IsOk());
  EXPECT_THAT((*writer)->Commit(Digest("something else")),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("SHA-256 does not match")));
  writer->reset();
  EXPECT_THAT(vault_->catalog().GetVersion("m"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m"));
  EXPECT_THAT(vault_->catalog().GetVersion("m@prod"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("m@prod")));
  absl::StatusOr<mv::VersionInfo> next = Upload("m", "ok");
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->number, 1u) << "a failed commit consumes no number";
  CloseVault();
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
  EXPECT_EQ(StoredChunks().size(), 1u)
      << "only the good upload's chunk remains";
}

TEST_F(UploadTest, WrongXxh3IsDataLossAndPublishesNothing) {
  const std::string data(2 * kChunk + 5, 'x');
  auto writer = vault_->catalog().BeginUpload({"m", {}, {"prod"}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append(data), IsOk());
  // The right SHA-256 does not excuse a wrong checksum.
  EXPECT_THAT(
      (*writer)->Commit(mv::SentChecks{Digest(data), mv::Xxh3::Of(data) ^ 1}),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("XXH3-64 does not match")));
  writer->reset();
  EXPECT_THAT(vault_->catalog().GetVersion("m"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m"));
  CloseVault();
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
  EXPECT_THAT(StoredChunks(), IsEmpty());
}

TEST_F(UploadTest, MatchingXxh3AloneIsEnoughToPublish) {
  const std::string data(kChunk + 1, 'y');
  auto writer = vault_->catalog().BeginUpload({"m", {}, {}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append(data), IsOk());
  absl::StatusOr<mv::VersionInfo> info =
      (*writer)->Commit(mv::SentChecks{"", mv::Xxh3::Of(data)});
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->sha256, Digest(data)) << "the server's own SHA-256";
  EXPECT_EQ(Fetch("m").bytes, data);
}

TEST_F(UploadTest, ExpectedShaOfWrongLengthIsDataLoss) {
  auto writer = vault_->catalog().BeginUpload({"m", {}, {}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("abc"), IsOk());
  EXPECT_THAT((*writer)->Commit(Digest("abc").substr(0, 31)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("SHA-256")));
}

TEST_F(UploadTest, EmptyExpectedShaSkipsTheCheck) {
  auto writer = vault_->catalog().BeginUpload({"m", {}, {}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("abc"), IsOk());
  absl::StatusOr<mv::VersionInfo> info = (*writer)->Commit("");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->sha256, Digest("abc"));
}

TEST_F(UploadTest, ShorterThanExpectedSizeIsInvalidArgument) {
  auto writer = vault_->catalog().BeginUpload({"m", {}, {}, 10}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("123456789"), IsOk());
  EXPECT_THAT((*writer)->Commit(Digest("123456789")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("after 9 of its declared 10")));
  writer->reset();
  EXPECT_THAT(vault_->catalog().GetVersion("m"),
              StatusIs(absl::StatusCode::kNotFound, "not found: m"));
}

TEST_F(UploadTest, LongerThanExpectedSizeIsInvalidArgument) {
  auto writer = vault_->catalog().BeginUpload({"m", {}, {}, 10}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("12345"), IsOk());
  EXPECT_THAT((*writer)->Append("678901"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("declared size of 10")));
  ASSERT_THAT((*writer)->Append("67890"), IsOk())
      << "the rejected piece was not taken";
  absl::StatusOr<mv::VersionInfo> info =
      (*writer)->Commit(Digest("1234567890"));
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(Fetch("m").bytes, "1234567890");
}

TEST_F(UploadTest, CommitTwiceOrAppendAfterCommitIsFailedPrecondition) {
  auto writer = vault_->catalog().BeginUpload({"m", {}, {}, 0}, root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("x"), IsOk());
  ASSERT_THAT((*writer)->Commit(""), IsOk());
  EXPECT_THAT((*writer)->Append("y"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already finished")));
  EXPECT_THAT((*writer)->Commit(""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already finished")));
  EXPECT_EQ(Fetch("m").bytes, "x");
}

TEST_F(UploadTest, InvalidSpecIsInvalidArgument) {
  EXPECT_THAT(vault_->catalog().BeginUpload({"Bad/Name", {}, {}, 0}, root_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("invalid artifact name")));
  EXPECT_THAT(
      vault_->catalog().BeginUpload({"m", {{"a=b", "v"}}, {}, 0}, root_),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("invalid label key")));
  EXPECT_THAT(
      vault_->catalog().BeginUpload({"m", {}, {"latest"}, 0}, root_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
  EXPECT_THAT(
      vault_->catalog().BeginUpload({"m", {}, {"9lives"}, 0}, root_),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid alias")));
  CloseVault();
  EXPECT_THAT(DumpRaw("pending"), IsEmpty())
      << "a rejected spec registers nothing";
}

TEST_F(UploadTest, AbandonedWriterPublishesNothingAndFreesItsChunks) {
  ASSERT_THAT(Upload("keep", std::string(2 * kChunk + 1, 'k')), IsOk());
  {
    auto writer =
        vault_->catalog().BeginUpload({"gone", {}, {"prod"}, 0}, root_);
    ASSERT_THAT(writer, IsOk());
    ASSERT_THAT((*writer)->Append(std::string(10 * kChunk + 5, 'g')), IsOk());
  }  // destroyed without Commit
  EXPECT_THAT(vault_->catalog().GetVersion("gone"),
              StatusIs(absl::StatusCode::kNotFound, "not found: gone"));
  EXPECT_THAT(vault_->catalog().CollectGarbage(absl::ZeroDuration()),
              IsOkAndHolds(0u))
      << "nothing left to collect";
  CloseVault();
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
  std::vector<ChunkKey> chunks = StoredChunks();
  ASSERT_EQ(chunks.size(), 3u);
  for (const ChunkKey& c : chunks)
    EXPECT_EQ(c.version_id, chunks[0].version_id);
  Reopen();
  EXPECT_EQ(Fetch("keep").bytes, std::string(2 * kChunk + 1, 'k'));
}

TEST_F(UploadTest, ConcurrentUploadsOfOneNameGetDistinctNumbers) {
  auto w1 = vault_->catalog().BeginUpload({"m", {}, {}, 0}, root_);
  auto w2 = vault_->catalog().BeginUpload({"m", {}, {}, 0}, root_);
  ASSERT_THAT(w1, IsOk());
  ASSERT_THAT(w2, IsOk());
  ASSERT_THAT((*w1)->Append(std::string(kChunk + 1, '1')), IsOk());
  ASSERT_THAT((*w2)->Append(std::string(kChunk + 2, '2')), IsOk());
  absl::StatusOr<mv::VersionInfo> second = (*w2)->Commit("");
  absl::StatusOr<mv::VersionInfo> first = (*w1)->Commit("");
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->number, 1u) << "numbers follow commit order";
  EXPECT_EQ(first->number, 2u);
  EXPECT_EQ(Fetch("m@1").bytes, std::string(kChunk + 2, '2'));
  EXPECT_EQ(Fetch("m@2").bytes, std::string(kChunk + 1, '1'));
}

TEST_F(UploadTest, StorageFullIsResourceExhaustedAndReadsStillWork) {
  ASSERT_THAT(Upload("small", "still here"), IsOk());
  CloseVault();
  mv::VaultOptions tiny = Options();
  tiny.map_size = size_t{1} << 20;
  absl::StatusOr<std::unique_ptr<mv::Vault>> v = mv::Vault::Open(tiny, Kek());
  ASSERT_THAT(v, IsOk());
  vault_ = *std::move(v);
  std::mt19937_64 rng(13);
  EXPECT_THAT(
      Upload("big", RandomBytes(2 << 20, rng), {65536}),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("map size")));
  EXPECT_THAT(vault_->catalog().GetVersion("big"),
              StatusIs(absl::StatusCode::kNotFound, "not found: big"));
  EXPECT_EQ(Fetch("small").bytes, "still here");
  absl::StatusOr<mv::VersionInfo> after = Upload("small", "fits again");
  ASSERT_THAT(after, IsOk()) << "the abandoned upload's chunks were freed";
  EXPECT_EQ(Fetch("small@2").bytes, "fits again");
}

}  // namespace
}  // namespace mvtesting
