#include "storage/lmdb_env.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "testing/mapped_bytes.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using KV = std::vector<std::pair<std::string, std::string>>;

class LmdbEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = LmdbEnv::Open({dir_.path(), size_t{8} << 20}, {"a", "b"});
    ASSERT_THAT(env, IsOk());
    env_ = *std::move(env);
  }
  absl::Status Put(const char* db, std::string k, std::string v) {
    return env_->Write([&](WriteTxn& t) { return t.Put(env_->Db(db), k, v); });
  }
  // The value under `k`, "<absent>" if there is none.
  std::string Get(const char* db, std::string k) {
    std::string out = "<error>";
    EXPECT_THAT(env_->Read([&](const Txn& t) -> absl::Status {
      auto v = t.Get(env_->Db(db), k);
      if (!v.ok()) return v.status();
      out = *v ? std::string(**v) : "<absent>";
      return absl::OkStatus();
    }),
                IsOk());
    return out;
  }
  KV Scan(const char* db, std::string from, std::string prefix,
          size_t limit = 100) {
    KV out;
    EXPECT_THAT(env_->Read([&](const Txn& t) {
      return t.Scan(env_->Db(db), from, prefix,
                    [&](std::string_view k, std::string_view v) {
                      out.emplace_back(k, v);
                      return out.size() < limit;
                    });
    }),
                IsOk());
    return out;
  }

  std::vector<std::string> Backward(const char* db, std::string from,
                                    size_t limit = 100) {
    std::vector<std::string> keys;
    EXPECT_THAT(env_->Read([&](const Txn& t) {
      return t.ScanBackward(env_->Db(db), from,
                            [&](std::string_view k, std::string_view) {
                              keys.emplace_back(k);
                              return keys.size() < limit;
                            });
    }),
                IsOk());
    return keys;
  }

  mvtesting::TempDir dir_;
  std::unique_ptr<LmdbEnv> env_;
};

TEST_F(LmdbEnvTest, PutThenGetReturnsTheValue) {
  ASSERT_THAT(Put("a", "k", std::string("v\0w", 3)), IsOk());
  EXPECT_EQ(Get("a", "k"), std::string("v\0w", 3));
  EXPECT_EQ(Get("a", "missing"), "<absent>");
}

TEST_F(LmdbEnvTest, DatabasesAreSeparate) {
  ASSERT_THAT(Put("a", "k", "in a"), IsOk());
  EXPECT_EQ(Get("b", "k"), "<absent>");
  EXPECT_NE(env_->Db("a"), env_->Db("b"));
}

TEST_F(LmdbEnvTest, PutOverwrites) {
  ASSERT_THAT(Put("a", "k", "1"), IsOk());
  ASSERT_THAT(Put("a", "k", "2"), IsOk());
  EXPECT_EQ(Get("a", "k"), "2");
}

TEST_F(LmdbEnvTest, DeleteRemovesAndAbsentDeleteIsOk) {
  ASSERT_THAT(Put("a", "k", "v"), IsOk());
  ASSERT_THAT(
      env_->Write([&](WriteTxn& t) { return t.Delete(env_->Db("a"), "k"); }),
      IsOk());
  EXPECT_EQ(Get("a", "k"), "<absent>");
  EXPECT_THAT(
      env_->Write([&](WriteTxn& t) { return t.Delete(env_->Db("a"), "k"); }),
      IsOk());
}

TEST_F(LmdbEnvTest, ScanVisitsKeysInOrderFromTheStartKeyWithinThePrefix) {
  for (const char* k : {"p/3", "p/1", "q/1", "o/9", "p/2"})
    ASSERT_THAT(Put("a", k, k), IsOk());
  EXPECT_THAT(
      Scan("a", "", ""),
      ElementsAre(Pair("o/9", "o/9"), Pair("p/1", "p/1"), Pair("p/2", "p/2"),
                  Pair("p/3", "p/3"), Pair("q/1", "q/1")));
  EXPECT_THAT(
      Scan("a", "p/", "p/"),
      ElementsAre(Pair("p/1", "p/1"), Pair("p/2", "p/2"), Pair("p/3", "p/3")));
  EXPECT_THAT(Scan("a", "p/2", "p/"),
              ElementsAre(Pair("p/2", "p/2"), Pair("p/3", "p/3")));
  EXPECT_THAT(Scan("a", "p/", "p/", 2),
              ElementsAre(Pair("p/1", "p/1"), Pair("p/2", "p/2")));
  EXPECT_THAT(Scan("a", "r", ""), ElementsAre());
  EXPECT_THAT(Scan("b", "", ""), ElementsAre());
}

