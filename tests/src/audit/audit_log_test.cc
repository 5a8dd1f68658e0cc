#include "audit/audit_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "audit/audit_export.h"
#include "common/status_macros.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::IsOkAndHolds;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

AuditRecord Request(std::string request_id) {
  AuditRecord r;
  r.principal = "alice";
  r.method = "/modelvault.v1.ArtifactService/GetVersion";
  r.resource = "org/model@1";
  r.action = "read";
  r.decision = AuditDecision::kAllowed;
  r.request_id = std::move(request_id);
  return r;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::move(AuditSigningKey::Generate().value());
    options_.clock = &clock_;
    options_.idle_tick = absl::InfiniteDuration();
    options_.before_commit = [this]() -> absl::Status {
      ++transactions_;
      if (fail_.load()) return absl::InternalError("injected fault");
      return absl::OkStatus();
    };
    OpenLog();
  }
  void OpenLog() {
    env_ = std::move(
        LmdbEnv::Open({.dir = dir_.path(), .map_size = size_t{64} << 20},
                      {"audit", "audit_checkpoints", "audit_meta", "other"})
            .value());
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(env_.get(), key_.get(), options_);
    ASSERT_THAT(log, IsOk());
    log_ = std::move(*log);
  }
  void CloseLog() {
    ASSERT_THAT(log_->Close(), IsOk());
    log_.reset();
    env_.reset();
  }
  std::vector<uint64_t> CheckpointSequences() {
    std::vector<uint64_t> out;
    EXPECT_THAT(
        log_->ScanCheckpoints(0,
                              [&](const Checkpoint& c, std::string_view) {
                                out.push_back(c.sequence);
                                return true;
                              }),
        IsOk());
    return out;
  }
  std::string ExportText(uint64_t from = 1) {
    std::string text;
    EXPECT_THAT(
        log_->Export(from, [&](std::string_view line) { text.append(line); }),
        IsOk());
    return text;
  }
  uint64_t HeadSequence() { return log_->ReadHead().value().sequence; }

  mvtesting::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<AuditSigningKey> key_;
  AuditLog::Options options_;
  std::atomic<int> transactions_{0};
  std::atomic<bool> fail_{false};
  std::unique_ptr<LmdbEnv> env_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, CommitAssignsContiguousSequencesAndTheChainVerifies) {
  for (uint64_t i = 1; i <= 5; ++i) {
    EXPECT_THAT(log_->Commit(Request("r" + std::to_string(i))),
                IsOkAndHolds(i));
  }
  EXPECT_EQ(HeadSequence(), 5u);
  EXPECT_THAT(log_->VerifyStored(), IsOk());
  std::vector<std::string> ids;
  ASSERT_THAT(
      log_->ScanRecords(1,
                        [&](const AuditRecord& r, std::string_view hash) {
                          EXPECT_EQ(hash.size(), kAuditHashSize);
                          EXPECT_EQ(r.time_unix_ms,
                                    1700000000000);  // filled from the clock
                          ids.push_back(r.request_id);
                          return true;
                        }),
      IsOk());
  EXPECT_THAT(ids, ElementsAre("r1", "r2", "r3", "r4", "r5"));
}

