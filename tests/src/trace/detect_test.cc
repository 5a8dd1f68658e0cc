// Attribution cases of LEAK_TRACING.md ("What it must survive") on a
// 10-tensor synthetic model with 24 logged downloads: the leaker (or a
// colluder) is attributed with P <= 1e-9 and no innocent is.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "src/trace/traced_version.h"

namespace mv {
namespace {

using ::mv::trace_testing::ExpectAttributed;
using ::mv::trace_testing::F32Version;
using ::mv::trace_testing::Version;

TEST(Detect, ByteCopy) {
  const Version& v = F32Version();
  const TraceResult r = v.Trace(v.Download(0), "byte copy");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  EXPECT_EQ(r.votes_nonzero, 8192u);
  EXPECT_GT(r.candidates[0].z, 50);  // ≈ 65 expected at defaults
  ExpectAttributed(v, r, {0});
}

TEST(Detect, CastFp32ToBf16) {
  const Version& v = F32Version();
  const TraceResult r =
      v.Trace(mvtesting::Cast(v.Download(1), "BF16"), "fp32->bf16");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  ExpectAttributed(v, r, {1});
}

TEST(Detect, CastFp32ToFp16) {
  const Version& v = F32Version();
  const TraceResult r =
      v.Trace(mvtesting::Cast(v.Download(2), "F16"), "fp32->fp16");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  ExpectAttributed(v, r, {2});
}

TEST(Detect, CastBf16ToFp16) {
  const Version v("BF16", 1);
  const TraceResult r =
      v.Trace(mvtesting::Cast(v.Download(3), "F16"), "bf16->fp16");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  ExpectAttributed(v, r, {3});
}

TEST(Detect, PartialLeakOfOneTensorInTen) {
  const Version& v = F32Version();
  const std::string leak = mvtesting::KeepTensors(
      v.Download(4), [](const mvtesting::ModelTensor& t) {
        return t.name == "model.layers.4.mlp.up_proj.weight" ||
               t.name.find("embed") != std::string::npos;
      });
  const TraceResult r = v.Trace(leak, "partial 10%");
  EXPECT_LT(r.votes_present, 900u);
  ExpectAttributed(v, r, {4});
}

TEST(Detect, RenamedAndReorderedTensors) {
  const Version& v = F32Version();
  mvtesting::Model m = mvtesting::Parse(v.Download(5));
  std::reverse(m.begin(), m.end());
  for (size_t k = 0; k < m.size(); ++k)
    m[k].name = "renamed." + std::to_string(k);
  const TraceResult r = v.Trace(mvtesting::Build(m), "renamed+reordered");
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {5});
}

TEST(Detect, GgufReexportWithOtherNames) {
  const Version& v = F32Version();
  const TraceResult r =
      v.Trace(mvtesting::ToGguf(v.Download(12)), "gguf re-export");
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {12});
}

TEST(Detect, GgufVersionByteCopy) {
  const Version v(
      mvtesting::ToGguf(mvtesting::Build(mvtesting::SyntheticModel("F16", 41))),
      3);
  const TraceResult r = v.Trace(v.Download(13), "gguf f16 version, byte copy");
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {13});
}

TEST(Detect, InterleavedTensorsOfTwoColluders) {
  const Version& v = F32Version();
  mvtesting::Model a = mvtesting::Parse(v.Download(14));
  const mvtesting::Model b = mvtesting::Parse(v.Download(15));
  for (size_t k = 0; k < a.size(); k += 2) a[k] = b[k];
  const TraceResult r = v.Trace(mvtesting::Build(a), "interleave of 2");
  ExpectAttributed(v, r, {14, 15});
}

TEST(Detect, GaussianNoiseOfTheMarkSize) {
  const Version& v = F32Version();
  const TraceResult r =
      v.Trace(mvtesting::AddNoise(v.Download(16), 1.0, 18), "noise 1.0 mark");
  EXPECT_EQ(r.mode, TraceMode::kSoft);
  ExpectAttributed(v, r, {16});
}

TEST(Detect, GaussianNoiseOfHalfTheMarkSize) {
  const Version& v = F32Version();
  const TraceResult r =
      v.Trace(mvtesting::AddNoise(v.Download(6), 0.5, 17), "noise 0.5 mark");
  EXPECT_EQ(r.mode, TraceMode::kSoft);
  ExpectAttributed(v, r, {6});
}

// Every weight scaled by 3 (or negated) with a little noise: the soft
// votes are divided by the fitted α, so they point the way the marks did.
TEST(Detect, ScaledAndNegatedWeights) {
  const Version& v = F32Version();
  for (float factor : {3.0f, -1.0f}) {
    const std::string leak =
        mvtesting::Transform(mvtesting::AddNoise(v.Download(9), 0.25, 23), "",
                             [&](std::vector<float>* values) {
                               for (float& x : *values) x *= factor;
                             });
    const TraceResult r = v.Trace(leak, "scaled by " + std::to_string(factor));
    EXPECT_EQ(r.mode, TraceMode::kSoft);
    ExpectAttributed(v, r, {9});
  }
}

TEST(Detect, AverageOfTwoColluders) {
  const Version& v = F32Version();
  const TraceResult r = v.Trace(
      mvtesting::Average({v.Download(7), v.Download(8)}), "average of 2");
  ExpectAttributed(v, r, {7, 8});
}

TEST(Detect, MajorityOfThreeColluders) {
  const Version& v = F32Version();
  const TraceResult r = v.Trace(
      mvtesting::Majority({v.Download(9), v.Download(10), v.Download(11)}),
      "majority of 3");
  ExpectAttributed(v, r, {9, 10, 11});
}

}  // namespace
}  // namespace mv
