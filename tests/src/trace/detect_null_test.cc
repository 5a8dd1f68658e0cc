// Null cases (unmarked, unrelated, other version), abstention, verdict
// thresholds, API edges and the Chernoff bound.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "src/trace/traced_version.h"

namespace mv {
namespace {

using ::mv::trace_testing::ExpectNoVerdict;
using ::mv::trace_testing::F32Version;
using ::mv::trace_testing::Keys;
using ::mv::trace_testing::Version;
using ::mvtesting::IsOk;

TEST(Detect, UnmarkedOriginalIsNoOne) {
  const Version& v = F32Version();
  const TraceResult r = v.Trace(v.file(), "unmarked original");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  EXPECT_EQ(r.votes_nonzero, 0u);
  ExpectNoVerdict(v, r);
}

TEST(Detect, UnrelatedModelWithTheSameNamesIsNoOne) {
  const Version& v = F32Version();
  const TraceResult r =
      v.Trace(mvtesting::Build(mvtesting::SyntheticModel("F32", 999)),
              "unrelated model");
  ExpectNoVerdict(v, r);
}

TEST(Detect, LeakOfAnotherVersionIsNoOne) {
  const Version& v = F32Version();
  const Version other("F32", 2);  // same weights, another version serial
  const TraceResult r = v.Trace(other.Download(0), "other version");
  ExpectNoVerdict(v, r);
}

TEST(Detect, MisbehavingDecoysMakeTheResultAbstain) {
  const Version& v = F32Version();
  DetectOptions options;
  options.decoys = 100;
  options.decoy_abstain_z = 0.5;  // every decoy set "misbehaves"
  const TraceResult r = v.Trace(v.Download(0), "abstain", options);
  EXPECT_TRUE(r.abstained);
  EXPECT_EQ(r.decoys.count, 100u);
  EXPECT_GT(r.candidates[0].z, 50);
  ExpectNoVerdict(v, r);
}

TEST(Detect, ThresholdsSeparateSuspectFromAttributed) {
  const Version& v = F32Version();
  DetectOptions options;
  options.decoys = 100;
  options.attribute_p = 1e-300;
  options.suspect_p = 1e-100;
  const std::string leak = mvtesting::KeepTensors(
      v.Download(17), [](const mvtesting::ModelTensor& t) {
        return t.name == "model.layers.7.mlp.up_proj.weight";
      });
  const TraceResult r = v.Trace(leak, "partial, strict thresholds", options);
  EXPECT_EQ(v.Index(r.candidates[0].download_id), 17u);
  EXPECT_EQ(r.candidates[0].verdict, Verdict::kSuspect);  // log10 P ≈ -160
  EXPECT_EQ(r.candidates[1].verdict, Verdict::kNone);
}

TEST(Detect, LeakThatIsNotAModelIsInvalidArgument) {
  const TraceKeys keys = Keys(1);
  EXPECT_THAT(
      TraceLeak(keys, MarkTable{}, "not a model", {1, 2}).status(),
      mvtesting::StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
  EXPECT_THAT(
      TraceLeak(keys, MarkTable{}, "GGUF\x03", {1, 2}).status(),
      mvtesting::StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
}

TEST(Detect, TraceLeakIsReadVoteAndScore) {
  const Version& v = F32Version();
  absl::StatusOr<TraceResult> r =
      TraceLeak(v.keys(), v.table(), v.Download(18), v.ids());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(v.Index(r->candidates[0].download_id), 18u);
  EXPECT_EQ(r->candidates[0].verdict, Verdict::kAttributed);
}

TEST(Detect, VotesForAnotherTableAreNoVotes) {
  const Version& v = F32Version();
  Votes votes;
  votes.v = {1, 1, 1};
  DetectOptions options;
  options.decoys = 10;
  const TraceResult r =
      ScoreDownloads(v.keys(), v.table(), votes, v.ids(), options);
  EXPECT_EQ(r.votes_nonzero, 0u);
  ExpectNoVerdict(v, r);
  LeakValues none;
  EXPECT_EQ(ComputeVotes(v.table(), none).mode, TraceMode::kNoData);
}

TEST(ChernoffLogBound, AllVotesAgreeingApproachesTheExactTail) {
  // p = 1/2: w = ±1, S = n at all +1; Pr = 2^-n and the bound tends to it.
  const std::vector<double> v(20, 1.0), p(20, 0.5), w(20, 1.0);
  EXPECT_NEAR(ChernoffLogBound(v, p, w), -20 * std::log(2.0), 1e-3);
}

TEST(ChernoffLogBound, IsOneForNonPositiveScoresAndBelowHoeffding) {
  const std::vector<double> v = {1, -1, 0.5, 2}, p(4, 0.3);
  const double a = std::sqrt(0.7 / 0.3), b = std::sqrt(0.3 / 0.7);
  EXPECT_EQ(ChernoffLogBound(v, p, {-b, a, -b, -b}), 0);
  const std::vector<double> w = {a, -b, a, a};
  double s = 0, range = 0;
  for (size_t k = 0; k < 4; ++k)
    s += v[k] * w[k], range += v[k] * v[k] * (a + b) * (a + b);
  EXPECT_LE(ChernoffLogBound(v, p, w), -2 * s * s / range + 1e-12);
}

}  // namespace
}  // namespace mv
