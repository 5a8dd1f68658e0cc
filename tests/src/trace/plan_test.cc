#include "trace/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <set>

#include "src/trace/trace_test_models.h"
#include "testing/status_matchers.h"
#include "trace/element_codec.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;

const TraceKeys& Keys() {
  static const TraceKeys* keys = [] {
    std::array<uint8_t, 32> k;
    k.fill(9);
    return new TraceKeys(*TraceKeys::Derive(*SecretKey::FromBytes(k), 1));
  }();
  return *keys;
}

TEST(AllocateQuotas, ProportionalWithLargestRemainder) {
  EXPECT_THAT(AllocateQuotas({100, 100, 100}, 10), ElementsAre(4, 3, 3));
  EXPECT_THAT(AllocateQuotas({1, 2, 7}, 10), ElementsAre(1, 2, 7));
  EXPECT_THAT(AllocateQuotas({10, 30}, 5), ElementsAre(1, 4));  // 1.25, 3.75
  EXPECT_THAT(AllocateQuotas({2, 1000}, 8192), ElementsAre(2, 1000));
  EXPECT_THAT(AllocateQuotas({}, 10), ElementsAre());
}

TEST(TardosWeight, CoversTheCutoffInterval) {
  EXPECT_EQ(TardosWeight(0), 655);  // round(0.01 * 65536)
  EXPECT_EQ(TardosWeight(0.5), 32768);
  EXPECT_EQ(TardosWeight(0.999999999), 64881);  // round(0.99 * 65536)
}

class PlanTest : public testing::TestWithParam<std::string> {};

TEST_P(PlanTest, StreamingPlanEqualsOneFeedForAnyPieceSize) {
  const std::string file =
      mvtesting::Build(mvtesting::SyntheticModel(GetParam(), 1));
  absl::StatusOr<MarkTable> whole =
      mvtesting::PlanInPieces(Keys(), file, file.size());
  ASSERT_THAT(whole, IsOk());
  for (size_t piece : {1, 7, 4096, 1 << 20}) {
    absl::StatusOr<MarkTable> table =
        mvtesting::PlanInPieces(Keys(), file, piece);
    ASSERT_THAT(table, IsOk());
    EXPECT_TRUE(*table == *whole) << "piece " << piece;
  }
}

TEST_P(PlanTest, ChoosesQuotaPositionsInTheBandOfEligibleTensors) {
  const std::string file =
      mvtesting::Build(mvtesting::SyntheticModel(GetParam(), 2));
  absl::StatusOr<MarkTable> table =
      mvtesting::PlanInPieces(Keys(), file, 65536);
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->CountChannel(MarkChannel::kTardos), 8192u);
  EXPECT_EQ(table->CountChannel(MarkChannel::kReference), 4096u);
  ASSERT_EQ(table->tensors.size(), 10u);  // the ten up_proj tensors
  for (const TraceTensor& t : table->tensors) {
    EXPECT_THAT(t.name, testing::MatchesRegex(
                            "model\\.layers\\.[0-9]\\.mlp\\.up_proj\\.weight"));
  }
  std::vector<double> sum_squares(10, 0);
  for (size_t i = 0; i < table->tensors.size(); ++i) {
    const TraceTensor& t = table->tensors[i];
    for (uint64_t e = 0; e < t.NumElements(); ++e) {
      const MarkableType d = t.dtype;
      const double x = DecodeElement(
          d, LoadElementBits(d, file.data() + t.offset + e * ElementBytes(d)));
      sum_squares[i] += x * x;
    }
  }
  std::set<uint64_t> offsets;
  for (const MarkEntry& e : table->entries) {
    const TraceTensor& t = table->tensors[e.tensor];
    const double sigma = std::sqrt(sum_squares[e.tensor] / t.NumElements());
    const uint32_t bits = LoadElementBits(e.dtype, file.data() + e.file_offset);
    EXPECT_EQ(bits, e.original_bits);
    const double x = std::fabs(DecodeElement(e.dtype, bits));
    EXPECT_GE(x, sigma * (1 - 1e-9));
    EXPECT_LE(x, 3 * sigma * (1 + 1e-9));
    EXPECT_TRUE(offsets.insert(e.file_offset).second);
    if (e.channel == MarkChannel::kTardos) {
      EXPECT_GE(e.weight, 655);
      EXPECT_LE(e.weight, 64881);
    }
  }
  // Each tensor is the same size: 819 or 820 Tardos positions each.
  std::vector<int> per_tensor(10, 0);
  for (const MarkEntry& e : table->entries)
    per_tensor[e.tensor] += e.channel == MarkChannel::kTardos;
  for (int n : per_tensor) EXPECT_TRUE(n == 819 || n == 820) << n;
}

