#include "trace/embed.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>
#include <random>

#include "src/trace/trace_test_models.h"
#include "testing/status_matchers.h"
#include "trace/element_codec.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;

const TraceKeys& Keys() {
  static const TraceKeys* keys = [] {
    std::array<uint8_t, 32> k;
    k.fill(5);
    return new TraceKeys(*TraceKeys::Derive(*SecretKey::FromBytes(k), 11));
  }();
  return *keys;
}

struct Planned {
  std::string file;
  MarkTable table;
};

const Planned& Model(const std::string& dtype) {
  static auto* models = new std::map<std::string, Planned>;
  auto it = models->find(dtype);
  if (it == models->end()) {
    Planned p;
    p.file = mvtesting::Build(mvtesting::SyntheticModel(dtype, 21));
    p.table = *mvtesting::PlanInPieces(Keys(), p.file, 1 << 20);
    it = models->emplace(dtype, std::move(p)).first;
  }
  return it->second;
}

class EmbedTest : public testing::TestWithParam<std::string> {};

TEST_P(EmbedTest, QualityBounds) {
  const Planned& m = Model(GetParam());
  const DownloadCode code = MakeDownloadCode(Keys(), m.table, 0x1234);
  const std::string marked =
      mvtesting::MarkInPieces(m.table, code, m.file, 1 << 20);
  ASSERT_EQ(marked.size(), m.file.size());
  ASSERT_THAT(ParseSafetensors(marked), IsOk());  // header untouched, re-parses

  std::vector<bool> marked_byte(m.file.size(), false);
  size_t changed_elements = 0;
  for (size_t i = 0; i < m.table.entries.size(); ++i) {
    const MarkEntry& e = m.table.entries[i];
    const uint32_t size = ElementBytes(e.dtype);
    if (e.channel != MarkChannel::kTardos) continue;
    for (uint32_t b = 0; b < size; ++b) marked_byte[e.file_offset + b] = true;
    const double x = DecodeElement(e.dtype, e.original_bits);
    const double y = DecodeElement(
        e.dtype, LoadElementBits(e.dtype, marked.data() + e.file_offset));
    if (x == y) continue;
    ++changed_elements;
    ASSERT_TRUE(std::isfinite(y));
    EXPECT_EQ(std::signbit(x), std::signbit(y));
    // k steps of the bf16 grid: k bf16 ulps of the larger magnitude (the
    // ulp doubles where a mark crosses a binade), at most 3.1% of |x|.
    const uint32_t step = e.dtype == MarkableType::kF32
                              ? 1u << 16
                              : (e.dtype == MarkableType::kF16 ? 8 : 1);
    const uint32_t y_bits =
        LoadElementBits(e.dtype, marked.data() + e.file_offset);
    EXPECT_EQ(
        std::max(y_bits, e.original_bits) - std::min(y_bits, e.original_bits),
        kMarkUlps * step);
    EXPECT_LE(std::fabs(y - x),
              kMarkUlps * UlpBf16(std::max(std::fabs(x), std::fabs(y))));
    EXPECT_LE(std::fabs(y - x), 0.032 * std::fabs(x));
    EXPECT_EQ(std::fabs(y) > std::fabs(x) ? 1 : -1, code.signs[i]);
  }
  size_t bytes_changed_elsewhere = 0;
  for (size_t at = 0; at < m.file.size(); ++at) {
    bytes_changed_elsewhere += marked[at] != m.file[at] && !marked_byte[at];
  }
  EXPECT_EQ(bytes_changed_elsewhere, 0u);
  EXPECT_EQ(changed_elements, 8192u);  // every Tardos position, nothing else
}

TEST_P(EmbedTest, OutputIsTheSameForAnyPieceSize) {
  const Planned& m = Model(GetParam());
  const DownloadCode code = MakeDownloadCode(Keys(), m.table, 77);
  const std::string reference =
      mvtesting::MarkInPieces(m.table, code, m.file, m.file.size());
  for (size_t piece : {1, 7, 4096, 1 << 20}) {
    EXPECT_TRUE(mvtesting::MarkInPieces(m.table, code, m.file, piece) ==
                reference)
        << piece;
  }
  // Random splits, including ones through the middle of marked elements.
  std::mt19937_64 rng(3);
  for (int round = 0; round < 5; ++round) {
    std::string out;
    for (size_t at = 0; at < m.file.size();) {
      const size_t n = std::min<size_t>(m.file.size() - at, 1 + rng() % 50'000);
      std::string bytes = m.file.substr(at, n);
      ASSERT_THAT(ApplyMarks(m.table, code, at, &bytes), IsOk());
      out += bytes;
      at += n;
    }
    EXPECT_TRUE(out == reference) << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, EmbedTest,
                         testing::Values("F32", "F16", "BF16"));

TEST(Embed, DownloadsGetDifferentCodesFollowingTheBiases) {
  const Planned& m = Model("BF16");
  const DownloadCode a = MakeDownloadCode(Keys(), m.table, 1);
  const DownloadCode b = MakeDownloadCode(Keys(), m.table, 2);
  EXPECT_EQ(a.signs, MakeDownloadCode(Keys(), m.table, 1).signs);
  EXPECT_NE(a.signs, b.signs);
  double positive = 0, expected = 0;
  for (size_t i = 0; i < m.table.entries.size(); ++i) {
    const MarkEntry& e = m.table.entries[i];
    if (e.channel != MarkChannel::kTardos) {
      EXPECT_EQ(a.signs[i], 0);
      continue;
    }
    positive += a.signs[i] > 0;
    expected += e.weight / 65536.0;
  }
  EXPECT_NEAR(positive, expected, 5 * std::sqrt(8192 / 4.0));
}

TEST(Embed, RefusesAFileThatIsNotTheTables) {
  const Planned& m = Model("F16");
  const DownloadCode code = MakeDownloadCode(Keys(), m.table, 5);
  std::string other = mvtesting::Build(mvtesting::SyntheticModel("F16", 99));
  EXPECT_THAT(
      ApplyMarks(m.table, code, 0, &other),
      StatusIs(absl::StatusCode::kDataLoss, testing::HasSubstr("mark table")));
}

TEST(Embed, RefusesRangesPastTheEndAndForeignCodes) {
  const Planned& m = Model("F16");
  DownloadCode code = MakeDownloadCode(Keys(), m.table, 5);
  std::string bytes = "xy";
  EXPECT_THAT(ApplyMarks(m.table, code, m.file.size() - 1, &bytes),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
  code.signs.pop_back();
  std::string all = m.file;
  EXPECT_THAT(ApplyMarks(m.table, code, 0, &all),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
}

TEST(Embed, EmptyRangeAtTheEndIsFine) {
  const Planned& m = Model("F16");
  std::string empty;
  EXPECT_THAT(ApplyMarks(m.table, MakeDownloadCode(Keys(), m.table, 5),
                         m.file.size(), &empty),
              IsOk());
}

}  // namespace
}  // namespace mv