TEST_F(LmdbEnvTest, ScanBackwardVisitsKeysAtOrBelowTheStartKeyNewestFirst) {
  for (const char* k : {"b", "d", "f"}) ASSERT_THAT(Put("a", k, k), IsOk());
  EXPECT_THAT(Backward("a", ""),
              ElementsAre("f", "d", "b"));                 // from the last key
  EXPECT_THAT(Backward("a", "d"), ElementsAre("d", "b"));  // an existing key
  EXPECT_THAT(Backward("a", "e"), ElementsAre("d", "b"));  // between two keys
  EXPECT_THAT(Backward("a", "z"),
              ElementsAre("f", "d", "b"));         // past the last key
  EXPECT_THAT(Backward("a", "a"), ElementsAre());  // before the first key
  EXPECT_THAT(Backward("a", "", 2), ElementsAre("f", "d"));
  EXPECT_THAT(Backward("b", ""), ElementsAre());
}

TEST_F(LmdbEnvTest, WriteCommitsEverythingWhenFnSucceeds) {
  ASSERT_THAT(env_->Write([&](WriteTxn& t) -> absl::Status {
    if (auto s = t.Put(env_->Db("a"), "x", "1"); !s.ok()) return s;
    return t.Put(env_->Db("b"), "y", "2");
  }),
              IsOk());
  EXPECT_EQ(Get("a", "x"), "1");
  EXPECT_EQ(Get("b", "y"), "2");
}

TEST_F(LmdbEnvTest, WriteAbortsEverythingWhenFnFails) {
  ASSERT_THAT(Put("a", "keep", "old"), IsOk());
  absl::Status s = env_->Write([&](WriteTxn& t) -> absl::Status {
    EXPECT_THAT(t.Put(env_->Db("a"), "new", "1"), IsOk());
    EXPECT_THAT(t.Put(env_->Db("a"), "keep", "changed"), IsOk());
    EXPECT_THAT(t.Delete(env_->Db("b"), "nothing"), IsOk());
    // Visible inside the transaction...
    auto v = t.Get(env_->Db("a"), "new");
    EXPECT_TRUE(v.ok() && v->has_value());
    return absl::AbortedError("fn gave up");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kAborted, "fn gave up"));
  // ...and gone after the abort.
  EXPECT_EQ(Get("a", "new"), "<absent>");
  EXPECT_EQ(Get("a", "keep"), "old");
  EXPECT_THAT(Put("a", "after", "1"), IsOk()) << "the env stays writable";
}