INSTANTIATE_TEST_SUITE_P(Dtypes, PlanTest,
                         testing::Values("F32", "F16", "BF16"));

TEST(Plan, NeverChoosesAnElementStraddlingAStorageChunk) {
  // A header of 4n+1 bytes puts F32 elements across multiples of 64.
  mvtesting::SafetensorsBuilder builder;
  std::string data;
  for (const mvtesting::ModelTensor& t : mvtesting::SyntheticModel("F32", 3)) {
    builder.Tensor(t.name, t.dtype, t.shape, t.data);
    data += t.data;
  }
  std::string header = builder.HeaderJson();
  while (header.size() % 4 != 1) header += ' ';
  const std::string file = mvtesting::SafetensorsFile(header, data);
  PlanOptions options;
  options.storage_chunk_size = 64;
  absl::StatusOr<MarkTable> table =
      mvtesting::PlanInPieces(Keys(), file, 4096, options);
  ASSERT_THAT(table, IsOk());
  ASSERT_NE(table->tensors[0].offset % 4, 0u);
  EXPECT_EQ(table->CountChannel(MarkChannel::kTardos), 8192u);
  for (const MarkEntry& e : table->entries) {
    EXPECT_EQ(e.file_offset / 64, (e.file_offset + 3) / 64) << e.file_offset;
  }
}

TEST(Plan, PlansDependOnTheVersionKeys) {
  const std::string file =
      mvtesting::Build(mvtesting::SyntheticModel("BF16", 4));
  std::array<uint8_t, 32> k;
  k.fill(9);
  const TraceKeys other = *TraceKeys::Derive(*SecretKey::FromBytes(k), 2);
  absl::StatusOr<MarkTable> a = mvtesting::PlanInPieces(Keys(), file, 1 << 20);
  absl::StatusOr<MarkTable> b = mvtesting::PlanInPieces(other, file, 1 << 20);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  size_t shared = 0;
  std::set<uint64_t> offsets;
  for (const MarkEntry& e : a->entries) offsets.insert(e.file_offset);
  for (const MarkEntry& e : b->entries) shared += offsets.count(e.file_offset);
  EXPECT_LT(shared, a->entries.size() / 10);
}

TEST(Plan, FeedingTheWrongNumberOfBytesFails) {
  const std::string file =
      mvtesting::Build(mvtesting::SyntheticModel("BF16", 5));
  auto layout = ParseSafetensors(file);
  ASSERT_THAT(layout, IsOk());
  auto planner = MarkPlanner::New(Keys(), TraceTensorsOf(*layout), file.size());
  ASSERT_THAT(planner, IsOk());
  EXPECT_THAT(planner->Feed(file.substr(0, 10)), IsOk());
  EXPECT_THAT(planner->EndFirstPass(),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
  EXPECT_THAT(planner->Feed(file),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
  EXPECT_THAT(planner->Feed(file.substr(10)), IsOk());
  EXPECT_THAT(planner->Finish().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
  EXPECT_THAT(planner->EndFirstPass(), IsOk());
  EXPECT_THAT(planner->Feed(file), IsOk());
  EXPECT_THAT(planner->Finish(), IsOk());
  EXPECT_THAT(planner->Feed("x"),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
}

TEST(Plan, RejectsTensorsOutsideTheFileAndBadOptions) {
  std::vector<TraceTensor> tensors = {
      {"w", MarkableType::kF32, {256, 256}, 8, 262144}};
  EXPECT_THAT(MarkPlanner::New(Keys(), tensors, 1000).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       testing::HasSubstr("outside")));
  PlanOptions options;
  options.storage_chunk_size = 0;
  EXPECT_THAT(MarkPlanner::New(Keys(), tensors, 262152, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
  options = {};
  options.eligibility.excluded_names = "norm||bias";
  EXPECT_THAT(MarkPlanner::New(Keys(), tensors, 262152, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       testing::HasSubstr("empty")));
}

TEST(Plan, AModelWithNothingEligibleGetsAnEmptyTable) {
  const std::string file =
      mvtesting::SafetensorsBuilder()
          .Tensor("embed.weight", "F32", {256, 256}, std::string(262144, '\1'))
          .Build();
  absl::StatusOr<MarkTable> table = mvtesting::PlanInPieces(Keys(), file, 777);
  ASSERT_THAT(table, IsOk());
  EXPECT_TRUE(table->entries.empty());
  EXPECT_TRUE(table->tensors.empty());
}

}  // namespace
}  // namespace mv
