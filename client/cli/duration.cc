#include "client/cli/duration.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/lib/reference.h"

namespace mvcli {
namespace {

struct Unit {
  char suffix;
  int64_t seconds;
};
constexpr Unit kUnits[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 86400;

absl::Status Invalid(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid duration ", mvclient::QuoteForMessage(text),
      ": use NUMBER+UNIT parts with units d, h, m, s in that order, "
      "e.g. 8h, 30m, 7d, 1h30m"));
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  if (text.empty()) return Invalid(text);
  int64_t total = 0;
  size_t next_unit = 0;  // units must come in kUnits order, once each
  size_t i = 0;
  while (i < text.size()) {
    int64_t value = 0;
    size_t digits = 0;
    while (i < text.size() && absl::ascii_isdigit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > kMaxSeconds) {
        return absl::InvalidArgumentError(absl::StrCat(
            "duration ", mvclient::QuoteForMessage(text), " is too long"));
      }
      ++i;
      ++digits;
    }
    if (digits == 0 || i == text.size()) return Invalid(text);
    char suffix = text[i++];
    while (next_unit < std::size(kUnits) && kUnits[next_unit].suffix != suffix)
      ++next_unit;
    if (next_unit == std::size(kUnits)) return Invalid(text);
    total += value * kUnits[next_unit++].seconds;
    if (total > kMaxSeconds) {
      return absl::InvalidArgumentError(absl::StrCat(
          "duration ", mvclient::QuoteForMessage(text), " is too long"));
    }
  }
  if (total == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("duration ", mvclient::QuoteForMessage(text),
                     " must be longer than zero"));
  }
  return absl::Seconds(total);
}

std::string DurationText(absl::Duration d) {
  int64_t left = absl::ToInt64Seconds(d);
  if (left <= 0) return "0s";
  std::string out;
  for (const Unit& unit : kUnits) {
    if (left >= unit.seconds) {
      absl::StrAppend(&out, left / unit.seconds, std::string(1, unit.suffix));
      left %= unit.seconds;
    }
  }
  return out;
}

CLI::Validator DurationValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        absl::StatusOr<absl::Duration> d = ParseDuration(value);
        return d.ok() ? "" : std::string(d.status().message());
      },
      "DURATION");
}

}  // namespace mvcli