TEST_F(LmdbEnvTest, ReadSeesASnapshot) {
  ASSERT_THAT(Put("a", "k", "before"), IsOk());
  ASSERT_THAT(env_->Read([&](const Txn& t) -> absl::Status {
    EXPECT_THAT(Put("a", "k", "after"), IsOk());
    auto v = t.Get(env_->Db("a"), "k");
    EXPECT_EQ(v.ok() && *v ? std::string(**v) : "?", "before");
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(Get("a", "k"), "after");
}

TEST_F(LmdbEnvTest, ReadReturnsTheStatusOfFn) {
  EXPECT_THAT(
      env_->Read([](const Txn&) { return absl::NotFoundError("nope"); }),
      StatusIs(absl::StatusCode::kNotFound, "nope"));
}

TEST_F(LmdbEnvTest, ReleaseMapUnmapsTheFileAndKeepsItsData) {
  const std::string big(size_t{4} << 20, 'm');
  ASSERT_THAT(Put("a", "big", big), IsOk());
  ASSERT_THAT(env_->Read([&](const Txn& t) -> absl::Status {
    auto v = t.Get(env_->Db("a"), "big");
    if (!v.ok()) return v.status();
    size_t zeros = 0;  // touch every page through the map
    for (size_t i = 0; i < (*v)->size(); i += 4096) zeros += (**v)[i] == 0;
    EXPECT_EQ(zeros, 0u);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_GE(mvtesting::MappedBytes("/data.mdb"), big.size());
  env_->ReleaseMap();
  EXPECT_LT(mvtesting::MappedBytes("/data.mdb"), size_t{64} << 10);
  EXPECT_EQ(Get("a", "big"), big) << "faulted in again from the cache";
}

TEST_F(LmdbEnvTest, CopyValueReadsTheFileWithoutMappingIt) {
  std::string big(size_t{4} << 20, 0);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
  ASSERT_THAT(Put("a", "big", big), IsOk());
  ASSERT_THAT(Put("a", "small", "seven b"), IsOk());
  env_->ReleaseMap();
  std::string copy_big, copy_small = "longer than seven bytes";
  ASSERT_THAT(env_->Read([&](const Txn& t) -> absl::Status {
    auto b = t.Get(env_->Db("a"), "big");
    auto s = t.Get(env_->Db("a"), "small");
    if (!b.ok()) return b.status();
    if (!s.ok()) return s.status();
    MV_RETURN_IF_ERROR(t.CopyValue(**b, &copy_big));
    return t.CopyValue(**s, &copy_small);  // inside a B-tree page
  }),
              IsOk());
  EXPECT_TRUE(copy_big == big) << "the 4 MiB value differs";
  EXPECT_EQ(copy_small, "seven b");
  // B-tree and meta pages are mapped (with the kernel's fault-around);
  // the 4 MiB of the value must not be.
  EXPECT_LT(mvtesting::MappedBytes("/data.mdb"), size_t{1} << 20)
      << "the value's pages were mapped";
}

TEST_F(LmdbEnvTest, CopyValueInAWriteTxnSeesItsOwnUncommittedPages) {
  ASSERT_THAT(Put("a", "k", std::string(100000, 'o')), IsOk());
  std::string copy;
  ASSERT_THAT(env_->Write([&](WriteTxn& t) -> absl::Status {
    MV_RETURN_IF_ERROR(t.Put(env_->Db("a"), "k", std::string(100000, 'n')));
    auto v = t.Get(env_->Db("a"), "k");
    if (!v.ok()) return v.status();
    return t.CopyValue(**v, &copy);
  }),
              IsOk());
  EXPECT_EQ(copy, std::string(100000, 'n'));
}

TEST_F(LmdbEnvTest, DataSurvivesReopen) {
  ASSERT_THAT(Put("b", "k", "durable"), IsOk());
  env_.reset();
  auto env = LmdbEnv::Open({dir_.path(), size_t{8} << 20}, {"a", "b"});
  ASSERT_THAT(env, IsOk());
  env_ = *std::move(env);
  EXPECT_EQ(Get("b", "k"), "durable");
}

// Points this process's descriptors of DIR/data.mdb that have O_DSYNC
// (`dsync`: LMDB's meta-page writes) or lack it (its other reads and writes)
// at `replacement`; returns how many it pointed.
int RedirectDataFile(const std::string& dir, int replacement, bool dsync) {
  const std::string data_file = dir + "/data.mdb";
  int redirected = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    int fd = std::stoi(entry.path().filename().string());
    if (!ec && target == data_file &&
        ((fcntl(fd, F_GETFL) & O_DSYNC) != 0) == dsync &&
        dup2(replacement, fd) >= 0) {
      ++redirected;
    }
  }
  return redirected;
}

// Points LMDB's O_DSYNC meta-page descriptor at /dev/full, so the next
// commit writes its data pages but fails writing the meta page — the
// failure after which LMDB marks the environment fatal (MDB_PANIC).
void BreakMetaWrites(const std::string& dir) {
  int full = open("/dev/full", O_WRONLY);
  ASSERT_GE(full, 0);
  const int broken = RedirectDataFile(dir, full, /*dsync=*/true);
  close(full);
  ASSERT_GT(broken, 0) << "no O_DSYNC descriptor of " << dir << "/data.mdb";
}

TEST_F(LmdbEnvTest, CopyValueReportsAFailedRead) {
  ASSERT_THAT(Put("a", "big", std::string(size_t{1} << 20, 'r')), IsOk());
  // Points LMDB's ordinary descriptor of the data file (the one without
  // O_DSYNC, which CopyValue reads through) at a directory: pread fails.
  int dir = open(dir_.path().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  const int broken = RedirectDataFile(dir_.path(), dir, /*dsync=*/false);
  close(dir);
  ASSERT_GT(broken, 0);
  std::string copy;
  EXPECT_THAT(env_->Read([&](const Txn& t) -> absl::Status {
    auto v = t.Get(env_->Db("a"), "big");
    if (!v.ok()) return v.status();
    return t.CopyValue(**v, &copy);
  }),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("storage error during read")));
}

TEST_F(LmdbEnvTest, AFailedMetaWriteIsReportedAndTheEnvironmentReopens) {
  ASSERT_THAT(Put("a", "kept", "1"), IsOk());
  BreakMetaWrites(dir_.path());
  EXPECT_THAT(
      Put("a", "lost", "2"),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("disk full")));
  // LMDB now answers MDB_PANIC; the next transaction reopens and goes on.
  EXPECT_THAT(Put("a", "after", "3"), IsOk());
  EXPECT_EQ(env_->reopen_count(), 1);
  EXPECT_EQ(Get("a", "kept"), "1");
  EXPECT_EQ(Get("a", "lost"), "<absent>");
  EXPECT_EQ(Get("a", "after"), "3");
}

// Regression: a nested second open of the same files re-initialised LMDB's
// robust mutexes under a held write lock and crashed a later test (seen
// under ASan and TSan in CI).
TEST_F(LmdbEnvTest, ASecondOpenOfTheSameDirectoryInOneProcessIsRefused) {
  auto again = LmdbEnv::Open({dir_.path() + "/.", size_t{8} << 20}, {"a"});
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition,
                              HasSubstr("already open in this process")));
  env_.reset();
  EXPECT_THAT(LmdbEnv::Open({dir_.path(), size_t{8} << 20}, {"a", "b"}), IsOk())
      << "closing releases the directory";
}

TEST_F(LmdbEnvTest, UnknownDatabaseNameIsAProgrammingError) {
  EXPECT_DEATH(env_->Db("c"), "");
}

TEST(LmdbEnv, MapFullIsResourceExhaustedAndReadsStillWork) {
  mvtesting::TempDir dir;
  auto opened = LmdbEnv::Open({dir.path(), size_t{1} << 20}, {"d"});
  ASSERT_THAT(opened, IsOk());
  LmdbEnv& env = **opened;
  EXPECT_EQ(env.map_size(), size_t{1} << 20);
  const std::string value(64 << 10, 'v');
  absl::Status s;
  int stored = 0;
  for (; stored < 100; ++stored) {
    s = env.Write([&](WriteTxn& t) {
      return t.Put(env.Db("d"), "key" + std::to_string(stored), value);
    });
    if (!s.ok()) break;
  }
  ASSERT_GT(stored, 0);
  ASSERT_LT(stored, 100) << "a 1 MiB map must fill up";
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("map size")));
  for (int i = 0; i < stored; ++i) {
    ASSERT_THAT(env.Read([&](const Txn& t) -> absl::Status {
      auto v = t.Get(env.Db("d"), "key" + std::to_string(i));
      if (!v.ok()) return v.status();
      EXPECT_TRUE(*v && **v == value) << i;
      return absl::OkStatus();
    }),
                IsOk());
  }
  // The failed key is absent; a failed transaction left nothing behind.
  ASSERT_THAT(env.Read([&](const Txn& t) -> absl::Status {
    auto v = t.Get(env.Db("d"), "key" + std::to_string(stored));
    EXPECT_TRUE(v.ok() && !v->has_value());
    return absl::OkStatus();
  }),
              IsOk());
}

