#include "client/cli/duration.h"

#include <gtest/gtest.h>

namespace mvcli {
namespace {

absl::Duration Parsed(const char* text) {
  absl::StatusOr<absl::Duration> d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status();
  return d.value_or(absl::ZeroDuration());
}

TEST(ParseDurationTest, AcceptsEachUnitAndCombinations) {
  EXPECT_EQ(Parsed("8h"), absl::Hours(8));
  EXPECT_EQ(Parsed("30m"), absl::Minutes(30));
  EXPECT_EQ(Parsed("90s"), absl::Seconds(90));
  EXPECT_EQ(Parsed("7d"), absl::Hours(7 * 24));
  EXPECT_EQ(Parsed("1h30m"), absl::Minutes(90));
  EXPECT_EQ(Parsed("1d2h3m4s"), absl::Seconds(86400 + 7200 + 180 + 4));
  EXPECT_EQ(Parsed("0h5m"), absl::Minutes(5));
}

TEST(ParseDurationTest, RejectsAnythingElse) {
  for (const char* bad :
       {"",        "8",     "h",    "8hr",  "8H",
        "1.5h",    "-1h",   "+1h",  " 8h",  "8h ",
        "1h 30m",  "30m1h", "1h1h", "1m1d", "1w",
        "8h0",     "ms",    "0s",   "0h0m", "99999999999999999999s",
        "36600d1s"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << '"' << bad << '"';
  }
}

TEST(ParseDurationTest, ErrorQuotesTheTextAndShowsTheForm) {
  absl::Status s = ParseDuration("8hr").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"8hr\""), std::string::npos) << s;
  EXPECT_NE(s.message().find("1h30m"), std::string::npos) << s;
}

TEST(DurationTextTest, InvertsParse) {
  EXPECT_EQ(DurationText(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(DurationText(absl::Hours(24 * 7)), "7d");
  EXPECT_EQ(DurationText(absl::Seconds(45)), "45s");
  EXPECT_EQ(DurationText(absl::ZeroDuration()), "0s");
  for (const char* text : {"1d2h3m4s", "8h", "30m"}) {
    EXPECT_EQ(DurationText(Parsed(text)), text);
  }
}

}  // namespace
}  // namespace mvcli
