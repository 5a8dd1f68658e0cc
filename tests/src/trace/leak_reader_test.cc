// Mapping leak tensors back to the original (LEAK_TRACING.md, Detection
// step 2) through llama.cpp's permutation of Q/K rows: the index mapping
// against numpy's, and leaks converted the way convert_hf_to_gguf.py does.
#include "trace/leak_reader.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "fuzz/trace_seeds.h"
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

TEST(LeakElementIndex, TheInverseOrderUndoesTheForwardOne) {
  // Element e of the Hugging Face tensor sits at f = forward(e) in the
  // GGUF; a GGUF original's element f sits at inverse(f) in a tensor
  // converted back, which must be e again.
  const std::vector<uint64_t> shape = {128, 3};
  for (uint64_t heads : {1u, 2u, 4u, 8u}) {
    for (uint64_t e = 0; e < 128 * 3; ++e) {
      const uint64_t f = LeakElementIndex({.heads = heads}, shape, e);
      EXPECT_EQ(LeakElementIndex({.heads = heads, .inverse = true}, shape, f),
                e)
          << "heads " << heads << ", element " << e;
    }
  }
}

TEST(LeakElementIndex, ATransposedTensorHoldsRowRColumnCAtCTimesRowsPlusR) {
  // Original [2, 3]: element (1, 2) = 5 lies at (2, 1) of the [3, 2]
  // transpose, index 2 * 2 + 1.
  EXPECT_EQ(LeakElementIndex({.transposed = true}, {2, 3}, 5), 5u);
  EXPECT_EQ(LeakElementIndex({.transposed = true}, {2, 3}, 1), 2u);
  EXPECT_EQ(LeakElementIndex({.transposed = true}, {2, 3}, 3), 1u);
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

// What llama-quantize makes of the GGUF: every projection quantized, read
// by its dequantized values (soft votes: a quantized value is no cast).
void ExpectQuantizedLeakAttributed(const std::string& outtype, size_t who) {
  SCOPED_TRACE(outtype);
  const Version& v = LlamaVersion();
  const std::string leak =
      mvtesting::ToLlamaCppGguf(v.Download(who), kLlamaHeadDim, outtype);
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 12u);
  EXPECT_EQ(values.tensors_row_permuted, 6u);
  const TraceResult r =
      v.Trace(leak, "llama.cpp gguf " + outtype + ", permuted q/k");
  EXPECT_EQ(r.mode, TraceMode::kSoft);
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {who});
}

TEST(Detect, LlamaCppGgufQuantizedToQ8_0) {
  ExpectQuantizedLeakAttributed("Q8_0", 17);
}

TEST(Detect, LlamaCppGgufQuantizedToQ4_K) {
  ExpectQuantizedLeakAttributed("Q4_K", 18);
}

TEST(Detect, UnrelatedModelQuantizedToQ4_KIsNoOne) {
  const Version& v = LlamaVersion();
  const std::string leak = mvtesting::ToLlamaCppGguf(
      mvtesting::Build(mvtesting::LlamaModel("F32", 778)), kLlamaHeadDim,
      "Q4_K");
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 0u);
  const TraceResult r = v.Trace(leak, "unrelated llama, q4_k");
  EXPECT_EQ(r.votes_present, 0u);
  ExpectNoVerdict(v, r);
}

TEST(Detect, AGpt2StyleTransposedAndRenamedLeakIsAttributed) {
  const Version& v = LlamaVersion();
  const std::string leak = mvtesting::ToGpt2Conv1d(v.Download(16));
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 12u);
  EXPECT_EQ(values.tensors_transposed, 12u);
  ASSERT_EQ(values.matches.size(), 12u);
  for (const TensorMatch& m : values.matches) {
    EXPECT_EQ(m.by, MatchedBy::kRewrite);
    EXPECT_TRUE(m.map.transposed);
    EXPECT_TRUE(m.leak_name.starts_with("transformer.h.")) << m.leak_name;
  }
  const TraceResult r = v.Trace(leak, "gpt-2 conv1d: transposed, renamed");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {16});
}

// A version stored as llama.cpp's GGUF (Q/K rows in its order).
const Version& GgufVersion() {
  static const Version* v =
      new Version(mvtesting::ToLlamaCppGguf(
                      mvtesting::Build(mvtesting::LlamaModel("F32", 62)),
                      kLlamaHeadDim, "F32"),
                  6);
  return *v;
}

