// Alignment by content (trace/align.h): which rows or columns of a leak
// tensor hold the original's, after a permutation, a transpose, a cast or a
// quantization; and what it must refuse: unrelated tensors, zeroed rows,
// rows the original has twice.
#include "trace/align.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "src/trace/permute_units.h"
#include "testing/status_matchers.h"
#include "trace/leak_file.h"

namespace mv {
namespace {

using ::mvtesting::Gaussian;
using ::mvtesting::IsOk;

constexpr uint64_t kRows = 256, kCols = 128;

// A safetensors file of one tensor "w" of `shape` holding `values`.
std::string OneTensor(const std::vector<float>& values,
                      std::vector<uint64_t> shape,
                      const std::string& dtype = "F32") {
  return mvtesting::Build(
      {{"w", dtype, std::move(shape),
        mvtesting::Encode(values, mvtesting::TypeOf(dtype))}});
}

std::vector<TraceTensor> TensorsOf(const std::string& file) {
  return *ParseLeakTensors(MemoryLeakFile(file));
}

// Every fourth element of the first 64 rows: needs rows 0..63, columns
// 0, 4, ..., 124.
std::vector<uint64_t> SomeElements() {
  std::vector<uint64_t> out;
  for (uint64_t r = 0; r < 64; ++r) out.push_back(r * kCols + (r * 4) % kCols);
  return out;
}

struct Aligned {
  std::optional<ContentAligner::Found> found;
};

Aligned AlignIn(const std::string& original, const std::string& leak,
                const std::vector<uint64_t>& elements = SomeElements()) {
  const MemoryLeakFile o(original), l(leak);
  const std::vector<TraceTensor> ot = TensorsOf(original), lt = TensorsOf(leak);
  ContentAligner aligner(o, l, lt);
  std::vector<size_t> candidates;
  for (size_t i = 0; i < lt.size(); ++i) candidates.push_back(i);
  absl::StatusOr<std::optional<ContentAligner::Found>> found =
      aligner.Align(ot.at(0), elements, candidates);
  EXPECT_THAT(found, IsOk());
  return {found.ok() ? *found : std::nullopt};
}

std::vector<float> Original() { return Gaussian(kRows * kCols, 0.02f, 7); }

// from[new] = old, so the leak index of original row i is the position of
// i in `from`.
uint64_t WhereIs(const std::vector<uint64_t>& from, uint64_t i) {
  return std::find(from.begin(), from.end(), i) - from.begin();
}

TEST(ContentAligner, FindsEveryNeededRowAfterARowPermutation) {
  std::mt19937_64 rng(1);
  const auto from = mvtesting::RandomPermutation(kRows, rng);
  const Aligned a = AlignIn(
      OneTensor(Original(), {kRows, kCols}),
      OneTensor(mvtesting::Permuted(Original(), kRows, kCols, from, false),
                {kRows, kCols}));
  ASSERT_TRUE(a.found);
  EXPECT_FALSE(a.found->transposed);
  const Alignment& al = a.found->alignment;
  EXPECT_EQ(al.axis, AlignedAxis::kRows);
  EXPECT_EQ(al.needed, 64u);
  ASSERT_EQ(al.pairs.size(), 64u);
  for (uint64_t i = 0; i < 64; ++i)
    EXPECT_EQ(al.LeakIndex(i), WhereIs(from, i));
  EXPECT_EQ(al.LeakIndex(200), std::nullopt);  // not needed, not aligned
  EXPECT_GT(al.pairing_correlation, 0.99);
}

TEST(ContentAligner, FindsColumnsAfterAColumnPermutation) {
  std::mt19937_64 rng(2);
  const auto from = mvtesting::RandomPermutation(kCols, rng);
  const Aligned a = AlignIn(
      OneTensor(Original(), {kRows, kCols}),
      OneTensor(mvtesting::Permuted(Original(), kRows, kCols, from, true),
                {kRows, kCols}));
  ASSERT_TRUE(a.found);
  const Alignment& al = a.found->alignment;
  EXPECT_EQ(al.axis, AlignedAxis::kColumns);
  EXPECT_EQ(al.needed, 32u);  // columns 0, 4, ..., 124
  ASSERT_EQ(al.pairs.size(), 32u);
  for (const AlignedPair& p : al.pairs)
    EXPECT_EQ(p.leak, WhereIs(from, p.original));
}

TEST(ContentAligner, FindsRowsOfATransposedPermutedCastLeak) {
  std::mt19937_64 rng(3);
  const auto from = mvtesting::RandomPermutation(kRows, rng);
  const std::vector<float> permuted =
      mvtesting::Permuted(Original(), kRows, kCols, from, false);
  std::vector<float> transposed(permuted.size());
  for (uint64_t r = 0; r < kRows; ++r) {
    for (uint64_t c = 0; c < kCols; ++c)
      transposed[c * kRows + r] = permuted[r * kCols + c];
  }
  const Aligned a = AlignIn(OneTensor(Original(), {kRows, kCols}),
                            OneTensor(transposed, {kCols, kRows}, "BF16"));
  ASSERT_TRUE(a.found);
  EXPECT_TRUE(a.found->transposed);
  EXPECT_EQ(a.found->alignment.axis, AlignedAxis::kRows);
  ASSERT_EQ(a.found->alignment.pairs.size(), 64u);
  for (const AlignedPair& p : a.found->alignment.pairs)
    EXPECT_EQ(p.leak, WhereIs(from, p.original));
}

TEST(ContentAligner, FindsRowsOfAPermutedQ4_KGguf) {
  std::mt19937_64 rng(4);
  const auto from = mvtesting::RandomPermutation(kRows, rng);
  // [256, 256]: Q4_K rows are whole 256-element blocks.
  const std::vector<float> original = Gaussian(kRows * 256, 0.02f, 8);
  const auto [type, bytes] = mvtesting::EncodeGgml(
      mvtesting::Permuted(original, kRows, 256, from, false), "Q4_K");
  const std::string leak =
      mvtesting::GgufBuilder().Tensor("w", type, {256, kRows}, bytes).Build();
  std::vector<uint64_t> elements;
  for (uint64_t r = 0; r < 64; ++r) elements.push_back(r * 256 + r);
  const Aligned a = AlignIn(OneTensor(original, {kRows, 256}), leak, elements);
  ASSERT_TRUE(a.found);
  ASSERT_EQ(a.found->alignment.pairs.size(), 64u);
  for (const AlignedPair& p : a.found->alignment.pairs)
    EXPECT_EQ(p.leak, WhereIs(from, p.original));
}

TEST(ContentAligner, AnUnrelatedTensorOfTheSameShapeIsNotAligned) {
  const Aligned a =
      AlignIn(OneTensor(Original(), {kRows, kCols}),
              OneTensor(Gaussian(kRows * kCols, 0.02f, 99), {kRows, kCols}));
  EXPECT_FALSE(a.found);
}

TEST(ContentAligner, ZeroedRowsAreLeftOutAndTheRestAligned) {
  std::mt19937_64 rng(5);
  const auto from = mvtesting::RandomPermutation(kRows, rng);
  std::vector<float> leak =
      mvtesting::Permuted(Original(), kRows, kCols, from, false);
  // Zero the leak rows holding original rows 0..9 (pruned units).
  for (uint64_t i = 0; i < 10; ++i) {
    const uint64_t r = WhereIs(from, i);
    std::fill(leak.begin() + r * kCols, leak.begin() + (r + 1) * kCols, 0.0f);
  }
  const Aligned a = AlignIn(OneTensor(Original(), {kRows, kCols}),
                            OneTensor(leak, {kRows, kCols}));
  ASSERT_TRUE(a.found);
  EXPECT_EQ(a.found->alignment.pairs.size(), 54u);
  for (uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ(a.found->alignment.LeakIndex(i), std::nullopt);
}

TEST(ContentAligner, ARowTheOriginalHasTwiceIsNotAligned) {
  std::vector<float> original = Original();
  // Row 1 is a copy of row 0: either leak row could hold either.
  std::copy(original.begin(), original.begin() + kCols,
            original.begin() + kCols);
  std::mt19937_64 rng(6);
  const auto from = mvtesting::RandomPermutation(kRows, rng);
  const Aligned a = AlignIn(
      OneTensor(original, {kRows, kCols}),
      OneTensor(mvtesting::Permuted(original, kRows, kCols, from, false),
                {kRows, kCols}));
  ASSERT_TRUE(a.found);
  EXPECT_EQ(a.found->alignment.LeakIndex(0), std::nullopt);
  EXPECT_EQ(a.found->alignment.LeakIndex(1), std::nullopt);
  EXPECT_EQ(a.found->alignment.pairs.size(), 62u);
}

TEST(ContentAligner, ATensorOfAnotherShapeIsNoCandidate) {
  std::mt19937_64 rng(7);
  const auto from = mvtesting::RandomPermutation(kRows, rng);
  const std::vector<float> permuted =
      mvtesting::Permuted(Original(), kRows, kCols, from, false);
  // [128, 256] is not the transpose of a permutation here: the rows of the
  // original are not its columns.
  EXPECT_FALSE(AlignIn(OneTensor(Original(), {kRows, kCols}),
                       OneTensor(permuted, {kCols, kRows}))
                   .found);
  EXPECT_FALSE(AlignIn(OneTensor(Original(), {kRows, kCols}),
                       OneTensor(permuted, {kRows / 2, kCols * 2}))
                   .found);
}

TEST(Alignment, PairsSha256NamesThePermutation) {
  Alignment a{.axis = AlignedAxis::kRows, .pairs = {{0, 5}, {1, 3}}};
  EXPECT_EQ(a.Find(1)->leak, 3u);
  Alignment b = a;
  EXPECT_EQ(a.PairsSha256(), b.PairsSha256());
  b.pairs[0].scale = -1;  // the scale is not part of the permutation
  EXPECT_EQ(a.PairsSha256(), b.PairsSha256());
  b.pairs[1].leak = 4;
  EXPECT_NE(a.PairsSha256(), b.PairsSha256());
  EXPECT_EQ(b.LeakIndex(1), 4u);
  EXPECT_EQ(b.LeakIndex(2), std::nullopt);
}

}  // namespace
}  // namespace mv
