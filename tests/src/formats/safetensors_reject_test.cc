// Rejections of individual tensor entries and of the data-region tiling,
// and the prefix (streaming) API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "formats/safetensors.h"
#include "formats/safetensors_header.h"
#include "src/formats/format_builders.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::PatternBytes;
using ::mvtesting::SafetensorsBuilder;
using ::mvtesting::SafetensorsFile;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::string OneTensor(const std::string& entry, size_t data_size) {
  return SafetensorsFile("{\"a.weight\":" + entry + "}",
                         PatternBytes(data_size));
}

absl::Status ParseOne(const std::string& entry, size_t data_size) {
  return ParseSafetensors(OneTensor(entry, data_size)).status();
}

// Two U8 tensors "a" and "b" at the given offsets in `data_size` bytes.
absl::Status ParseTwo(std::string a, std::string b, size_t data_size,
                      std::string b_shape = "[4]") {
  return ParseSafetensors(
             SafetensorsFile(
                 R"({"a":{"dtype":"U8","shape":[4],"data_offsets":)" + a +
                     R"(},"b":{"dtype":"U8","shape":)" + b_shape +
                     R"(,"data_offsets":)" + b + "}}",
                 PatternBytes(data_size)))
      .status();
}

TEST(SafetensorsRejects, ReversedOffsets) {
  EXPECT_THAT(ParseOne(R"({"dtype":"U8","shape":[4],"data_offsets":[8,4]})", 8),
              StatusIs(kInvalid,
                       "safetensors: tensor 'a.weight': data_offsets "
                       "[8, 4) are reversed"));
}

TEST(SafetensorsRejects, OffsetsBeyondTheFile) {
  EXPECT_THAT(
      ParseOne(R"({"dtype":"U8","shape":[4],"data_offsets":[4,8]})", 6),
      StatusIs(kInvalid, HasSubstr("tensor 'a.weight': data_offsets [4, 8) "
                                   "run past the end of the file")));
  EXPECT_THAT(ParseOne(R"({"dtype":"U8","shape":[1],"data_offsets":)"
                       R"([18446744073709551615,18446744073709551615]})",
                       6),
              StatusIs(kInvalid, HasSubstr("run past the end of the file")));
}

TEST(SafetensorsRejects, ByteLengthNotMatchingTheShape) {
  EXPECT_THAT(
      ParseOne(R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,12]})", 12),
      StatusIs(kInvalid, HasSubstr("data_offsets [0, 12) hold 12 bytes but "
                                   "shape [2, 2] of F32 needs 16")));
}

TEST(SafetensorsRejects, ShapeOverflow) {
  EXPECT_THAT(
      ParseOne(R"({"dtype":"U8","shape":[4294967296,4294967296],)"
               R"("data_offsets":[0,0]})",
               0),
      StatusIs(kInvalid, HasSubstr("shape [4294967296, 4294967296] has more "
                                   "than 2^64 elements")));
  // numel fits, numel * 32 bits does not.
  EXPECT_THAT(ParseOne(R"({"dtype":"F32","shape":[2305843009213693952],)"
                       R"("data_offsets":[0,0]})",
                       0),
              StatusIs(kInvalid, HasSubstr("has more than 2^64 bits")));
}

TEST(SafetensorsRejects, ShapesAndOffsetsThatAreNotU64Lists) {
  for (std::string shape :
       {"[-1]", "[1.5]", "\"2\"", "[18446744073709551616]", "[[2]]", "null"}) {
    EXPECT_THAT(ParseOne(R"({"dtype":"U8","shape":)" + shape +
                             R"(,"data_offsets":[0,2]})",
                         2),
                StatusIs(kInvalid, HasSubstr("shape is not an array of "
                                             "non-negative integers")))
        << shape;
  }
  for (std::string offsets : {"[0]", "[0,2,2]", "[0,-2]", "{}"}) {
    EXPECT_THAT(
        ParseOne(R"({"dtype":"U8","shape":[2],"data_offsets":)" + offsets + "}",
                 2),
        StatusIs(kInvalid, HasSubstr("data_offsets is not [begin, end]")))
        << offsets;
  }
}