TEST(Detect, AGgufVersionLeakedAsHuggingFaceSafetensorsIsAttributed) {
  const Version& v = GgufVersion();
  ASSERT_EQ(v.table().tensors.size(), 12u);
  const std::string leak =
      mvtesting::FromLlamaCppGguf(v.Download(15), kLlamaHeadDim);
  const LeakValues values = ReadOk(v, leak);
  EXPECT_EQ(values.tensors_mapped, 12u);
  EXPECT_EQ(values.tensors_row_permuted, 6u);
  for (size_t t = 0; t < values.matches.size(); ++t) {
    const TensorMatch& m = values.matches[t];
    const bool qk = m.leak_name.find("q_proj") != std::string::npos ||
                    m.leak_name.find("k_proj") != std::string::npos;
    EXPECT_EQ(m.map.inverse, qk) << v.table().tensors[t].name;
  }
  const TraceResult r = v.Trace(leak, "gguf version as hf safetensors");
  EXPECT_EQ(r.mode, TraceMode::kLossless);
  EXPECT_EQ(r.votes_present, 8192u);
  ExpectAttributed(v, r, {15});
}

TEST(LeakReader, ANameIsTakenOnlyWhenItsValuesFollowTheOriginal) {
  // Layer 0's q_proj rows shuffled, names kept: the name no longer maps it
  // (its values follow nothing), and nothing else is taken for it.
  const Version& v = LlamaVersion();
  mvtesting::Model m = mvtesting::Parse(v.Download(14));
  for (mvtesting::ModelTensor& t : m) {
    if (t.name != "model.layers.0.self_attn.q_proj.weight") continue;
    std::vector<uint64_t> rows(t.shape[0]);
    for (uint64_t r = 0; r < rows.size(); ++r) rows[r] = (r * 37 + 11) % 512;
    t.data = mvtesting::Encode(
        mvtesting::PermuteRowValues(mvtesting::Values(t), rows),
        mv::MarkableType::kF32);
  }
  const LeakValues values = ReadOk(v, mvtesting::Build(m));
  EXPECT_EQ(values.tensors_mapped, 11u);
  for (size_t t = 0; t < values.matches.size(); ++t) {
    const bool shuffled =
        v.table().tensors[t].name == "model.layers.0.self_attn.q_proj.weight";
    EXPECT_EQ(values.matches[t].by,
              shuffled ? MatchedBy::kNone : MatchedBy::kName)
        << v.table().tensors[t].name;
  }
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

// The fuzzer's seed: the smallest tensor alignment works on (16 x 16),
// rows reversed, read with the table's original file at hand; without it,
// nothing maps.
TEST(LeakReader, ASmallTensorWithItsRowsReversedIsAlignedByContent) {
  const MarkTable table = fuzz::TraceSeedTable();
  const std::string original = fuzz::TraceSeedOriginal();
  const TraceTensor& o = table.tensors[3];
  std::string reversed;
  for (uint64_t r = o.shape[0]; r-- > 0;)
    reversed += original.substr(o.offset + r * 64, 64);
  const std::string leak = mvtesting::SafetensorsBuilder()
                               .Tensor("w", "F32", {16, 16}, reversed)
                               .Build();
  absl::StatusOr<LeakValues> values = ReadLeakFile(table, leak, original);
  ASSERT_THAT(values, IsOk());
  EXPECT_EQ(values->tensors_mapped, 1u);
  EXPECT_EQ(values->tensors_aligned, 1u);
  const TensorMatch& m = values->matches[3];
  EXPECT_EQ(m.by, MatchedBy::kContent);
  EXPECT_EQ(m.alignment.axis, AlignedAxis::kRows);
  EXPECT_EQ(m.alignment.pairs.size(), 16u);
  for (const AlignedPair& p : m.alignment.pairs)
    EXPECT_EQ(p.leak, 15 - p.original);
  absl::StatusOr<LeakValues> blind = ReadLeakFile(table, leak);
  ASSERT_THAT(blind, IsOk());
  EXPECT_EQ(blind->tensors_mapped, 0u);
}

}  // namespace
}  // namespace mv
