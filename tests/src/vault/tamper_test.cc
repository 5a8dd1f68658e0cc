// Tampering with the stored ciphertext (TESTING.md, "Storage and crypto"):
// with the vault closed, edit the raw "chunks"/"versions" databases, reopen,
// download. Every case must end in DATA_LOSS and never return a wrong byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>

#include "common/bytes.h"
#include "storage/key_file.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"
#include "vault/catalog.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;

constexpr char kAuthFailure[] = "stored data failed authentication";

class TamperTest : public VaultTest {
 protected:
  static constexpr int kVersions = 10;

  void SetUp() override {
    VaultTest::SetUp();
    std::mt19937_64 rng(31);
    for (int i = 0; i < kVersions; ++i) {
      data_.push_back(
          RandomBytes(5 * kChunk + 3, rng));  // 6 chunks, the last of 3 bytes
      ASSERT_THAT(Upload(Name(i), data_.back()), IsOk());
    }
    CloseVault();
    for (const ChunkKey& c : StoredChunks())
      chunks_[c.version_id].push_back(c.index);
    ASSERT_EQ(chunks_.size(), size_t{kVersions});
    for (const auto& [id, indexes] : chunks_) {
      ids_.push_back(id);  // upload order = version id order
      ASSERT_EQ(indexes.size(), 6u);
    }
  }
  static std::string Name(int i) { return "t/m" + std::to_string(i); }

  // Reopens the vault, downloads version i (whole or a range), closes it.
  Download FetchReopened(int i, uint64_t offset = 0, uint64_t length = 0) {
    Reopen();
    Download d = Fetch(Name(i), offset, length);
    CloseVault();
    return d;
  }
  // The download failed with DATA_LOSS and every byte it gave was right.
  void ExpectDataLossAndNoWrongByte(const Download& d, int i) {
    EXPECT_EQ(d.status.code(), absl::StatusCode::kDataLoss) << d.status;
    EXPECT_LT(d.bytes.size(), data_[i].size());
    EXPECT_TRUE(d.bytes == data_[i].substr(0, d.bytes.size()))
        << "a wrong byte was served";
  }
  absl::Status Transform(
      const std::function<absl::Status(mv::LmdbEnv&, mv::WriteTxn&)>& fn) {
    return EditRaw(fn);
  }
  std::string Chunk(mv::LmdbEnv& env, mv::WriteTxn& txn, uint64_t id,
                    uint64_t index) {
    auto v = txn.Get(env.Db("chunks"), mv::ChunkKey(id, index));
    EXPECT_TRUE(v.ok() && v->has_value()) << id << "/" << index;
    return v.ok() && *v ? std::string(**v) : "";
  }

  std::vector<std::string> data_;
  std::map<uint64_t, std::vector<uint64_t>> chunks_;
  std::vector<uint64_t> ids_;
};

TEST_F(TamperTest, UntouchedDataDownloads) {
  for (int i = 0; i < kVersions; i += 3) {
    Download d = FetchReopened(i);
    ASSERT_THAT(d.status, IsOk());
    EXPECT_TRUE(d.bytes == data_[i]);
  }
}

TEST_F(TamperTest, ThousandRandomBitFlipsAllFailAndServeNoWrongByte) {
  // Each round flips one random bit in one random chunk of every version
  // (restoring the previous round's flip), so 100 rounds make 1,000 flips.
  const uint64_t seed = 20240601;
  std::mt19937_64 rng(seed);
  std::map<std::string, std::string> originals;  // chunk key → sealed bytes
  int flips = 0, data_loss = 0;
  for (int round = 0; round < 100; ++round) {
    std::vector<std::string> where(kVersions);
    ASSERT_THAT(
        Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
          for (const auto& [key, value] : originals) {
            if (auto s = txn.Put(env.Db("chunks"), key, value); !s.ok())
              return s;
          }
          originals.clear();
          for (int i = 0; i < kVersions; ++i) {
            const uint64_t index = rng() % 6;
            std::string sealed = Chunk(env, txn, ids_[i], index);
            const size_t bit = rng() % (sealed.size() * 8);
            originals[mv::ChunkKey(ids_[i], index)] = sealed;
            sealed[bit / 8] =
                static_cast<char>(sealed[bit / 8] ^ (1 << (bit % 8)));
            where[i] = "chunk " + std::to_string(index) + " bit " +
                       std::to_string(bit);
            if (auto s = txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[i], index),
                                 sealed);
                !s.ok())
              return s;
          }
          return absl::OkStatus();
        }),
        IsOk());
    Reopen();
    for (int i = 0; i < kVersions; ++i) {
      Download d = Fetch(Name(i));
      ++flips;
      if (d.status.code() == absl::StatusCode::kDataLoss &&
          std::string(d.status.message()) == kAuthFailure) {
        ++data_loss;
      } else {
        ADD_FAILURE() << "seed " << seed << " round " << round << " version "
                      << i << " " << where[i] << ": " << d.status;
      }
      ASSERT_TRUE(d.bytes == data_[i].substr(0, std::min(d.bytes.size(),
                                                         data_[i].size())) &&
                  d.bytes.size() < data_[i].size())
          << "seed " << seed << " round " << round << " " << where[i]
          << ": wrong bytes served";
    }
    CloseVault();
  }
  EXPECT_EQ(flips, 1000);
  EXPECT_EQ(data_loss, 1000);
}

