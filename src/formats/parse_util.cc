#include "formats/parse_util.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mv::formats_internal {

std::string QuoteName(std::string_view name) {
  constexpr size_t kMaxShown = 64;
  bool cut = name.size() > kMaxShown;
  std::string_view shown = name.substr(0, kMaxShown);
  // CHexEscape leaves only printable ASCII: \n, \", \xNN and the like.
  // StrCat rather than "'" + ...: GCC 12 at -O3 reports a bogus -Wrestrict
  // overlap for operator+(const char*, string&&).
  return absl::StrCat(
      "'", absl::CHexEscape(absl::string_view(shown.data(), shown.size())),
      cut ? "...'" : "'");
}

}  // namespace mv::formats_internal
