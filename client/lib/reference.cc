#include "client/lib/reference.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mvclient {
namespace {

constexpr size_t kMaxNameBytes = 200;
constexpr size_t kMaxSegments = 4;
constexpr size_t kMaxSegmentBytes = 64;
constexpr absl::string_view kDigestPrefix = "sha256:";

bool IsLowerAlnum(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c);
}

bool IsTailChar(char c) {
  return IsLowerAlnum(c) || c == '.' || c == '_' || c == '-';
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

absl::Status BadName(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid artifact name ", QuoteForMessage(name), ": ", why));
}

// Same rules and wording as the server (src/vault/reference.cc).
absl::Status ValidateSegment(absl::string_view seg, absl::string_view name) {
  if (seg.empty()) return BadName(name, "empty segment");
  if (seg.size() > kMaxSegmentBytes) {
    return BadName(name, "segment longer than 64 bytes");
  }
  for (char c : seg) {
    if (absl::ascii_isupper(c)) return BadName(name, "must be lowercase");
  }
  if (!IsLowerAlnum(seg[0])) {
    return BadName(name, "each segment must start with a-z or 0-9");
  }
  for (char c : seg) {
    if (!IsTailChar(c)) {
      return BadName(name, "only a-z 0-9 . _ - and / are allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status BadRef(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid reference ", QuoteForMessage(text), ": ", why));
}

absl::Status ParseSelector(absl::string_view text, absl::string_view sel,
                           Reference& ref) {
  if (sel == "latest") return absl::OkStatus();
  if (absl::StartsWith(sel, kDigestPrefix)) {
    absl::string_view hex = sel.substr(kDigestPrefix.size());
    if (hex.size() != 64 || !IsHex(hex)) {
      return BadRef(text, "sha256 needs 64 hex digits");
    }
    ref.kind = Reference::Kind::kDigest;
    ref.sha256_hex = absl::AsciiStrToLower(hex);
    return absl::OkStatus();
  }
  if (!sel.empty() && absl::ascii_isdigit(sel[0])) {
    if (sel[0] == '0' || !absl::SimpleAtoi(sel, &ref.version)) {
      return BadRef(text, "bad version number");
    }
    ref.kind = Reference::Kind::kVersion;
    return absl::OkStatus();
  }
  if (absl::Status s = ValidateAlias(sel); !s.ok()) return s;
  ref.kind = Reference::Kind::kAlias;
  ref.alias = std::string(sel);
  return absl::OkStatus();
}

}  // namespace

std::string Reference::ToString() const {
  switch (kind) {
    case Kind::kLatest:
      return name;
    case Kind::kVersion:
      return absl::StrCat(name, "@", version);
    case Kind::kAlias:
      return absl::StrCat(name, "@", alias);
    case Kind::kDigest:
      return absl::StrCat(name, "@", kDigestPrefix, sha256_hex);
  }
  return name;
}

std::string QuoteForMessage(absl::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 80) out += "...";
  return out + "\"";
}

absl::Status ValidateName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("artifact name is empty");
  if (name.size() > kMaxNameBytes)
    return BadName(name, "longer than 200 bytes");
  if (absl::StrContains(name, "..")) return BadName(name, "contains \"..\"");
  std::vector<absl::string_view> segments = absl::StrSplit(name, '/');
  if (segments.size() > kMaxSegments)
    return BadName(name, "more than 4 segments");
  for (absl::string_view seg : segments) {
    if (absl::Status s = ValidateSegment(seg, name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateAlias(absl::string_view alias) {
  bool ok = !alias.empty() && alias.size() <= kMaxSegmentBytes &&
            absl::ascii_islower(alias[0]);
  for (char c : alias) ok = ok && IsTailChar(c);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid alias ", QuoteForMessage(alias),
                     ": use 1-64 of a-z 0-9 . _ -, starting with a letter"));
  }
  if (alias == "latest") {
    return absl::InvalidArgumentError("alias \"latest\" is reserved");
  }
  return absl::OkStatus();
}

absl::StatusOr<Reference> ParseReference(absl::string_view text) {
  Reference ref;
  size_t at = text.find('@');
  ref.name = std::string(text.substr(0, at));
  if (absl::Status s = ValidateName(ref.name); !s.ok()) return s;
  if (at == absl::string_view::npos) return ref;
  if (absl::Status s = ParseSelector(text, text.substr(at + 1), ref); !s.ok()) {
    return s;
  }
  return ref;
}

std::string DefaultDestination(const Reference& ref) {
  size_t slash = ref.name.rfind('/');
  absl::string_view last = ref.name;
  if (slash != std::string::npos) last.remove_prefix(slash + 1);
  return absl::StrCat("./", last);
}

}  // namespace mvclient