TEST_F(TamperTest, SwappedChunksFail) {
  ASSERT_THAT(
      Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
        std::string c1 = Chunk(env, txn, ids_[0], 1),
                    c2 = Chunk(env, txn, ids_[0], 2);
        if (auto s = txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], 1), c2);
            !s.ok())
          return s;
        return txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], 2), c1);
      }),
      IsOk());
  Download d = FetchReopened(0);
  ExpectDataLossAndNoWrongByte(d, 0);
  EXPECT_EQ(std::string(d.status.message()), kAuthFailure);
  EXPECT_EQ(d.bytes.size(), kChunk) << "chunk 0 is intact";
}

TEST_F(TamperTest, DuplicatedChunkFails) {
  ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], 3),
                               Chunk(env, txn, ids_[0], 2));
              }),
              IsOk());
  ExpectDataLossAndNoWrongByte(FetchReopened(0), 0);
}

TEST_F(TamperTest, DroppedFinalChunkFails) {
  ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Delete(env.Db("chunks"), mv::ChunkKey(ids_[0], 5));
              }),
              IsOk());
  Download d = FetchReopened(0);
  ExpectDataLossAndNoWrongByte(d, 0);
  EXPECT_THAT(d.status, StatusIs(absl::StatusCode::kDataLoss,
                                 HasSubstr("chunk 5 missing")));
}

TEST_F(TamperTest, DroppedMiddleChunkFails) {
  ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Delete(env.Db("chunks"), mv::ChunkKey(ids_[0], 2));
              }),
              IsOk());
  Download d = FetchReopened(0);
  ExpectDataLossAndNoWrongByte(d, 0);
  EXPECT_THAT(d.status, StatusIs(absl::StatusCode::kDataLoss,
                                 HasSubstr("chunk 2 missing")));
}

TEST_F(TamperTest, ChunkSplicedFromAnotherVersionFails) {
  for (uint64_t index : {0, 3, 5}) {
    std::string saved;
    ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                  saved = Chunk(env, txn, ids_[0], index);
                  return txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], index),
                                 Chunk(env, txn, ids_[1], index));
                }),
                IsOk());
    Download d = FetchReopened(0);
    ExpectDataLossAndNoWrongByte(d, 0);
    EXPECT_EQ(d.bytes.size(), index * kChunk) << index;
    ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                  return txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], index),
                                 saved);
                }),
                IsOk());
  }
}

TEST_F(TamperTest, TruncatedChunkValueFails) {
  ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                std::string c = Chunk(env, txn, ids_[0], 4);
                return txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], 4),
                               c.substr(0, c.size() - 1));
              }),
              IsOk());
  ExpectDataLossAndNoWrongByte(FetchReopened(0), 0);
}

TEST_F(TamperTest, ManifestShortenedToDropTheLastChunksFails) {
  // Rewriting the (unauthenticated) version record to end after chunk 2
  // cannot truncate the artifact: chunk 2 was not sealed as the final one.
  ASSERT_THAT(
      Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
        const std::string key = mv::VersionKey(Name(0), 1);
        auto raw = txn.Get(env.Db("versions"), key);
        if (!raw.ok() || !*raw) return absl::InternalError("no version record");
        absl::StatusOr<mv::VersionRecord> v = mv::DecodeVersion(**raw);
        if (!v.ok()) return v.status();
        v->size = 3 * kChunk;
        v->chunk_count = 3;
        return txn.Put(env.Db("versions"), key, mv::EncodeVersion(*v));
      }),
      IsOk());
  Download d = FetchReopened(0);
  EXPECT_THAT(d.status, StatusIs(absl::StatusCode::kDataLoss, kAuthFailure));
  EXPECT_TRUE(d.bytes == data_[0].substr(0, d.bytes.size()));
  EXPECT_EQ(d.bytes.size(), 2 * kChunk);
}

// The key file binds a data key to its version id: another version's slot
// copied over it does not open.
TEST_F(TamperTest, WrappedKeyOfAnotherVersionFails) {
  const std::string path = Options().data_dir + "/keys.mvk";
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string slot(mv::KeyFile::kDataKeySlotSize, '\0');
  file.seekg(mv::KeyFile::kDataKeyBase + ids_[1] * slot.size());
  file.read(slot.data(), slot.size());
  file.seekp(mv::KeyFile::kDataKeyBase + ids_[0] * slot.size());
  file.write(slot.data(), slot.size());
  file.close();
  Reopen();
  EXPECT_THAT(vault_->catalog().OpenDownload(Name(0), 0, 0),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("a wrapped key failed authentication")));
  EXPECT_EQ(Fetch(Name(1)).bytes, data_[1]) << "the other version is unharmed";
}

TEST_F(TamperTest, RangeAvoidingTheDamagedChunkStillDownloads) {
  ASSERT_THAT(Transform([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                std::string c = Chunk(env, txn, ids_[0], 4);
                c[c.size() / 2] ^= 0x01;
                return txn.Put(env.Db("chunks"), mv::ChunkKey(ids_[0], 4), c);
              }),
              IsOk());
  Download ok = FetchReopened(0, kChunk, 3 * kChunk);
  ASSERT_THAT(ok.status, IsOk());
  EXPECT_TRUE(ok.bytes == data_[0].substr(kChunk, 3 * kChunk));
  Download bad = FetchReopened(0, 4 * kChunk - 1, 2);
  EXPECT_THAT(bad.status, StatusIs(absl::StatusCode::kDataLoss, kAuthFailure));
  EXPECT_TRUE(bad.bytes == data_[0].substr(4 * kChunk - 1, bad.bytes.size()));
  EXPECT_LE(bad.bytes.size(), 1u);
}

}  // namespace
}  // namespace mvtesting