TEST_F(AuditLogTest, ExportOfTheStoredLogVerifiesOffline) {
  for (int i = 0; i < 3; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  ASSERT_THAT(log_->Close(), IsOk());  // signs the tail
  const VerifyResult r =
      VerifyExport(ExportText(), key_->public_key(), {.from_genesis = true});
  EXPECT_THAT(r.Summary(), StartsWith("ok: 3 records, 1 checkpoints; "
                                      "sequences 1-3, "));
}

TEST_F(AuditLogTest, ExportFromMidChainVerifies) {
  options_.checkpoint_every_records = 2;
  CloseLog();
  OpenLog();
  for (int i = 0; i < 7; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  const VerifyResult r = VerifyExport(ExportText(4), key_->public_key());
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.records, 4u);
  EXPECT_EQ(r.checkpoints, 2u);  // at 4 and 6
}

TEST_F(AuditLogTest, AppendJoinsTheCallersTransaction) {
  ASSERT_THAT(log_->Commit(Request("before")), IsOk());
  // Handles are looked up outside transactions: Db() takes the env's lock.
  const MDB_dbi other = env_->Db("other");
  ASSERT_THAT(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(txn.Put(other, "published", "yes"));
    EXPECT_THAT(log_->Append(txn, Request("upload")), IsOkAndHolds(2u));
    EXPECT_THAT(log_->Append(txn, Request("upload2")), IsOkAndHolds(3u));
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_EQ(HeadSequence(), 3u);
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

TEST_F(AuditLogTest, AbortedCallerTransactionLeavesNoRecord) {
  ASSERT_THAT(log_->Commit(Request("before")), IsOk());
  EXPECT_THAT(
      env_->Write([&](WriteTxn& txn) -> absl::Status {
        EXPECT_THAT(log_->Append(txn, Request("upload")), IsOkAndHolds(2u));
        return absl::AbortedError("publish failed");
      }),
      StatusIs(absl::StatusCode::kAborted, HasSubstr("publish failed")));
  EXPECT_EQ(HeadSequence(), 1u);
  EXPECT_THAT(log_->Commit(Request("after")), IsOkAndHolds(2u));
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

TEST_F(AuditLogTest, AppendRejectsANonCanonicalRecord) {
  AuditRecord bad = Request("x");
  bad.peer = "\xff";
  EXPECT_THAT(env_->Write([&](WriteTxn& txn) {
    return log_->Append(txn, bad).status();
  }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("peer")));
}

TEST_F(AuditLogTest, CommitSanitizesTheRecord) {
  AuditRecord r = Request("x");
  r.peer = "a\xff";
  ASSERT_THAT(log_->Commit(r), IsOk());
  ASSERT_THAT(
      log_->ScanRecords(1,
                        [&](const AuditRecord& stored, std::string_view) {
                          EXPECT_EQ(stored.peer, "a\xef\xbf\xbd");
                          return false;
                        }),
      IsOk());
}

TEST_F(AuditLogTest, SixteenThreadsGroupCommitIntoOneContiguousChain) {
  constexpr int kThreads = 16, kEach = 40;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> got(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<uint64_t> s = log_->Commit(
            Request("t" + std::to_string(t) + "-" + std::to_string(i)));
        EXPECT_THAT(s, IsOk());
        if (s.ok()) got[t].push_back(*s);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  ASSERT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), uint64_t{kThreads * kEach});
  std::set<std::string> ids;
  ASSERT_THAT(log_->ScanRecords(1,
                                [&](const AuditRecord& r, std::string_view) {
                                  ids.insert(r.request_id);
                                  return true;
                                }),
              IsOk());
  EXPECT_EQ(ids.size(), size_t{kThreads * kEach});
  EXPECT_THAT(log_->VerifyStored(), IsOk());
  // Informational only (no timing assertions): how many transactions.
  RecordProperty("transactions", transactions_.load());
  std::printf("group commit: %d records in %d transactions\n", kThreads * kEach,
              transactions_.load());
}

TEST_F(AuditLogTest, RecordsArrivingDuringACommitShareTheNextTransaction) {
  std::mutex mu;
  std::condition_variable cv;
  bool in_first = false, release = false;
  int calls = 0;
  options_.before_commit = [&]() -> absl::Status {
    std::unique_lock lock(mu);
    if (++calls == 1) {
      in_first = true;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    }
    return absl::OkStatus();
  };
  CloseLog();
  OpenLog();
  std::thread first(
      [&] { EXPECT_THAT(log_->Commit(Request("first")), IsOkAndHolds(1u)); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return in_first; });
  }
  constexpr int kWaiters = 10;
  std::vector<std::thread> waiters;
  std::set<uint64_t> sequences;
  std::mutex sequences_mu;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      absl::StatusOr<uint64_t> s = log_->Commit(Request("waiter"));
      ASSERT_THAT(s, IsOk());
      std::lock_guard lock(sequences_mu);
      sequences.insert(*s);
    });
  }
  while (log_->queued() < kWaiters) std::this_thread::yield();  // all queued
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  for (std::thread& t : waiters) t.join();
  ASSERT_EQ(sequences.size(), size_t{kWaiters});
  EXPECT_EQ(*sequences.begin(), 2u);
  EXPECT_EQ(*sequences.rbegin(), uint64_t{kWaiters + 1});
  EXPECT_THAT(log_->VerifyStored(), IsOk());
  CloseLog();  // the hook refers to this test's locals
  std::lock_guard lock(mu);
  EXPECT_EQ(calls, 2);  // the first transaction, then one for all waiters
}

TEST_F(AuditLogTest, FailingCommitFailsEveryWaiterAndWritesNothing) {
  ASSERT_THAT(log_->Commit(Request("before")), IsOk());
  const std::string before = ExportText();
  fail_ = true;
  std::vector<std::thread> threads;
  std::atomic<int> unavailable{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      absl::StatusOr<uint64_t> s = log_->Commit(Request("doomed"));
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                              HasSubstr("injected fault")));
      if (s.status().code() == absl::StatusCode::kUnavailable) ++unavailable;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(unavailable.load(), 8);
  EXPECT_EQ(HeadSequence(), 1u);
  EXPECT_EQ(ExportText(), before);
  EXPECT_EQ(CheckpointSequences().size(), 0u);
  fail_ = false;
  EXPECT_THAT(log_->Commit(Request("after")), IsOkAndHolds(2u));
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