TEST(LmdbEnv, OpenOfAMissingDirectoryFailsNamingIt) {
  mvtesting::TempDir dir;
  EXPECT_THAT(
      LmdbEnv::Open({dir.Sub("absent")}, {"d"}),
      StatusIs(absl::StatusCode::kInternal, HasSubstr(dir.Sub("absent"))));
}

TEST(LmdbStatus, MapsCodesToOperatorFacingStatuses) {
  EXPECT_THAT(LmdbStatus(0, "x"), IsOk());
  EXPECT_THAT(
      LmdbStatus(MDB_MAP_FULL, "write"),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("--map-size")));
  EXPECT_THAT(LmdbStatus(ENOSPC, "commit"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "disk full during commit"));
  EXPECT_THAT(LmdbStatus(MDB_PANIC, "commit"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("storage panic during commit")));
  EXPECT_THAT(LmdbStatus(EIO, "read"),
              StatusIs(absl::StatusCode::kUnavailable,
                       "storage I/O error during read"));
  EXPECT_THAT(LmdbStatus(MDB_READERS_FULL, "begin"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "too many concurrent readers"));
  EXPECT_THAT(LmdbStatus(MDB_CORRUPTED, "scan"),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("storage error during scan: ")));
}

}  // namespace
}  // namespace mv
