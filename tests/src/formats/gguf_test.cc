#include "formats/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "src/formats/format_builders.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::GgufBuilder;
using ::mvtesting::GgufString;
using ::mvtesting::IsOk;
using ::mvtesting::Le32;
using ::mvtesting::Le64;
using ::mvtesting::PatternBytes;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kI32 = 26, kBF16 = 30;

std::string Bytes(const std::string& file, const GgufTensor& t) {
  return file.substr(t.offset, t.length);
}

TEST(Gguf, ParsesTensorsOfSeveralTypes) {
  GgufBuilder b;
  b.KvString("general.architecture", "llama")
      .Tensor("blk.0.attn_q.weight", kF32, {3, 2}, PatternBytes(24, 1))
      .Tensor("blk.0.ffn.weight", kQ4_0, {64, 2}, PatternBytes(4 * 18, 2))
      .Tensor("norm.weight", kF16, {5}, PatternBytes(10, 3))
      .Tensor("tok.bf16", kBF16, {2, 2, 2, 2}, PatternBytes(32, 4))
      .Tensor("pos", kI32, {7}, PatternBytes(28, 5));
  std::string file = b.Build();
  absl::StatusOr<GgufLayout> layout = ParseGguf(file);
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->version, 3u);
  EXPECT_EQ(layout->alignment, 32u);
  EXPECT_EQ(layout->data_offset, b.DataSectionOffset());
  EXPECT_EQ(layout->data_offset % 32, 0u);
  EXPECT_LE(layout->header_size, layout->data_offset);
  EXPECT_GT(layout->header_size + 32, layout->data_offset);
  ASSERT_EQ(layout->tensors.size(), 5u);
  const GgufTensor& q = layout->tensors[0];
  EXPECT_EQ(q.name, "blk.0.attn_q.weight");
  EXPECT_EQ(q.type, GgmlType::kF32);
  EXPECT_THAT(q.shape, ElementsAre(2, 3));  // reversed from the file's dims
  EXPECT_EQ(q.offset, layout->data_offset);
  EXPECT_EQ(q.length, 24u);
  EXPECT_EQ(Bytes(file, q), PatternBytes(24, 1));
  const GgufTensor& ffn = layout->tensors[1];
  EXPECT_EQ(ffn.type, GgmlType::kQ4_0);
  EXPECT_EQ(ffn.NumElements(), 128u);
  EXPECT_EQ(ffn.length, 72u);  // 4 blocks of 18 bytes
  EXPECT_EQ(ffn.offset, layout->data_offset + b.RelativeOffset(1));
  EXPECT_EQ(Bytes(file, ffn), PatternBytes(72, 2));
  EXPECT_EQ(layout->tensors[2].type, GgmlType::kF16);
  EXPECT_EQ(Bytes(file, layout->tensors[2]), PatternBytes(10, 3));
  EXPECT_EQ(layout->tensors[3].type, GgmlType::kBF16);
  EXPECT_THAT(layout->tensors[3].shape, ElementsAre(2, 2, 2, 2));
  EXPECT_EQ(Bytes(file, layout->tensors[4]), PatternBytes(28, 5));
  for (const GgufTensor& t : layout->tensors) EXPECT_EQ(t.offset % 32, 0u);
  EXPECT_EQ(
      std::get<std::string>(layout->metadata.at("general.architecture").value),
      "llama");
}

TEST(Gguf, HonoursGeneralAlignment) {
  GgufBuilder b;
  b.Alignment(256)
      .Tensor("a", kF32, {3}, PatternBytes(12, 1))
      .Tensor("b", kF32, {5}, PatternBytes(20, 2));
  std::string file = b.Build();
  absl::StatusOr<GgufLayout> layout = ParseGguf(file);
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->alignment, 256u);
  EXPECT_EQ(layout->data_offset, 256u);
  EXPECT_EQ(layout->tensors[1].offset, 512u);
  EXPECT_EQ(Bytes(file, layout->tensors[1]), PatternBytes(20, 2));
}

