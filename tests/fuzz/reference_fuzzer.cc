// Fuzzes artifact names, aliases, label keys/values and references
// (vault/reference.h) against an independent transcription of the grammar,
// and checks that a parsed reference's ToString() re-parses to the same
// fields. Every rejection must be INVALID_ARGUMENT with a printable message.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "vault/reference.h"

namespace {

using mv::Reference;

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsTail(char c) {
  return IsLowerAlnum(c) || c == '.' || c == '_' || c == '-';
}

// NAME: 1–4 segments [a-z0-9][a-z0-9._-]{0,63} joined by '/', ≤ 200 bytes,
// never containing "..".
bool GrammarName(std::string_view s) {
  if (s.empty() || s.size() > 200 || s.find("..") != std::string_view::npos)
    return false;
  int segments = 0;
  while (true) {
    size_t slash = s.find('/');
    std::string_view seg = s.substr(0, slash);
    if (++segments > 4 || seg.empty() || seg.size() > 64 ||
        !IsLowerAlnum(seg[0]))
      return false;
    for (char c : seg) {
      if (!IsTail(c)) return false;
    }
    if (slash == std::string_view::npos) return true;
    s.remove_prefix(slash + 1);
  }
}

// alias: [a-z][a-z0-9._-]{0,63}, not "latest".
bool GrammarAlias(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z' || s == "latest")
    return false;
  for (char c : s) {
    if (!IsTail(c)) return false;
  }
  return true;
}

// Label key: 1–64 bytes in 0x21..0x7e except '='; value ≤ 1024 bytes.
bool GrammarLabel(std::string_view key, std::string_view value) {
  if (key.empty() || key.size() > 64 || value.size() > 1024) return false;
  for (char c : key) {
    if (c <= 0x20 || c >= 0x7f || c == '=') return false;
  }
  return true;
}

// N: decimal without leading zero, 1 ≤ N < 2^64.
bool GrammarNumber(std::string_view s) {
  if (s.empty() || s.size() > 20 || s[0] < '1' || s[0] > '9') return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return s.size() < 20 || s <= "18446744073709551615";
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F');
    if (!ok) return false;
  }
  return true;
}

bool GrammarReference(std::string_view s) {
  size_t at = s.find('@');
  if (!GrammarName(s.substr(0, at))) return false;
  if (at == std::string_view::npos) return true;
  std::string_view sel = s.substr(at + 1);
  if (sel == "latest") return true;
  if (sel.starts_with("sha256:"))
    return sel.size() == 71 && IsHex(sel.substr(7));
  return GrammarNumber(sel) || GrammarAlias(sel);
}

void CheckRejection(const absl::Status& s) {
  MV_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(s.message()));
}

bool SameFields(const Reference& a, const Reference& b) {
  return a.name == b.name && a.kind == b.kind && a.number == b.number &&
         a.alias == b.alias && a.digest == b.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);

  absl::Status name = mv::ValidateName(in);
  MV_FUZZ_CHECK(name.ok() == GrammarName(in));
  if (!name.ok()) CheckRejection(name);

  absl::Status alias = mv::ValidateAlias(in);
  MV_FUZZ_CHECK(alias.ok() == GrammarAlias(in));
  if (!alias.ok()) CheckRejection(alias);

  // Label: key before the first NUL, value after it.
  size_t nul = in.find('\0');
  std::string_view key = in.substr(0, nul);
  std::string_view value =
      nul == std::string_view::npos ? "" : in.substr(nul + 1);
  absl::Status label = mv::ValidateLabel(key, value);
  MV_FUZZ_CHECK(label.ok() == GrammarLabel(key, value));
  if (!label.ok()) CheckRejection(label);

  absl::StatusOr<Reference> ref = mv::ParseReference(in);
  MV_FUZZ_CHECK(ref.ok() == GrammarReference(in));
  if (!ref.ok()) {
    CheckRejection(ref.status());
    return 0;
  }
  MV_FUZZ_CHECK(mv::ValidateName(ref->name).ok());
  switch (ref->kind) {
    case Reference::Kind::kLatest:
      break;
    case Reference::Kind::kNumber:
      MV_FUZZ_CHECK(ref->number != 0);
      break;
    case Reference::Kind::kAlias:
      MV_FUZZ_CHECK(mv::ValidateAlias(ref->alias).ok());
      break;
    case Reference::Kind::kDigest:
      MV_FUZZ_CHECK(ref->digest.size() == 32);
      break;
  }
  std::string printed = ref->ToString();
  absl::StatusOr<Reference> again = mv::ParseReference(printed);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(SameFields(*ref, *again));
  MV_FUZZ_CHECK(again->ToString() == printed);
  return 0;
}
