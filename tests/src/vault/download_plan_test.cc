// Vault::PlanDownload: which delivery a pull gets under each --fingerprint
// mode, read:exact before the version is resolved, and resumed download ids
// that must be the caller's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "src/trace/trace_test_models.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/vault.h"

namespace mvtesting {
namespace {

using mv::Delivery;
using mv::FingerprintMode;
using ::testing::HasSubstr;

class DownloadPlanTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    absl::StatusOr<mv::VersionInfo> marked =
        Upload("acme/m", Build(SyntheticModel("F32", 31)));
    ASSERT_THAT(marked, IsOk());
    ASSERT_TRUE(marked->fingerprint.markable());
    marked_ = *marked;
    ASSERT_THAT(Upload("acme/raw", std::string(10000, 'x')), IsOk());
    PutPolicy("readers", AllowJson(R"(["acme/**"])", R"(["read"])"));
    PutPolicy("exact", AllowJson(R"(["acme/**"])", R"(["read","read:exact"])"));
    PutPolicy(
        "marked-only",
        R"({"rules":[{"effect":"allow","artifacts":["acme/**"],)"
        R"("actions":["read"],"conditions":{"require_fingerprint":true}}]})");
    reader_ = Principal("reader", {"readers"});
    exact_ = Principal("exacting", {"exact"});
    marked_only_ = Principal("marked", {"marked-only"});
  }

  // Admits `who` for read as the server would (MarksWanted), then plans.
  absl::StatusOr<mv::DownloadPlan> Plan(const mv::Principal& who,
                                        FingerprintMode mode,
                                        mv::DownloadAsk ask) {
    mv::AccessRequest read;
    read.artifact = ask.ref.substr(0, ask.ref.find('@'));
    read.now = absl::InfinitePast();
    read.fingerprinted = mv::MarksWanted(mode, ask.exact);
    absl::StatusOr<mv::Decision> admitted =
        vault_->identity().Authorize(who, read);
    if (!admitted.ok()) return admitted.status();
    return vault_->PlanDownload(who, "127.0.0.1", mode, ask, *admitted);
  }

  mv::VersionInfo marked_;
  mv::Principal reader_, exact_, marked_only_;
};

TEST_F(DownloadPlanTest, AlwaysMarksAMarkableVersionUnderANewDownloadId) {
  absl::StatusOr<mv::DownloadPlan> plan =
      Plan(reader_, FingerprintMode::kAlways, {"acme/m"});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->kind, Delivery::kFingerprinted);
  EXPECT_TRUE(plan->delivery.fingerprint);
  EXPECT_FALSE(plan->delivery.exact);
  EXPECT_NE(plan->delivery.download_id, 0u);
  EXPECT_EQ(plan->version.Ref(), "acme/m@1");
  EXPECT_FALSE(plan->exact.has_value());
  absl::StatusOr<mv::DownloadPlan> again =
      Plan(reader_, FingerprintMode::kAlways, {"acme/m"});
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(again->delivery.download_id, plan->delivery.download_id);
}

TEST_F(DownloadPlanTest, AnUnmarkableVersionGoesUnmarkedUnlessARuleNeedsMarks) {
  absl::StatusOr<mv::DownloadPlan> plan =
      Plan(reader_, FingerprintMode::kAlways, {"acme/raw"});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->kind, Delivery::kUnmarked);
  EXPECT_FALSE(plan->delivery.fingerprint);
  EXPECT_THAT(Plan(marked_only_, FingerprintMode::kAlways, {"acme/raw"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("acme/raw@1 cannot be marked")));
}

TEST_F(DownloadPlanTest, PolicyModeMarksOnlyWhereARuleRequiresIt) {
  absl::StatusOr<mv::DownloadPlan> plain =
      Plan(reader_, FingerprintMode::kPolicy, {"acme/m"});
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->kind, Delivery::kUnmarked);
  absl::StatusOr<mv::DownloadPlan> required =
      Plan(marked_only_, FingerprintMode::kPolicy, {"acme/m"});
  ASSERT_THAT(required, IsOk());
  EXPECT_EQ(required->kind, Delivery::kFingerprinted);
}

TEST_F(DownloadPlanTest, OffMarksNothingAndNoRequireFingerprintRuleMatches) {
  absl::StatusOr<mv::DownloadPlan> plan =
      Plan(reader_, FingerprintMode::kOff, {"acme/m"});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->kind, Delivery::kUnmarked);
  EXPECT_THAT(Plan(marked_only_, FingerprintMode::kOff, {"acme/m"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("read on acme/m")));
}

TEST_F(DownloadPlanTest, ExactNeedsReadExactAndIsDecidedBeforeTheLookup) {
  EXPECT_THAT(Plan(reader_, FingerprintMode::kAlways, {"acme/m", true}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("read:exact on acme/m")));
  // No existence oracle: a missing version is denied the same way.
  EXPECT_THAT(Plan(reader_, FingerprintMode::kAlways, {"acme/gone", true}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("read:exact on acme/gone")));
  EXPECT_THAT(Plan(exact_, FingerprintMode::kAlways, {"acme/gone", true}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("acme/gone")));
  absl::StatusOr<mv::DownloadPlan> plan =
      Plan(exact_, FingerprintMode::kAlways, {"acme/m", true});
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->kind, Delivery::kExact);
  EXPECT_TRUE(plan->delivery.exact);
  EXPECT_FALSE(plan->delivery.fingerprint);
  EXPECT_TRUE(plan->exact.has_value());
}

TEST_F(DownloadPlanTest, AResumedDownloadIdMustBeTheCallersOwnOfThatVersion) {
  absl::StatusOr<mv::DownloadPlan> first =
      Plan(reader_, FingerprintMode::kAlways, {"acme/m"});
  ASSERT_THAT(first, IsOk());
  const uint64_t id = first->delivery.download_id;
  mv::DownloadRecord record;
  record.serial = marked_.serial;
  record.download_id = id;
  record.delivery = Delivery::kFingerprinted;
  ASSERT_THAT(vault_->downloads().StartDownload(reader_, first->decision, 1,
                                                record, nullptr),
              IsOk());

  absl::StatusOr<mv::DownloadPlan> resumed =
      Plan(reader_, FingerprintMode::kAlways, {"acme/m", false, id});
  ASSERT_THAT(resumed, IsOk());
  EXPECT_EQ(resumed->delivery.download_id, id);
  // Another principal, another delivery, an id never issued: refused alike.
  for (auto [who, mode, ask] :
       {std::tuple{exact_, FingerprintMode::kAlways,
                   mv::DownloadAsk{"acme/m", false, id}},
        std::tuple{reader_, FingerprintMode::kPolicy,
                   mv::DownloadAsk{"acme/m", false, id}},
        std::tuple{reader_, FingerprintMode::kAlways,
                   mv::DownloadAsk{"acme/m", false, id + 1}}}) {
    EXPECT_THAT(
        Plan(who, mode, ask),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 HasSubstr("is not one of your downloads of acme/m@1")));
  }
}

TEST(FingerprintModeTest, ParsesTheThreeModesAndNothingElse) {
  EXPECT_EQ(mv::ParseFingerprintMode("always"), FingerprintMode::kAlways);
  EXPECT_EQ(mv::ParseFingerprintMode("policy"), FingerprintMode::kPolicy);
  EXPECT_EQ(mv::ParseFingerprintMode("off"), FingerprintMode::kOff);
  EXPECT_EQ(mv::ParseFingerprintMode("Always"), std::nullopt);
  EXPECT_EQ(mv::ParseFingerprintMode(""), std::nullopt);
}

}  // namespace
}  // namespace mvtesting