TEST(SafetensorsRejects, UnknownDtypeFieldsAndMissingFields) {
  EXPECT_THAT(
      ParseOne(R"({"dtype":"F17","shape":[2],"data_offsets":[0,2]})", 2),
      StatusIs(kInvalid, HasSubstr("tensor 'a.weight': unknown dtype 'F17'")));
  EXPECT_THAT(ParseOne(R"({"dtype":7,"shape":[2],"data_offsets":[0,2]})", 2),
              StatusIs(kInvalid, HasSubstr("dtype is not a string")));
  EXPECT_THAT(ParseOne(R"({"dtype":"U8","shape":[2],"data_offsets":[0,2],)"
                       R"("extra":1})",
                       2),
              StatusIs(kInvalid, HasSubstr("unknown field 'extra'")));
  EXPECT_THAT(ParseOne(R"({"dtype":"U8","data_offsets":[0,2]})", 2),
              StatusIs(kInvalid, HasSubstr("missing field 'shape'")));
  EXPECT_THAT(ParseOne(R"([1,2])", 2),
              StatusIs(kInvalid, HasSubstr("entry is not a JSON object")));
}

TEST(SafetensorsRejects, OverlappingOffsets) {
  EXPECT_THAT(ParseTwo("[0,4]", "[2,6]", 6),
              StatusIs(kInvalid,
                       "safetensors: tensor 'b': data_offsets "
                       "[2, 6) overlap tensor 'a'"));
  // The same range twice is an overlap too.
  EXPECT_THAT(ParseTwo("[0,4]", "[0,4]", 4),
              StatusIs(kInvalid, HasSubstr("overlap tensor 'a'")));
  // So is an empty tensor inside another one.
  EXPECT_THAT(ParseTwo("[0,4]", "[2,2]", 4, "[0]"),
              StatusIs(kInvalid, HasSubstr("tensor 'b': data_offsets [2, 2) "
                                           "overlap tensor 'a'")));
}

TEST(SafetensorsRejects, GappedOffsets) {
  EXPECT_THAT(ParseTwo("[0,4]", "[6,10]", 10),
              StatusIs(kInvalid,
                       "safetensors: tensor 'b': gap before "
                       "data_offsets [6, 10): data bytes [4, 6) "
                       "belong to no tensor"));
  EXPECT_THAT(ParseTwo("[2,6]", "[6,10]", 10),
              StatusIs(kInvalid, HasSubstr("tensor 'a': gap before "
                                           "data_offsets [2, 6)")));
}

TEST(SafetensorsRejects, TrailingBytesAfterTheLastTensor) {
  EXPECT_THAT(ParseTwo("[0,4]", "[4,8]", 9),
              StatusIs(kInvalid,
                       "safetensors: data bytes [8, 9) after the "
                       "last tensor belong to no tensor"));
  EXPECT_THAT(ParseSafetensors(SafetensorsFile("{}", "junk")),
              StatusIs(kInvalid, HasSubstr("data bytes [0, 4) after the last "
                                           "tensor")));
}

TEST(SafetensorsRejects, MetadataThatIsNotStringToString) {
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(R"({"__metadata__":[1]})", "")),
              StatusIs(kInvalid,
                       "safetensors: __metadata__ is not a JSON "
                       "object"));
  EXPECT_THAT(
      ParseSafetensors(SafetensorsFile(R"({"__metadata__":{"k":1}})", "")),
      StatusIs(kInvalid,
               "safetensors: __metadata__ value of 'k' is not a "
               "string"));
  EXPECT_THAT(ParseSafetensors(
                  SafetensorsFile(R"({"__metadata__":{"k":{"x":"y"}}})", "")),
              StatusIs(kInvalid, HasSubstr("value of 'k' is not a string")));
}

TEST(SafetensorsRejects, NamesInMessagesAreEscapedAndShortened) {
  std::string file = SafetensorsFile(
      "{\"a\\u0001\\n\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}",
      "");
  EXPECT_THAT(ParseSafetensors(file),
              StatusIs(kInvalid, HasSubstr("tensor 'a\\x01\\n': unknown")));
  std::string long_name(200, 'n');
  file = SafetensorsFile("{\"" + long_name +
                             "\":{\"dtype\":\"X\",\"shape\":[],"
                             "\"data_offsets\":[0,0]}}",
                         "");
  EXPECT_THAT(ParseSafetensors(file),
              StatusIs(kInvalid, HasSubstr("tensor '" + std::string(64, 'n') +
                                           "...': unknown dtype")));
}

