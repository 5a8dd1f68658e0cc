#include "client/lib/reference.h"

#include "absl/strings/str_cat.h"

namespace mvclient {

std::string QuoteForMessage(absl::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 80) out += "...";
  return out + "\"";
}

std::string DefaultDestination(const mv::Reference& ref) {
  size_t slash = ref.name.rfind('/');
  absl::string_view last = ref.name;
  if (slash != std::string::npos) last.remove_prefix(slash + 1);
  return absl::StrCat("./", last);
}

}  // namespace mvclient
