#include "trace/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>
#include <vector>

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
  EXPECT_EQ(planner->bytes_fed(), 10u);
  EXPECT_THAT(planner->Finish().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
  EXPECT_THAT(planner->Feed(file),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
  EXPECT_THAT(planner->Feed(file.substr(10)), IsOk());
  EXPECT_THAT(planner->Finish(), IsOk());
  EXPECT_THAT(planner->Finish().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
  EXPECT_THAT(planner->Feed(""),
              StatusIs(absl::StatusCode::kFailedPrecondition, testing::_));
}

// The planner as it was before it became single pass: pass 1 over the whole
// file for σ, then pass 2 reading the candidates, written out here from the
// spec's steps with the public helpers. The single pass must give the same
// table bit for bit.
absl::StatusOr<MarkTable> TwoPassReference(const TraceKeys& keys,
                                           const std::string& file,
                                           const PlanOptions& options = {}) {
  auto layout = ParseSafetensors(file);
  if (!layout.ok()) return layout.status();
  std::vector<TraceTensor> all = TraceTensorsOf(*layout);
  auto eligible = EligibleTensors(all, options.eligibility);
  if (!eligible.ok()) return eligible.status();
  std::vector<TraceTensor> tensors;
  std::vector<uint64_t> sizes;
  for (size_t i : *eligible) {
    tensors.push_back(all[i]);
    sizes.push_back(all[i].NumElements());
  }
  const auto tardos = AllocateQuotas(sizes, options.tardos_positions);
  const auto reference = AllocateQuotas(sizes, options.reference_positions);
  MarkTable table;
  table.file_size = file.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TraceTensor& t = tensors[i];
    const uint32_t size = ElementBytes(t.dtype);
    auto bits_at = [&](uint64_t e) {
      return LoadElementBits(t.dtype, file.data() + t.offset + e * size);
    };
    // Pass 1: σ.
    double sum = 0;
    uint64_t finite = 0;
    for (uint64_t e = 0; e < t.NumElements(); ++e) {
      const double x = DecodeElement(t.dtype, bits_at(e));
      if (!std::isfinite(x)) continue;
      sum += x * x;
      ++finite;
    }
    const double sigma = finite == 0 ? 0 : std::sqrt(sum / finite);
    // Pass 2 + selection: candidates in draw order.
    const uint64_t n = std::min<uint64_t>(
        t.NumElements(),
        options.oversampling * (tardos[i] + reference[i]) + 64);
    const std::string stream =
        keys.Stream(TraceKeyPurpose::kPositions, i, 8 * n);
    std::set<uint64_t> chosen;
    uint64_t got_tardos = 0, got_reference = 0;
    for (uint64_t d = 0; d < n; ++d) {
      if (got_tardos == tardos[i] && got_reference == reference[i]) break;
      const uint64_t e = StreamU64(stream, d) % t.NumElements();
      if (chosen.contains(e)) continue;
      const uint32_t bits = bits_at(e);
      const double m = std::fabs(DecodeElement(t.dtype, bits));
      if (!(m >= sigma && m <= 3 * sigma)) continue;
      if (!MarkedBits(t.dtype, bits, +1) || !MarkedBits(t.dtype, bits, -1))
        continue;
      const uint64_t offset = t.offset + e * size;
      if (offset / options.storage_chunk_size !=
          (offset + size - 1) / options.storage_chunk_size)
        continue;
      chosen.insert(e);
      const bool is_tardos = got_tardos < tardos[i];
      (is_tardos ? got_tardos : got_reference)++;
      table.entries.push_back(
          {offset, static_cast<uint32_t>(i), e, t.dtype,
           is_tardos ? MarkChannel::kTardos : MarkChannel::kReference, 0,
           bits});
    }
  }
  std::sort(table.entries.begin(), table.entries.end(),
            [](const MarkEntry& a, const MarkEntry& b) {
              return a.file_offset < b.file_offset;
            });
  const std::string biases = keys.Stream(
      TraceKeyPurpose::kBiases, 0, 8 * uint64_t{options.tardos_positions});
  size_t next = 0;
  for (MarkEntry& e : table.entries) {
    if (e.channel != MarkChannel::kTardos) continue;
    const double u =
        static_cast<double>(StreamU64(biases, next++) >> 11) * 0x1p-53;
    e.weight = TardosWeight(u);
  }
  table.tensors = std::move(tensors);
  return table;
}

TEST_P(PlanTest, SinglePassEqualsTheTwoPassReference) {
  const std::string file =
      mvtesting::Build(mvtesting::SyntheticModel(GetParam(), 6));
  absl::StatusOr<MarkTable> reference = TwoPassReference(Keys(), file);
  ASSERT_THAT(reference, IsOk());
  ASSERT_EQ(reference->CountChannel(MarkChannel::kTardos), 8192u);
  for (size_t piece : {size_t{3}, size_t{65536}, file.size()}) {
    absl::StatusOr<MarkTable> table =
        mvtesting::PlanInPieces(Keys(), file, piece);
    ASSERT_THAT(table, IsOk());
    EXPECT_TRUE(*table == *reference) << "piece " << piece;
  }
}

TEST(Plan, SinglePassEqualsTheTwoPassReferenceWithSmallChunks) {
  mvtesting::SafetensorsBuilder builder;
  for (const mvtesting::ModelTensor& t : mvtesting::SyntheticModel("F32", 7))
    builder.Tensor(t.name, t.dtype, t.shape, t.data);
  std::string header = builder.HeaderJson();
  while (header.size() % 4 != 1) header += ' ';
  std::string data;
  for (const mvtesting::ModelTensor& t : mvtesting::SyntheticModel("F32", 7))
    data += t.data;
  const std::string file = mvtesting::SafetensorsFile(header, data);
  PlanOptions options;
  options.storage_chunk_size = 64;
  absl::StatusOr<MarkTable> reference = TwoPassReference(Keys(), file, options);
  absl::StatusOr<MarkTable> table =
      mvtesting::PlanInPieces(Keys(), file, 1000, options);
  ASSERT_THAT(reference, IsOk());
  ASSERT_THAT(table, IsOk());
  EXPECT_TRUE(*table == *reference);
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
