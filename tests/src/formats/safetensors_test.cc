#include "formats/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "src/formats/format_builders.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::Le64;
using ::mvtesting::PatternBytes;
using ::mvtesting::SafetensorsBuilder;
using ::mvtesting::SafetensorsFile;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// The bytes a parsed tensor points at.
std::string Bytes(const std::string& file, const SafetensorsTensor& t) {
  return file.substr(t.offset, t.length);
}

// A file with one tensor entry `entry` (JSON) and `data_size` data bytes.
std::string OneTensor(const std::string& entry, size_t data_size) {
  return SafetensorsFile("{\"a\":" + entry + "}", PatternBytes(data_size));
}

TEST(Safetensors, ParsesOneF32Tensor) {
  std::string data = mvtesting::F32Bytes({1, 2, 3, 4, 5, 6});
  std::string file =
      SafetensorsBuilder().Tensor("w", "F32", {2, 3}, data).Build();
  absl::StatusOr<SafetensorsLayout> layout = ParseSafetensors(file);
  ASSERT_THAT(layout, IsOk());
  EXPECT_EQ(layout->data_offset, 8 + layout->header_length);
  EXPECT_EQ(layout->header_length % 8, 0u);  // the builder pads like the writer
  EXPECT_EQ(layout->file_size, file.size());
  ASSERT_EQ(layout->tensors.size(), 1u);
  const SafetensorsTensor& t = layout->tensors[0];
  EXPECT_EQ(t.name, "w");
  EXPECT_EQ(t.dtype, SafetensorsDtype::kF32);
  EXPECT_THAT(t.shape, ElementsAre(2, 3));
  EXPECT_EQ(t.NumElements(), 6u);
  EXPECT_EQ(t.offset, layout->data_offset);
  EXPECT_EQ(t.length, 24u);
  EXPECT_EQ(Bytes(file, t), data);
  EXPECT_THAT(layout->metadata, IsEmpty());
}

TEST(Safetensors, SeveralDtypesAreLocatedInOffsetOrder) {
  SafetensorsBuilder b;
  b.Tensor("z.f16", "F16", {4, 2}, PatternBytes(16, 1))
      .Tensor("a.bf16", "BF16", {3}, PatternBytes(6, 2))
      .Tensor("m.i32", "I32", {2, 2}, PatternBytes(16, 3))
      .Tensor("b.f32", "F32", {1, 1, 2}, PatternBytes(8, 4))
      .Metadata("format", "pt");
  std::string file = b.Build();
  absl::StatusOr<SafetensorsLayout> layout = ParseSafetensors(file);
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(layout->tensors.size(), 4u);
  EXPECT_EQ(layout->tensors[0].name, "z.f16");
  EXPECT_EQ(layout->tensors[0].dtype, SafetensorsDtype::kF16);
  EXPECT_EQ(Bytes(file, layout->tensors[0]), PatternBytes(16, 1));
  EXPECT_EQ(layout->tensors[1].name, "a.bf16");
  EXPECT_EQ(layout->tensors[1].dtype, SafetensorsDtype::kBF16);
  EXPECT_EQ(Bytes(file, layout->tensors[1]), PatternBytes(6, 2));
  EXPECT_EQ(layout->tensors[2].dtype, SafetensorsDtype::kI32);
  EXPECT_EQ(Bytes(file, layout->tensors[2]), PatternBytes(16, 3));
  EXPECT_EQ(layout->tensors[3].dtype, SafetensorsDtype::kF32);
  EXPECT_EQ(layout->tensors[3].offset + 8, file.size());
  EXPECT_EQ(layout->metadata.at("format"), "pt");
}