TEST_F(AuditLogTest, CheckpointEveryNRecords) {
  options_.checkpoint_every_records = 3;
  CloseLog();
  OpenLog();
  for (int i = 0; i < 7; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  EXPECT_THAT(CheckpointSequences(), ElementsAre(3, 6));
  ASSERT_THAT(log_->Close(), IsOk());
  EXPECT_THAT(CheckpointSequences(), ElementsAre(3, 6, 7));
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

TEST_F(AuditLogTest, CheckpointAfterTheInterval) {
  options_.checkpoint_interval = absl::Seconds(60);
  CloseLog();
  OpenLog();
  ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  EXPECT_THAT(log_->MaybeCheckpoint(), IsOk());
  EXPECT_THAT(CheckpointSequences(), ElementsAre());  // not yet due
  clock_.Advance(absl::Seconds(61));
  EXPECT_THAT(log_->MaybeCheckpoint(), IsOk());  // the idle path
  EXPECT_THAT(CheckpointSequences(), ElementsAre(1));
  EXPECT_THAT(log_->MaybeCheckpoint(), IsOk());  // nothing new to sign
  ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  EXPECT_THAT(CheckpointSequences(), ElementsAre(1));
  clock_.Advance(absl::Seconds(60));
  ASSERT_THAT(log_->Commit(Request("r")), IsOk());  // the busy path
  EXPECT_THAT(CheckpointSequences(), ElementsAre(1, 3));
}

TEST_F(AuditLogTest, CloseOnAFullySignedLogWritesNoExtraCheckpoint) {
  options_.checkpoint_every_records = 2;
  CloseLog();
  OpenLog();
  for (int i = 0; i < 2; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  ASSERT_THAT(log_->Close(), IsOk());
  ASSERT_THAT(log_->Close(), IsOk());
  EXPECT_THAT(CheckpointSequences(), ElementsAre(2));
}

TEST_F(AuditLogTest, CommitAfterCloseIsUnavailable) {
  ASSERT_THAT(log_->Close(), IsOk());
  EXPECT_THAT(log_->Commit(Request("late")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("closed")));
}

TEST_F(AuditLogTest, ReopenContinuesTheChain) {
  for (int i = 0; i < 3; ++i)
    ASSERT_THAT(log_->Commit(Request("first")), IsOk());
  CloseLog();
  OpenLog();
  EXPECT_THAT(log_->Commit(Request("second")), IsOkAndHolds(4u));
  EXPECT_THAT(log_->VerifyStored(), IsOk());
  ASSERT_THAT(log_->Close(), IsOk());
  const VerifyResult r =
      VerifyExport(ExportText(), key_->public_key(), {.from_genesis = true});
  EXPECT_THAT(r.Summary(), StartsWith("ok: 4 records, 2 checkpoints; "
                                      "sequences 1-4, "));
}

TEST_F(AuditLogTest, VerifyStoredNamesAnEditedRecord) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  const MDB_dbi records = env_->Db("audit");
  ASSERT_THAT(env_->Write([&](WriteTxn& txn) -> absl::Status {
    std::string key(8, '\0');
    key[7] = 3;
    MV_ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                        txn.Get(records, key));
    std::string edited(*v);
    edited[edited.find("alice")] = 'A';
    return txn.Put(records, key, edited);
  }),
              IsOk());
  EXPECT_THAT(log_->VerifyStored(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("sequence 3: hash mismatch")));
}

TEST_F(AuditLogTest, VerifyStoredNamesADeletedRecord) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  const MDB_dbi records = env_->Db("audit");
  ASSERT_THAT(env_->Write([&](WriteTxn& txn) {
    std::string key(8, '\0');
    key[7] = 2;
    return txn.Delete(records, key);
  }),
              IsOk());
  EXPECT_THAT(log_->VerifyStored(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("sequence 2: record missing")));
}

TEST_F(AuditLogTest, VerifyStoredNamesAForgedCheckpoint) {
  options_.checkpoint_every_records = 2;
  CloseLog();
  OpenLog();
  for (int i = 0; i < 4; ++i) ASSERT_THAT(log_->Commit(Request("r")), IsOk());
  const MDB_dbi checkpoints = env_->Db("audit_checkpoints");
  ASSERT_THAT(env_->Write([&](WriteTxn& txn) -> absl::Status {
    std::string key(8, '\0');
    key[7] = 4;
    MV_ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                        txn.Get(checkpoints, key));
    std::string edited(*v);
    edited[12] ^= 1;  // inside the head hash
    return txn.Put(checkpoints, key, edited);
  }),
              IsOk());
  EXPECT_THAT(log_->VerifyStored(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("sequence 4: bad checkpoint signature")));
}

}  // namespace
}  // namespace mv
