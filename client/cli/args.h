// Parsing and validation of mvault's positional arguments and repeated
// flags. Errors here are usage errors (exit 2): they are reported by CLI11
// before any request is made. Pure; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_ARGS_H_
#define MODELVAULT_CLIENT_CLI_ARGS_H_

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvcli {

// "key=value" -> {key, value}, split at the first '='. The key must be 1-64
// printable ASCII bytes without spaces; the value may be empty, may contain
// '=' and is at most 1024 bytes (the server's limits). InvalidArgumentError
// otherwise.
absl::StatusOr<std::pair<std::string, std::string>> ParseLabel(
    absl::string_view text);

// All --label values; a key given twice is an error.
absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& texts);

// CLI11 checks wrapping the client library's validators.
CLI::Validator NameValidator();       // artifact NAME
CLI::Validator ReferenceValidator();  // NAME[@N|@alias|@sha256:HEX]
CLI::Validator AliasValidator();
CLI::Validator LabelValidator();  // key=value

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ARGS_H_
