// Action names and policy names.
#include <array>

#include "access/policy.h"

namespace mv {
namespace {

constexpr std::array<std::string_view, kActionCount> kActionNames = {
    "read",           "write",
    "list",           "delete",
    "alias",          "trace",
    "read:exact",     "admin:principals",
    "admin:policies", "admin:tokens",
    "admin:audit",    "admin:keys",
    "admin:backup",   "admin:audit:archive",
    "admin:seal",
};

bool IsNameTail(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::string_view ActionName(Action a) {
  size_t i = static_cast<size_t>(a);
  return i < kActionNames.size() ? kActionNames[i] : "unknown";
}

std::optional<Action> ParseAction(std::string_view name) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

absl::Status ValidatePolicyName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError("policy name must be 1-64 bytes");
  }
  if (name[0] == '.' || name[0] == '_' || name[0] == '-') {
    return absl::InvalidArgumentError("policy name must start with [a-z0-9]");
  }
  for (char c : name) {
    if (!IsNameTail(c)) {
      return absl::InvalidArgumentError(
          "policy name may hold only [a-z0-9._-]");
    }
  }
  return absl::OkStatus();
}

}  // namespace mv