TEST(Safetensors, ZeroSizeTensorsAndScalarsAreAccepted) {
  std::string file = SafetensorsBuilder()
                         .Tensor("empty", "F32", {0, 4}, "")
                         .Tensor("scalar", "F64", {}, PatternBytes(8))
                         .Tensor("empty2", "U8", {3, 0}, "")
                         .Build();
  absl::StatusOr<SafetensorsLayout> layout = ParseSafetensors(file);
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(layout->tensors.size(), 3u);
  // Zero-length tensors sort before the tensor that starts where they sit.
  EXPECT_EQ(layout->tensors[0].name, "empty");
  EXPECT_EQ(layout->tensors[0].length, 0u);
  EXPECT_EQ(layout->tensors[1].name, "scalar");
  EXPECT_THAT(layout->tensors[1].shape, IsEmpty());
  EXPECT_EQ(layout->tensors[1].NumElements(), 1u);
  EXPECT_EQ(layout->tensors[1].length, 8u);
  EXPECT_EQ(layout->tensors[2].name, "empty2");
  EXPECT_EQ(layout->tensors[2].offset, file.size());
}

TEST(Safetensors, EmptyFileWithOnlyMetadataIsValid) {
  absl::StatusOr<SafetensorsLayout> layout =
      ParseSafetensors(SafetensorsBuilder().Metadata("k", "v").Build());
  ASSERT_THAT(layout, IsOk());
  EXPECT_THAT(layout->tensors, IsEmpty());
  EXPECT_EQ(layout->metadata.at("k"), "v");
  EXPECT_THAT(ParseSafetensors(SafetensorsFile("{}", "")), IsOk());
}

TEST(Safetensors, UnpaddedHeaderAndWhitespacePaddingAreAccepted) {
  std::string entry = R"({"dtype":"U8","shape":[2],"data_offsets":[0,2]})";
  EXPECT_THAT(ParseSafetensors(OneTensor(entry, 2)), IsOk());
  EXPECT_THAT(
      ParseSafetensors(SafetensorsFile("{\"a\":" + entry + "}      ", "ab")),
      IsOk());
}

TEST(Safetensors, SubByteDtypesMustFillWholeBytes) {
  EXPECT_THAT(ParseSafetensors(OneTensor(
                  R"({"dtype":"F4","shape":[4],"data_offsets":[0,2]})", 2)),
              IsOk());
  EXPECT_THAT(ParseSafetensors(OneTensor(
                  R"({"dtype":"F4","shape":[3],"data_offsets":[0,2]})", 2)),
              StatusIs(kInvalid,
                       HasSubstr("[3] of F4 is not a whole number of bytes")));
  EXPECT_THAT(
      ParseSafetensors(OneTensor(
          R"({"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]})", 3)),
      IsOk());
}

TEST(SafetensorsDtype, NamesBitsAndMarkability) {
  for (SafetensorsDtype d :
       {SafetensorsDtype::kBool, SafetensorsDtype::kF8E4M3,
        SafetensorsDtype::kBF16, SafetensorsDtype::kC64,
        SafetensorsDtype::kF6E3M2, SafetensorsDtype::kU64}) {
    EXPECT_EQ(SafetensorsDtypeFromName(SafetensorsDtypeName(d)), d);
  }
  EXPECT_EQ(SafetensorsDtypeFromName("f32"), std::nullopt);  // case matters
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kBool), 8u);
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kBF16), 16u);
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kF4), 4u);
  EXPECT_EQ(SafetensorsDtypeBits(SafetensorsDtype::kF64), 64u);
  EXPECT_EQ(MarkableTypeOf(SafetensorsDtype::kF32), MarkableType::kF32);
  EXPECT_EQ(MarkableTypeOf(SafetensorsDtype::kF16), MarkableType::kF16);
  EXPECT_EQ(MarkableTypeOf(SafetensorsDtype::kBF16), MarkableType::kBF16);
  for (SafetensorsDtype d : {SafetensorsDtype::kF64, SafetensorsDtype::kF8E5M2,
                             SafetensorsDtype::kF4, SafetensorsDtype::kI32,
                             SafetensorsDtype::kBool}) {
    EXPECT_FALSE(IsMarkable(d)) << SafetensorsDtypeName(d);
  }
  EXPECT_TRUE(IsFloatingPoint(SafetensorsDtype::kF8E8M0));
  EXPECT_FALSE(IsFloatingPoint(SafetensorsDtype::kU16));
}