TEST(Gguf, ReadsEveryMetadataValueType) {
  std::string nested = Le32(mvtesting::kGgufArray) + Le64(2) +
                       Le32(mvtesting::kGgufU8) + Le64(1) + "\x07" +
                       Le32(mvtesting::kGgufString) + Le64(1) + GgufString("x");
  std::string file =
      GgufBuilder()
          .KvRaw("u8", mvtesting::kGgufU8, "\xfe")
          .KvRaw("i8", mvtesting::kGgufI8, "\xfe")
          .KvRaw("u16", mvtesting::kGgufU16, "\x01\x02")
          .KvRaw("i16", mvtesting::kGgufI16, "\xff\xff")
          .KvRaw("i32", mvtesting::kGgufI32, Le32(-5))
          .KvRaw("f32", mvtesting::kGgufF32, Le32(0x3fc00000))  // 1.5
          .KvRaw("bool", mvtesting::kGgufBool, "\x01")
          .KvRaw("u64", mvtesting::kGgufU64, Le64(UINT64_MAX))
          .KvRaw("i64", mvtesting::kGgufI64, Le64(-7))
          .KvRaw("f64", mvtesting::kGgufF64, Le64(0xc004000000000000))  // -2.5
          .KvRaw("tokens", mvtesting::kGgufArray,
                 Le32(mvtesting::kGgufString) + Le64(3) + GgufString("a") +
                     GgufString("") + GgufString("ccc"))
          .KvRaw("scores", mvtesting::kGgufArray,
                 Le32(mvtesting::kGgufF32) + Le64(2) + Le64(0))
          .KvRaw("nested", mvtesting::kGgufArray, nested)
          .Build();
  absl::StatusOr<GgufLayout> layout = ParseGguf(file);
  ASSERT_THAT(layout, IsOk());
  const auto& kv = layout->metadata;
  EXPECT_EQ(std::get<uint64_t>(kv.at("u8").value), 254u);
  EXPECT_EQ(std::get<int64_t>(kv.at("i8").value), -2);
  EXPECT_EQ(std::get<uint64_t>(kv.at("u16").value), 0x0201u);
  EXPECT_EQ(std::get<int64_t>(kv.at("i16").value), -1);
  EXPECT_EQ(std::get<int64_t>(kv.at("i32").value), -5);
  EXPECT_EQ(std::get<double>(kv.at("f32").value), 1.5);
  EXPECT_EQ(std::get<bool>(kv.at("bool").value), true);
  EXPECT_EQ(std::get<uint64_t>(kv.at("u64").value), UINT64_MAX);
  EXPECT_EQ(std::get<int64_t>(kv.at("i64").value), -7);
  EXPECT_EQ(std::get<double>(kv.at("f64").value), -2.5);
  EXPECT_EQ(kv.at("tokens").type, GgufValueType::kArray);
  EXPECT_EQ(kv.at("tokens").element_type, GgufValueType::kString);
  EXPECT_EQ(kv.at("tokens").array_length, 3u);
  EXPECT_EQ(kv.at("scores").array_length, 2u);
  EXPECT_EQ(kv.at("nested").element_type, GgufValueType::kArray);
  EXPECT_THAT(layout->tensors, IsEmpty());
}

TEST(Gguf, AcceptsVersion2) {
  absl::StatusOr<GgufLayout> layout = ParseGguf(
      GgufBuilder().Version(2).Tensor("a", kF32, {1}, "abcd").Build());
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->version, 2u);
}

TEST(Gguf, GapsBetweenTensorsAndTrailingBytesAreAllowed) {
  std::string file = GgufBuilder()
                         .Tensor("a", kF32, {1}, "abcd", 64)
                         .Tensor("b", kF32, {1}, "efgh", 0)
                         .Build() +
                     "trailing";
  absl::StatusOr<GgufLayout> layout = ParseGguf(file);
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->tensors[0].name, "b");  // sorted by offset
  EXPECT_EQ(Bytes(file, layout->tensors[1]), "abcd");
}

