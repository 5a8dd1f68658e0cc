#include "client/cli/args.h"

#include "absl/strings/str_cat.h"
#include "client/lib/reference.h"

namespace mvcli {
namespace {

constexpr size_t kMaxLabelKeyBytes = 64;
constexpr size_t kMaxLabelValueBytes = 1024;

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
  // Same limits as the server (src/vault/reference.cc, ValidateLabel).
  bool ok = key.size() <= kMaxLabelKeyBytes;
  for (char c : key) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label key ", mvclient::QuoteForMessage(key),
                     ": use 1-64 printable ASCII characters without spaces"));
  }
  if (value.size() > kMaxLabelValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("label ", mvclient::QuoteForMessage(key),
                     ": value longer than 1024 bytes"));
  }
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
  return FromStatus(
      [](const std::string& s) { return mvclient::ValidateName(s); }, "NAME");
}

CLI::Validator ReferenceValidator() {
  return FromStatus(
      [](const std::string& s) { return mvclient::ParseReference(s).status(); },
      "REF");
}

CLI::Validator AliasValidator() {
  return FromStatus(
      [](const std::string& s) { return mvclient::ValidateAlias(s); }, "ALIAS");
}

CLI::Validator LabelValidator() {
  return FromStatus([](const std::string& s) { return ParseLabel(s).status(); },
                    "K=V");
}

}  // namespace mvcli