// ---- The 8-byte length and the header bytes. ----

TEST(SafetensorsRejects, FileShorterThanTheLengthField) {
  EXPECT_THAT(ParseSafetensors("abc"),
              StatusIs(kInvalid, HasSubstr("shorter than the 8-byte")));
}

TEST(SafetensorsRejects, HeaderLengthTwoToThe63) {
  std::string file = Le64(uint64_t{1} << 63) + "{}";
  EXPECT_THAT(ParseSafetensors(file),
              StatusIs(kInvalid, HasSubstr("header length 9223372036854775808 "
                                           "exceeds the limit of 100000000")));
}

TEST(SafetensorsRejects, HeaderLengthOverTheLimitEvenInAHugeFile) {
  EXPECT_THAT(ParseSafetensorsPrefix(Le64(100'000'001), uint64_t{1} << 40),
              StatusIs(kInvalid,
                       HasSubstr("header length 100000001 exceeds the limit")));
  EXPECT_THAT(ParseSafetensorsPrefix(Le64(100'000'000), uint64_t{1} << 40),
              IsOk());  // at the limit: asks for the header
}

TEST(SafetensorsRejects, HeaderLengthPastTheEndOfTheFile) {
  std::string file = Le64(3) + "{}";
  EXPECT_THAT(ParseSafetensors(file),
              StatusIs(kInvalid, HasSubstr("header length 3 exceeds the 2 "
                                           "bytes after the length field")));
}

TEST(SafetensorsRejects, HeaderNotStartingWithABrace) {
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(" {}", "")),
              StatusIs(kInvalid, HasSubstr("does not start with '{'")));
  EXPECT_THAT(ParseSafetensors(SafetensorsFile("[1]", "")),
              StatusIs(kInvalid, HasSubstr("does not start with '{'")));
  EXPECT_THAT(ParseSafetensors(SafetensorsFile("", "")),
              StatusIs(kInvalid, HasSubstr("does not start with '{'")));
}

TEST(SafetensorsRejects, HeaderThatIsNotJson) {
  for (std::string header : {"{", "{\"a\":}", "{} x", "{\"a\":1,}"}) {
    EXPECT_THAT(ParseSafetensors(SafetensorsFile(header, "")),
                StatusIs(kInvalid, HasSubstr("header is not valid JSON")))
        << header;
  }
  std::string nul("{}\0", 3);
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(nul, "")),
              StatusIs(kInvalid, HasSubstr("not valid JSON")));
  std::string bad_utf8 = "{\"__metadata__\":{\"k\":\"\xff\"}}";
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(bad_utf8, "")),
              StatusIs(kInvalid, HasSubstr("not valid JSON")));
}

TEST(SafetensorsRejects, DuplicateTensorNames) {
  std::string entry = R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(
                  "{\"a\":" + entry + ",\"a\":" + entry + "}", "x")),
              StatusIs(kInvalid,
                       HasSubstr("safetensors: duplicate key 'a' in header")));
}

TEST(SafetensorsRejects, DuplicateFieldsAndMetadataKeys) {
  EXPECT_THAT(
      ParseSafetensors(OneTensor(R"({"dtype":"U8","dtype":"I8","shape":[1],)"
                                 R"("data_offsets":[0,1]})",
                                 1)),
      StatusIs(kInvalid, HasSubstr("duplicate key 'dtype'")));
  EXPECT_THAT(ParseSafetensors(
                  SafetensorsFile(R"({"__metadata__":{"k":"1","k":"2"}})", "")),
              StatusIs(kInvalid, HasSubstr("duplicate key 'k'")));
}

TEST(SafetensorsRejects, DeepNesting) {
  EXPECT_THAT(
      ParseSafetensors(SafetensorsFile("{\"a\":{\"shape\":[[[[[1]]]]]}}", "")),
      StatusIs(kInvalid, HasSubstr("deeper than 4 levels")));
}

}  // namespace
}  // namespace mv
