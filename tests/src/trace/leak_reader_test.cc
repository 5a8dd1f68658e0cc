// Mapping leak tensors back to the original (LEAK_TRACING.md, Detection
// step 2) through llama.cpp's permutation of Q/K rows: the index mapping
// against numpy's, and leaks converted the way convert_hf_to_gguf.py does.
#include "trace/leak_reader.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "src/trace/traced_version.h"

namespace mv {
namespace {

using ::mv::trace_testing::ExpectAttributed;
using ::mv::trace_testing::ExpectNoVerdict;
using ::mv::trace_testing::Version;
using ::mvtesting::IsOk;
using ::mvtesting::kLlamaHeadDim;

// Checks LeakElementIndex against numpy's permute() for every element of a
// tensor of `shape` permuted with `heads` heads.
void ExpectMatchesNumpy(const std::vector<uint64_t>& shape, uint64_t heads) {
  SCOPED_TRACE("rows " + std::to_string(shape[0]) + ", heads " +
               std::to_string(heads) + ", dims " +
               std::to_string(shape.size()));
  const std::vector<uint64_t> source =
      mvtesting::NumpyPermuteSourceRows(shape[0], heads);
  uint64_t row_length = 1;
  for (size_t d = 1; d < shape.size(); ++d) row_length *= shape[d];
  std::set<uint64_t> seen;
  for (uint64_t e = 0; e < shape[0] * row_length; ++e) {
    const uint64_t l = LeakElementIndex({heads}, shape, e);
    ASSERT_LT(l, shape[0] * row_length);
    EXPECT_EQ(source[l / row_length], e / row_length) << "element " << e;
    EXPECT_EQ(l % row_length, e % row_length) << "element " << e;
    seen.insert(l);
  }
  EXPECT_EQ(seen.size(), shape[0] * row_length);  // a permutation
}

TEST(LeakElementIndex, MatchesNumpyPermute) {
  ExpectMatchesNumpy({8, 3}, 1);
  ExpectMatchesNumpy({8, 3}, 2);
  ExpectMatchesNumpy({12, 5}, 3);
  ExpectMatchesNumpy({12, 5}, 2);
  ExpectMatchesNumpy({6, 4}, 3);  // half = 1: the identity
  ExpectMatchesNumpy({128, 7}, 2);
  ExpectMatchesNumpy({512, 3}, 8);
  ExpectMatchesNumpy({8, 3, 5}, 2);  // permute() reshapes with *shape[1:]
}

TEST(LeakElementIndex, NoHeadsIsTheIdentity) {
  for (uint64_t e : {0u, 1u, 17u, 95u})
    EXPECT_EQ(LeakElementIndex({}, {8, 12}, e), e);
}

const Version& LlamaVersion() {
  static const Version* v =
      new Version(mvtesting::Build(mvtesting::LlamaModel("F32", 61)), 5);
  return *v;
}

LeakValues ReadOk(const Version& v, const std::string& leak) {
  absl::StatusOr<LeakValues> values = ReadLeakFile(v.table(), leak);
  EXPECT_THAT(values, IsOk());
  return values.ok() ? *values : LeakValues{};
}

TEST(Detect, LlamaCppGgufWithPermutedQkRows) {
  const Version& v = LlamaVersion();
  ASSERT_EQ(v.table().tensors.size(), 12u);
  const std::string leak =
      mvtesting::ToLlamaCppGguf(v.Download(19), kLlamaHeadDim, "F16");
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 12u);
  // The 3 Q and 3 K tensors: neither their names nor their values in the
  // original row order matched, only a permuted reading did.
  EXPECT_EQ(values.tensors_row_permuted, 6u);
  const TraceResult r = v.Trace(leak, "llama.cpp gguf f16, permuted q/k");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {19});
}

TEST(Detect, LlamaCppGgufF32WithPermutedQkRows) {
  const Version& v = LlamaVersion();
  const std::string leak =
      mvtesting::ToLlamaCppGguf(v.Download(20), kLlamaHeadDim, "F32");
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 12u);
  EXPECT_EQ(values.tensors_row_permuted, 6u);
  const TraceResult r = v.Trace(leak, "llama.cpp gguf f32, permuted q/k");
  EXPECT_EQ(r.votes_nonzero, 8192u);
  ExpectAttributed(v, r, {20});
}

TEST(LeakReader, RowsLeftInPlaceAreReadInPlace) {
  const Version& v = LlamaVersion();
  const LeakValues values =
      ReadOk(v, mvtesting::ToLlamaCppGguf(v.file(), 0, "F16"));
  EXPECT_EQ(values.tensors_mapped, 12u);
  EXPECT_EQ(values.tensors_row_permuted, 0u);
}

TEST(Detect, UnrelatedModelPermutedLikeLlamaCppIsNoOne) {
  const Version& v = LlamaVersion();
  const std::string leak = mvtesting::ToLlamaCppGguf(
      mvtesting::Build(mvtesting::LlamaModel("F32", 777)), kLlamaHeadDim,
      "F16");
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 0u);
  EXPECT_EQ(values.tensors_row_permuted, 0u);
  const TraceResult r = v.Trace(leak, "unrelated llama, permuted q/k");
  EXPECT_EQ(r.mode, TraceMode::kNoData);
  EXPECT_EQ(r.votes_present, 0u);
  ExpectNoVerdict(v, r);
}

}  // namespace
}  // namespace mv
