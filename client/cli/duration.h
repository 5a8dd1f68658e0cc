// Durations as mvault's flags take them: one or more NUMBER+UNIT parts with
// units d, h, m, s in that order, each at most once, no spaces or signs —
// "8h", "30m", "90s", "7d", "1h30m". Parsed strictly so that a typo ("8",
// "8hr", "1.5h", "30m1h") is an error rather than a surprise TTL.
// Pure; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_DURATION_H_
#define MODELVAULT_CLIENT_CLI_DURATION_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mvcli {

// The duration, which is > 0 and at most 100 years; InvalidArgumentError
// naming the text and the expected form otherwise.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// "1h30m", "7d", "45s": the inverse of ParseDuration for whole seconds
// ("0s" for zero).
std::string DurationText(absl::Duration d);

// CLI11 check: CLI11 prefixes the message with the flag's name, and a
// failed check is a usage error (exit 2).
CLI::Validator DurationValidator();

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_DURATION_H_
