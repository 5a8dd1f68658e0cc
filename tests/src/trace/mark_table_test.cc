#include "trace/mark_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOkAndHolds;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

constexpr auto kDataLoss = absl::StatusCode::kDataLoss;

MarkTable Table() {
  MarkTable t;
  t.file_size = 1000;
  t.tensors = {{"a", MarkableType::kF16, {4, 8}, 100, 64},
               {"b", MarkableType::kF32, {2, 16}, 200, 128}};
  t.entries = {
      {104, 0, 2, MarkableType::kF16, MarkChannel::kTardos, 700, 0x3C01},
      {110, 0, 5, MarkableType::kF16, MarkChannel::kReference, 0, 0xBC00},
      {204, 1, 1, MarkableType::kF32, MarkChannel::kTardos, 65535, 0x3F800001},
  };
  return t;
}

TEST(MarkTable, RoundTrips) {
  EXPECT_THAT(ParseMarkTable(SerializeMarkTable(Table())),
              IsOkAndHolds(Table()));
  EXPECT_THAT(ParseMarkTable(SerializeMarkTable(MarkTable{})),
              IsOkAndHolds(MarkTable{}));
}

TEST(MarkTable, LongNamesRoundTrip) {
  MarkTable table = Table();
  table.tensors[1].name = std::string(70'000, 'b');
  EXPECT_THAT(ParseMarkTable(SerializeMarkTable(table)), IsOkAndHolds(table));
}

TEST(MarkTable, EveryTruncationIsDataLoss) {
  const std::string bytes = SerializeMarkTable(Table());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THAT(ParseMarkTable(bytes.substr(0, n)),
                StatusIs(kDataLoss, testing::_))
        << n;
  }
}

TEST(MarkTable, TrailingByteIsDataLoss) {
  EXPECT_THAT(ParseMarkTable(SerializeMarkTable(Table()) + "x"),
              StatusIs(kDataLoss, HasSubstr("trailing")));
}

TEST(MarkTable, BadMagicAndVersionAreDataLoss) {
  std::string bytes = SerializeMarkTable(Table());
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_THAT(ParseMarkTable(magic), StatusIs(kDataLoss, HasSubstr("magic")));
  std::string version = bytes;
  version[7] = 2;
  EXPECT_THAT(ParseMarkTable(version),
              StatusIs(kDataLoss, HasSubstr("version")));
}

// Each inconsistency, built as a table and serialized, fails to parse.
TEST(MarkTable, InconsistentTablesAreDataLoss) {
  struct Case {
    const char* message;
    void (*mutate)(MarkTable*);
  };
  const Case cases[] = {
      {"unsorted",
       [](MarkTable* t) { std::swap(t->entries[0], t->entries[1]); }},
      {"overlapping", [](MarkTable* t) { t->entries[1] = t->entries[0]; }},
      {"element out of range",
       [](MarkTable* t) { t->entries[2].element = 32; }},
      {"does not match its element",
       [](MarkTable* t) { t->entries[0].file_offset = 105; }},
      {"tensor out of range", [](MarkTable* t) { t->entries[0].tensor = 2; }},
      {"unknown entry channel",
       [](MarkTable* t) {
         t->entries[0].channel = static_cast<MarkChannel>(3);
       }},
      {"bias is zero", [](MarkTable* t) { t->entries[0].weight = 0; }},
      {"too wide", [](MarkTable* t) { t->entries[0].original_bits = 0x10000; }},
      {"length does not match",
       [](MarkTable* t) { t->tensors[0].length = 66; }},
      {"past end of file", [](MarkTable* t) { t->file_size = 300; }},
      {"not sorted by name", [](MarkTable* t) { t->tensors[1].name = "a"; }},
      {"not markable",
       [](MarkTable* t) { t->tensors[0].dtype = MarkableType::kNotMarkable; }},
      {"ndim", [](MarkTable* t) { t->tensors[0].shape = {}; }},
  };
  for (const Case& c : cases) {
    MarkTable table = Table();
    c.mutate(&table);
    EXPECT_THAT(ParseMarkTable(SerializeMarkTable(table)),
                StatusIs(kDataLoss, HasSubstr(c.message)))
        << c.message;
  }
}

TEST(MarkTable, HugeEntryCountIsRefusedBeforeAllocating) {
  std::string bytes = SerializeMarkTable(MarkTable{});
  bytes.replace(bytes.size() - 4, 4, "\xff\xff\xff\xff");
  EXPECT_THAT(ParseMarkTable(bytes),
              StatusIs(kDataLoss, HasSubstr("entry count")));
}

TEST(MarkTable, EveryByteFlipIsDataLossOrAValidTable) {
  const std::string bytes = SerializeMarkTable(Table());
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[at] ^= static_cast<char>(1 << bit);
      absl::StatusOr<MarkTable> table = ParseMarkTable(flipped);
      if (table.ok()) {
        EXPECT_EQ(SerializeMarkTable(*table), flipped) << at << ":" << bit;
      } else {
        EXPECT_EQ(table.status().code(), kDataLoss) << at << ":" << bit;
      }
    }
  }
}

TEST(MarkTable, CountsChannels) {
  EXPECT_EQ(Table().CountChannel(MarkChannel::kTardos), 2u);
  EXPECT_EQ(Table().CountChannel(MarkChannel::kReference), 1u);
  EXPECT_EQ(Table().CountChannel(MarkChannel::kPayload), 0u);
}

}  // namespace
}  // namespace mv
