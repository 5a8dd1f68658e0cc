// Archiving the audit log (AuditLog::PlanArchive / Archive): records up to a
// signed checkpoint leave the server, the checkpoint stays as the anchor,
// the remaining chain still verifies, and the archive's export chains into
// the export of what remains.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "audit/audit_export.h"
#include "audit/audit_log.h"
#include "common/status_macros.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

AuditRecord Request(std::string request_id) {
  AuditRecord r;
  r.principal = "alice";
  r.method = "/modelvault.v1.AuditService/Archive";
  r.action = "admin:audit:archive";
  r.decision = AuditDecision::kAllowed;
  r.request_id = std::move(request_id);
  return r;
}

class AuditArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::move(AuditSigningKey::Generate().value());
    options_.clock = &clock_;
    options_.idle_tick = absl::InfiniteDuration();
    options_.checkpoint_every_records = 10;
    options_.checkpoint_interval = absl::Hours(1000);
    options_.witness_path = dir_.path() + "/witness";
    options_.fault = [this]() -> absl::Status {
      return fail_ ? absl::InternalError("injected") : absl::OkStatus();
    };
    OpenLog();
    // 25 records, a minute apart: checkpoints at 10 and 20.
    for (int i = 1; i <= 25; ++i) {
      ASSERT_THAT(log_->Commit(Request("r" + std::to_string(i))), IsOk());
      clock_.Advance(absl::Minutes(1));
    }
  }
  void OpenLog() {
    env_ = std::move(
        LmdbEnv::Open({.dir = dir_.path(), .map_size = size_t{64} << 20},
                      {"audit", "audit_checkpoints", "audit_meta"})
            .value());
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(env_.get(), key_.get(), options_);
    ASSERT_THAT(log, IsOk());
    log_ = std::move(*log);
  }
  void Reopen() {
    ASSERT_THAT(log_->Close(), IsOk());
    log_.reset();
    env_.reset();
    OpenLog();
  }
  // An export as the server sends one: records, checkpoints, signed end.
  std::string ExportText(uint64_t from, uint64_t through) {
    std::string text;
    EXPECT_THAT(log_->Export(from, through,
                             [&](std::string_view line) {
                               text.append(line);
                               return true;
                             }),
                IsOk());
    Checkpoint end;
    EXPECT_THAT(log_->ScanCheckpoints(through,
                                      [&](const Checkpoint& c, auto) {
                                        end = c;
                                        return false;
                                      }),
                IsOk());
    return text + log_->ExportEndLine(from, end);
  }
  int64_t Time(int minutes) {
    return 1'700'000'000'000 + int64_t{minutes} * 60'000;
  }

  mvtesting::TempDir dir_;
  FakeClock clock_{absl::FromUnixMillis(1'700'000'000'000)};
  std::unique_ptr<AuditSigningKey> key_;
  AuditLog::Options options_;
  std::unique_ptr<LmdbEnv> env_;
  std::unique_ptr<AuditLog> log_;
  bool fail_ = false;
};

TEST_F(AuditArchiveTest, ThePlanEndsAtTheNewestCheckpointBeforeTheTime) {
  // Checkpoint 10 was written at minute 9, checkpoint 20 at minute 19.
  auto plan = log_->PlanArchive(Time(15));
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->first, 1u);
  EXPECT_EQ(plan->through, 10u);
  plan = log_->PlanArchive(Time(60));
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->through, 20u);  // 21-25 are not signed yet
  EXPECT_THAT(log_->PlanArchive(Time(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("nothing to archive")));
}

TEST_F(AuditArchiveTest, ArchivedRecordsLeaveAndTheRestStillVerifies) {
  const std::string archive = ExportText(1, 20);
  const VerifyResult archived =
      VerifyExport(archive, key_->public_key(),
                   {.from_genesis = true, .require_export_end = true});
  ASSERT_TRUE(archived.ok) << archived.Summary();
  EXPECT_EQ(archived.last_sequence, 20u);

  ASSERT_THAT(log_->Archive(20, Request("archive")), IsOk());
  auto anchor = log_->ReadAnchor();
  ASSERT_THAT(anchor, IsOk());
  EXPECT_EQ(anchor->sequence, 20u);
  EXPECT_EQ(anchor->hash, archived.last_hash);
  uint64_t first = 0, count = 0;
  ASSERT_THAT(log_->ScanRecords(1,
                                [&](const AuditRecord& r, auto) {
                                  if (count++ == 0) first = r.sequence;
                                  return true;
                                }),
              IsOk());
  EXPECT_EQ(first, 21u);
  EXPECT_EQ(count, 6u);  // 21-25 and the archive's own record
  EXPECT_THAT(log_->VerifyStored(), IsOk());

  // What remains exports from the anchor and chains into the archive.
  ASSERT_THAT(log_->ForceCheckpoint(), IsOk());
  const std::string rest = ExportText(21, 26);
  const VerifyResult remaining =
      VerifyExport(rest, key_->public_key(), {.require_export_end = true});
  ASSERT_TRUE(remaining.ok) << remaining.Summary();
  EXPECT_EQ(remaining.first_sequence, 21u);
  EXPECT_EQ(remaining.first_prev, archived.last_hash);

  // The witness still agrees after a restart, and appends go on.
  Reopen();
  EXPECT_THAT(log_->VerifyStored(), IsOk());
  EXPECT_THAT(log_->Commit(Request("after")), IsOk());
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

TEST_F(AuditArchiveTest, OnlyASignedCheckpointPastTheAnchorCanEndAnArchive) {
  EXPECT_THAT(log_->Archive(15, Request("x")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a signed checkpoint")));
  ASSERT_THAT(log_->Archive(10, Request("x")), IsOk());
  EXPECT_THAT(log_->Archive(10, Request("x")),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  auto plan = log_->PlanArchive(Time(60));
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->first, 11u);
  EXPECT_EQ(plan->through, 20u);
  ASSERT_THAT(log_->Archive(20, Request("y")), IsOk());
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

// Fail closed: the archive's own record is written in the transaction that
// removes the records, so when it cannot be, nothing is removed.
TEST_F(AuditArchiveTest, AFailedAuditRecordRemovesNothing) {
  fail_ = true;
  EXPECT_THAT(log_->Archive(20, Request("x")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("audit log write failed")));
  fail_ = false;
  auto anchor = log_->ReadAnchor();
  ASSERT_THAT(anchor, IsOk());
  EXPECT_EQ(anchor->sequence, 0u);
  bool has_first = false;
  ASSERT_THAT(log_->ScanRecords(1,
                                [&](const AuditRecord& r, auto) {
                                  has_first = r.sequence == 1;
                                  return false;
                                }),
              IsOk());
  EXPECT_TRUE(has_first);
  EXPECT_THAT(log_->VerifyStored(), IsOk());
}

// Records deleted without an archive (a writer of the data file) are a gap
// VerifyStored names, as before; so is an anchor without its checkpoint.
TEST_F(AuditArchiveTest, RecordsRemovedWithoutAnArchiveAreAGap) {
  const MDB_dbi records = env_->Db("audit");
  ASSERT_THAT(env_->Write([&](WriteTxn& txn) -> absl::Status {
    for (uint8_t s = 1; s <= 10; ++s) {
      std::string key(8, '\0');
      key[7] = static_cast<char>(s);
      MV_RETURN_IF_ERROR(txn.Delete(records, key));
    }
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_THAT(log_->VerifyStored(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("sequence 1: record missing")));
}

}  // namespace
}  // namespace mv
