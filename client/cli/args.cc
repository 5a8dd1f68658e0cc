#include "client/cli/args.h"

#include <string_view>

#include "absl/strings/str_cat.h"
#include "client/lib/reference.h"
#include "common/status_macros.h"
#include "vault/reference.h"

namespace mvcli {
namespace {

std::string_view AsStd(absl::string_view s) { return {s.data(), s.size()}; }

// CLI11 wants "" for valid input and the message otherwise.
CLI::Validator FromStatus(std::function<absl::Status(const std::string&)> check,
                          std::string desc) {
  return CLI::Validator(
      [check = std::move(check)](std::string& value) -> std::string {
        absl::Status status = check(value);
        return status.ok() ? "" : std::string(status.message());
      },
      std::move(desc));
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> ParseLabel(
    absl::string_view text) {
  size_t eq = text.find('=');
  if (eq == absl::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label ", mvclient::QuoteForMessage(text),
                     ": expected key=value with a non-empty key"));
  }
  absl::string_view key = text.substr(0, eq);
  absl::string_view value = text.substr(eq + 1);
  // The server's rules (mv::ValidateLabel); a bad key gets a hint on top of
  // the server's wording because here a person is typing it.
  if (!mv::ValidateLabel(AsStd(key), "").ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label key ", mvclient::QuoteForMessage(key),
                     ": use 1-64 printable ASCII characters without spaces"));
  }
  MV_RETURN_IF_ERROR(mv::ValidateLabel(AsStd(key), AsStd(value)));
  return std::make_pair(std::string(key), std::string(value));
}

absl::StatusOr<std::map<std::string, std::string>> ParseLabels(
    const std::vector<std::string>& texts) {
  std::map<std::string, std::string> labels;
  for (const std::string& text : texts) {
    auto label = ParseLabel(text);
    if (!label.ok()) return label.status();
    if (!labels.insert(*std::move(label)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("label \"", text.substr(0, text.find('=')),
                       "\" given more than once"));
    }
  }
  return labels;
}

CLI::Validator NameValidator() {
  return FromStatus([](const std::string& s) { return mv::ValidateName(s); },
                    "NAME");
}

CLI::Validator ReferenceValidator() {
  return FromStatus(
      [](const std::string& s) { return mv::ParseReference(s).status(); },
      "REF");
}

CLI::Validator AliasValidator() {
  return FromStatus([](const std::string& s) { return mv::ValidateAlias(s); },
                    "ALIAS");
}

CLI::Validator LabelValidator() {
  return FromStatus([](const std::string& s) { return ParseLabel(s).status(); },
                    "K=V");
}

}  // namespace mvcli
