// IdentityStore::ChargeDownload: daily download budgets per principal and rule.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/vault.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// The fake clock starts at 2023-11-14T22:13:20Z; the next UTC day begins
// 6400 s later.
constexpr absl::Duration kToMidnight = absl::Seconds(6400);

std::string Budgeted(const std::string& conditions) {
  return R"({"rules": [{"effect": "allow", "artifacts": ["acme/**"], "actions": ["read"],
                        "conditions": )" +
         conditions + "}]}";
}

class BudgetsTest : public VaultTest {
 protected:
  // Authorizes a read of acme/m and charges `bytes` for it.
  absl::Status Download(const mv::Principal& who, uint64_t bytes) {
    mv::AccessRequest request;
    request.artifact = "acme/m";
    request.now = absl::InfinitePast();
    absl::StatusOr<mv::Decision> decision =
        vault_->identity().Authorize(who, request);
    if (!decision.ok()) return decision.status();
    return vault_->identity().ChargeDownload(who, *decision, bytes);
  }
};

TEST_F(BudgetsTest, DownloadCountIsLimitedPerPrincipalAndDay) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 2})"));
  const mv::Principal alice = Principal("alice", {"limited"});
  const mv::Principal bob = Principal("bob", {"limited"});
  EXPECT_THAT(Download(alice, 10), IsOk());
  EXPECT_THAT(Download(alice, 10), IsOk());
  EXPECT_THAT(
      Download(alice, 10),
      StatusIs(
          absl::StatusCode::kResourceExhausted,
          "daily download budget exhausted: policy limited rule 0 allows 2 "
          "downloads/day"));
  EXPECT_THAT(Download(bob, 10), IsOk()) << "bob has a budget of his own";
}

TEST_F(BudgetsTest, CountsSurviveReopen) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  const mv::Principal alice = Principal("alice", {"limited"});
  ASSERT_THAT(Download(alice, 1), IsOk());
  Reopen();
  EXPECT_THAT(Download(alice, 1),
              StatusIs(absl::StatusCode::kResourceExhausted, testing::_));
}

TEST_F(BudgetsTest, BudgetsResetAtTheNextUtcDayAndOldDaysArePruned) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  const mv::Principal alice = Principal("alice", {"limited"});
  ASSERT_THAT(Download(alice, 1), IsOk());
  clock_.Advance(kToMidnight - absl::Seconds(1));
  EXPECT_THAT(Download(alice, 1),
              StatusIs(absl::StatusCode::kResourceExhausted, testing::_))
      << "23:59:59 is still the same day";
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(Download(alice, 1), IsOk());
  CloseVault();
  EXPECT_THAT(DumpRaw("budgets"), SizeIs(1)) << "yesterday's counter is gone";
}

TEST_F(BudgetsTest, BytesAreLimitedAndARefusedDownloadChargesNothing) {
  PutPolicy("bytes", Budgeted(R"({"max_bytes_per_day": 1000})"));
  const mv::Principal alice = Principal("alice", {"bytes"});
  EXPECT_THAT(Download(alice, 600), IsOk());
  EXPECT_THAT(
      Download(alice, 500),
      StatusIs(
          absl::StatusCode::kResourceExhausted,
          "daily download budget exhausted: policy bytes rule 0 allows 1000 "
          "bytes/day (600 used today; this download needs 500)"));
  EXPECT_THAT(Download(alice, 400), IsOk()) << "the refusal charged nothing";
  EXPECT_THAT(Download(alice, 1),
              StatusIs(absl::StatusCode::kResourceExhausted, testing::_));
  EXPECT_THAT(Download(alice, 0), IsOk()) << "an empty download fits";
}

TEST_F(BudgetsTest, ADownloadLargerThanTheWholeBudgetIsRefusedUpFront) {
  PutPolicy("bytes", Budgeted(R"({"max_bytes_per_day": 1000})"));
  const mv::Principal alice = Principal("alice", {"bytes"});
  EXPECT_THAT(Download(alice, 1001),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("allows 1000 bytes/day")));
  CloseVault();
  EXPECT_THAT(DumpRaw("budgets"), IsEmpty());
}

TEST_F(BudgetsTest, AnUnbudgetedAllowingRuleMeansNoCharge) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  PutPolicy("readers", AllowJson(R"(["acme/**"])", R"(["read"])"));
  const mv::Principal alice = Principal("alice", {"limited", "readers"});
  for (int i = 0; i < 3; ++i) EXPECT_THAT(Download(alice, 100), IsOk());
  const mv::Principal root = *Login(root_token_);
  for (int i = 0; i < 3; ++i) EXPECT_THAT(Download(root, 100), IsOk());
  CloseVault();
  EXPECT_THAT(DumpRaw("budgets"), IsEmpty());
}

TEST_F(BudgetsTest, TheFirstRuleWithRoomIsCharged) {
  PutPolicy("two", R"({"rules": [
      {"effect": "allow", "artifacts": ["acme/**"], "actions": ["read"],
       "conditions": {"max_downloads_per_day": 1}},
      {"effect": "allow", "artifacts": ["acme/m"], "actions": ["read"],
       "conditions": {"max_downloads_per_day": 2}}]})");
  const mv::Principal alice = Principal("alice", {"two"});
  for (int i = 0; i < 3; ++i) EXPECT_THAT(Download(alice, 1), IsOk()) << i;
  EXPECT_THAT(
      Download(alice, 1),
      StatusIs(absl::StatusCode::kResourceExhausted,
               "daily download budget exhausted: policy two rule 0 allows 1 "
               "downloads/day; policy two rule 1 allows 2 downloads/day"));
}

TEST_F(BudgetsTest, DeletingAPrincipalDropsItsCounters) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  ASSERT_THAT(Download(Principal("alice", {"limited"}), 1), IsOk());
  ASSERT_THAT(vault_->identity().DeletePrincipal(mv::RootCaller(), "alice"),
              IsOk());
  EXPECT_THAT(Download(Principal("alice", {"limited"}), 1), IsOk());
}

TEST_F(BudgetsTest, ADeniedDecisionCannotBeCharged) {
  EXPECT_THAT(vault_->identity().ChargeDownload(root_, mv::Decision{}, 1),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
}

}  // namespace
}  // namespace mvtesting
