#include "trace/tensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "src/formats/format_builders.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOkAndHolds;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;

std::vector<TraceTensor> Tensors() {
  auto t = [](std::string name, MarkableType dtype,
              std::vector<uint64_t> shape) {
    TraceTensor out{std::move(name), dtype, std::move(shape), 0, 0};
    out.length = out.NumElements() * (dtype == MarkableType::kF32 ? 4 : 2);
    return out;
  };
  return {
      t("z.mlp.weight", MarkableType::kF32, {256, 256}),    // 0 yes
      t("a.attn.weight", MarkableType::kBF16, {512, 128}),  // 1 yes
      t("model.embed_tokens.weight", MarkableType::kF32, {512, 512}),
      t("lm_head.weight", MarkableType::kF16, {512, 512}),
      t("layers.0.post_attention_layernorm.weight", MarkableType::kF32,
        {256, 256}),
      t("h.0.ln_1.weight", MarkableType::kF32, {256, 256}),
      t("router.weight", MarkableType::kF32, {256, 256}),
      t("mlp.gate_proj.weight", MarkableType::kF32, {256, 256}),
      t("q.bias", MarkableType::kF32, {256, 256}),
      t("q.scale", MarkableType::kF32, {256, 256}),
      t("wte.weight", MarkableType::kF32, {256, 256}),
      t("flat.weight", MarkableType::kF32, {65536}),      // 1-D
      t("small.weight", MarkableType::kF32, {255, 256}),  // 65,280
      t("int.weight", MarkableType::kNotMarkable, {256, 256}),
      t("m.f16.weight", MarkableType::kF16, {2, 32768}),  // 14 yes
      t("nine.weight", MarkableType::kF16, {2, 32768, 1, 1, 1, 1, 1, 1, 1}),
  };
}

TEST(EligibleTensors, DefaultRuleSkipsExcludedNamesSmallAndFlatTensors) {
  EXPECT_THAT(EligibleTensors(Tensors()), IsOkAndHolds(ElementsAre(1, 14, 0)));
}

// A 512x512 F32 tensor named `name`.
TraceTensor F32(std::string name) {
  TraceTensor out{std::move(name), MarkableType::kF32, {512, 512}, 0, 0};
  out.length = out.NumElements() * 4;
  return out;
}

// llama.cpp's GGUF names: the embedding and the output head are never
// marked, every layer's attn_output (o_proj) is.
TEST(EligibleTensors, DefaultRuleSkipsLlamaCppEmbeddingAndOutputHead) {
  const std::vector<TraceTensor> tensors = {
      F32("token_embd.weight"),
      F32("output.weight"),
      F32("blk.0.attn_output.weight"),
      F32("output_norm.weight"),
  };
  EXPECT_THAT(EligibleTensors(tensors), IsOkAndHolds(ElementsAre(2)));
}

TEST(EligibleTensors, AnExactAlternativeMatchesTheWholeNameOnly) {
  const std::vector<TraceTensor> tensors = {
      F32("head"),
      F32("a.head"),
  };
  EligibilityRule rule;
  rule.excluded_names = "=head";
  EXPECT_THAT(EligibleTensors(tensors, rule), IsOkAndHolds(ElementsAre(1)));
  rule.excluded_names = "norm|=";
  EXPECT_THAT(EligibleTensors(tensors, rule),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST(EligibleTensors, PatternIsAParameter) {
  EligibilityRule rule;
  rule.excluded_names = "mlp|attn";
  EXPECT_THAT(EligibleTensors(Tensors(), rule),
              IsOkAndHolds(ElementsAre(5, 4, 3, 14, 2, 8, 9, 6, 10)));
}

TEST(EligibleTensors, EmptyAlternativeIsInvalidArgument) {
  EligibilityRule rule;
  for (const char* pattern : {"", "a||b", "a|", "|a"}) {
    rule.excluded_names = pattern;
    EXPECT_THAT(EligibleTensors(Tensors(), rule),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         testing::HasSubstr("empty")))
        << pattern;
  }
}

TEST(TraceTensorsOf, GgufShapesAreOutermostFirst) {
  std::string file =
      mvtesting::GgufBuilder()
          .Tensor("blk.0.ffn_up.weight", 1, {8, 4}, std::string(64, '\1'))
          .Tensor("q", 8, {32, 1}, std::string(34, '\2'))
          .Build();
  auto layout = ParseGguf(file);
  ASSERT_TRUE(layout.ok()) << layout.status();
  std::vector<TraceTensor> tensors = TraceTensorsOf(*layout);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].dtype, MarkableType::kF16);
  EXPECT_THAT(tensors[0].shape, ElementsAre(4, 8));
  EXPECT_EQ(tensors[0].offset, layout->tensors[0].offset);
  EXPECT_EQ(tensors[1].dtype, MarkableType::kNotMarkable);  // Q8_0
}

TEST(TraceTensorsOf, SafetensorsKeepsOffsetsAndDtypes) {
  std::string file = mvtesting::SafetensorsBuilder()
                         .Tensor("a", "BF16", {2, 2}, std::string(8, '\0'))
                         .Tensor("b", "I8", {4}, std::string(4, '\0'))
                         .Build();
  auto layout = ParseSafetensors(file);
  ASSERT_TRUE(layout.ok());
  std::vector<TraceTensor> tensors = TraceTensorsOf(*layout);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].dtype, MarkableType::kBF16);
  EXPECT_EQ(tensors[0].offset, layout->data_offset);
  EXPECT_EQ(tensors[1].dtype, MarkableType::kNotMarkable);
  EXPECT_EQ(tensors[1].length, 4u);
}

}  // namespace
}  // namespace mv