TEST(SafetensorsRejects, TheFirstDefectInKeyOrderIsReportedWhateverTheOrder) {
  // A JSON object's keys have no order of their own: "a" is reported
  // before "b" however the file lists them.
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(R"({"b":5,"a":6})", "")),
              StatusIs(kInvalid, "safetensors: tensor 'a': entry is not a "
                                 "JSON object"));
  EXPECT_THAT(
      ParseSafetensors(SafetensorsFile(
          R"({"__metadata__":{"z":1,"y":[2]},"a":{"dtype":"U8"}})", "")),
      StatusIs(kInvalid, HasSubstr("__metadata__ value of 'y'")));
  // A duplicate name wins over a defective entry.
  EXPECT_THAT(ParseSafetensors(SafetensorsFile(
                  R"({"b":1,"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},)"
                  R"("a":{"dtype":"U8","shape":[],"data_offsets":[1,2]}})",
                  "xy")),
              StatusIs(kInvalid, "safetensors: duplicate key 'a' in header"));
}

TEST(SafetensorsRejects, MetadataBeyondItsEntryLimit) {
  std::string entries;
  for (size_t i = 0; i <= formats_internal::kMaxSafetensorsMetadataEntries;
       ++i) {
    entries += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"\"";
  }
  EXPECT_THAT(
      ParseSafetensors(SafetensorsFile("{\"__metadata__\":{" + entries + "}}",
                                       "")),
      StatusIs(kInvalid, "safetensors: __metadata__ has more than 10000 "
                         "entries"));
}

// A header of a quarter million tiny entries: the parse is one linear pass
// (the DOM parser it replaced walked the root object once per entry).
TEST(SafetensorsHostile, AQuarterMillionTinyEntriesParseInOnePass) {
  constexpr size_t kEntries = 250'000;
  std::string header = "{";
  for (size_t i = 0; i < kEntries; ++i) {
    header += (i ? ",\"t" : "\"t") + std::to_string(i) +
              R"(":{"dtype":"U8","shape":[1],"data_offsets":[)" +
              std::to_string(i) + "," + std::to_string(i + 1) + "]}";
  }
  header += "}";
  absl::StatusOr<SafetensorsLayout> layout =
      ParseSafetensors(SafetensorsFile(header, PatternBytes(kEntries)));
  ASSERT_THAT(layout, IsOk());
  ASSERT_EQ(layout->tensors.size(), kEntries);
  EXPECT_EQ(layout->tensors[7].name, "t7");
  EXPECT_EQ(layout->tensors[7].offset, layout->data_offset + 7);
}

// ---- The prefix API. ----

TEST(SafetensorsPrefix, ReportsHowManyBytesItNeedsThenSucceeds) {
  std::string file = SafetensorsBuilder()
                         .Tensor("w", "BF16", {2, 2}, PatternBytes(8))
                         .Metadata("format", "pt")
                         .Build();
  absl::StatusOr<SafetensorsLayout> whole = ParseSafetensors(file);
  ASSERT_THAT(whole, IsOk());
  uint64_t header_end = whole->data_offset;
  for (size_t n = 0; n <= file.size(); ++n) {
    absl::StatusOr<PrefixParse<SafetensorsLayout>> p = ParseSafetensorsPrefix(
        std::string_view(file).substr(0, n), file.size());
    ASSERT_THAT(p, IsOk()) << n;
    if (n < 8) {
      EXPECT_FALSE(p->layout) << n;
      EXPECT_EQ(p->bytes_needed, 8u) << n;
    } else if (n < header_end) {
      EXPECT_FALSE(p->layout) << n;
      EXPECT_EQ(p->bytes_needed, header_end) << n;
    } else {
      ASSERT_TRUE(p->layout) << n;
      EXPECT_EQ(*p->layout, *whole) << n;
    }
  }
}

TEST(SafetensorsPrefix, RejectsABadHeaderWithoutReadingTheData) {
  // Offsets past the end are found from the header alone.
  std::string header =
      R"({"a":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}})";
  std::string prefix = mvtesting::Le64(header.size()) + header;
  EXPECT_THAT(ParseSafetensorsPrefix(prefix, prefix.size() + 4000), IsOk());
  EXPECT_THAT(ParseSafetensorsPrefix(prefix, prefix.size() + 3999),
              StatusIs(kInvalid, HasSubstr("run past the end of the file")));
}

TEST(SafetensorsPrefix, PrefixLongerThanTheFileIsAnError) {
  EXPECT_THAT(ParseSafetensorsPrefix(SafetensorsFile("{}", ""), 9),
              StatusIs(kInvalid, HasSubstr("longer than the file")));
}

}  // namespace
}  // namespace mv