TEST(GgmlTypes, BlockSizesMatchGgml) {
  struct Want {
    uint32_t id;
    std::string_view name;
    uint32_t block, size;
  };
  for (Want w : std::initializer_list<Want>{
           {0, "F32", 1, 4},         {1, "F16", 1, 2},
           {2, "Q4_0", 32, 18},      {3, "Q4_1", 32, 20},
           {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
           {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 40},
           {10, "Q2_K", 256, 84},    {11, "Q3_K", 256, 110},
           {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
           {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},
           {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
           {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
           {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},
           {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136},
           {24, "I8", 1, 1},         {25, "I16", 1, 2},
           {26, "I32", 1, 4},        {27, "I64", 1, 8},
           {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
           {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
           {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17}}) {
    const GgmlTypeTraits* t = FindGgmlType(w.id);
    ASSERT_NE(t, nullptr) << w.id;
    EXPECT_EQ(static_cast<uint32_t>(t->type), w.id);
    EXPECT_EQ(t->name, w.name);
    EXPECT_EQ(t->block_size, w.block) << w.name;
    EXPECT_EQ(t->type_size, w.size) << w.name;
    EXPECT_EQ(t->quantized, w.block > 1) << w.name;
  }
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 1000u})
    EXPECT_EQ(FindGgmlType(removed), nullptr) << removed;
}

TEST(GgmlTypes, OnlyF32F16AndBF16AreMarkable) {
  EXPECT_EQ(MarkableTypeOf(GgmlType::kF32), MarkableType::kF32);
  EXPECT_EQ(MarkableTypeOf(GgmlType::kF16), MarkableType::kF16);
  EXPECT_EQ(MarkableTypeOf(GgmlType::kBF16), MarkableType::kBF16);
  for (GgmlType t :
       {GgmlType::kQ4_0, GgmlType::kQ8_0, GgmlType::kQ6_K, GgmlType::kIQ4_XS,
        GgmlType::kF64, GgmlType::kI32, GgmlType::kMXFP4}) {
    EXPECT_FALSE(IsMarkable(t)) << GgmlTraits(t).name;
  }
  EXPECT_TRUE(IsFloatingPoint(GgmlType::kF64));
  EXPECT_FALSE(IsFloatingPoint(GgmlType::kQ8_0));
}

// ---- The prefix API. ----

TEST(GgufPrefix, ReportsHowManyBytesItNeedsThenSucceeds) {
  std::string file = GgufBuilder()
                         .KvString("general.name", "tiny")
                         .KvRaw("tokens", mvtesting::kGgufArray,
                                Le32(mvtesting::kGgufString) + Le64(2) +
                                    GgufString("hello") + GgufString("world"))
                         .Tensor("a", kF32, {4, 4}, PatternBytes(64))
                         .Build();
  absl::StatusOr<GgufLayout> whole = ParseGguf(file);
  ASSERT_THAT(whole, IsOk());
  // Feed exactly what is asked for each round, as a stream reader would.
  uint64_t have = 0;
  int rounds = 0;
  for (;; ++rounds) {
    absl::StatusOr<PrefixParse<GgufLayout>> p =
        ParseGgufPrefix(std::string_view(file).substr(0, have), file.size());
    ASSERT_THAT(p, IsOk()) << have;
    if (p->layout) {
      EXPECT_EQ(p->layout->tensors, whole->tensors);
      EXPECT_EQ(p->layout->header_size, whole->header_size);
      break;
    }
    EXPECT_GT(p->bytes_needed, have);
    EXPECT_LE(p->bytes_needed, whole->header_size);
    have = p->bytes_needed;
  }
  EXPECT_EQ(have, whole->header_size);  // never asked for tensor data
  EXPECT_GT(rounds, 5);
  // One byte short of the header is not enough; every longer prefix is.
  absl::StatusOr<PrefixParse<GgufLayout>> short_by_one = ParseGgufPrefix(
      std::string_view(file).substr(0, whole->header_size - 1), file.size());
  ASSERT_THAT(short_by_one, IsOk());
  EXPECT_FALSE(short_by_one->layout);
  EXPECT_EQ(short_by_one->bytes_needed, whole->header_size);
  for (size_t n = whole->header_size; n <= file.size(); ++n) {
    absl::StatusOr<PrefixParse<GgufLayout>> p =
        ParseGgufPrefix(std::string_view(file).substr(0, n), file.size());
    ASSERT_THAT(p, IsOk());
    EXPECT_TRUE(p->layout) << n;
  }
}

TEST(GgufPrefix, PrefixLongerThanTheFileIsAnError) {
  EXPECT_THAT(ParseGgufPrefix("GGUF", 3),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("longer than the file")));
}

}  // namespace
}  // namespace mv
