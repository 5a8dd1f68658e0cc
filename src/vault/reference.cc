#include "vault/reference.h"

#include <charconv>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "crypto/sha256.h"

namespace mv {
namespace {

constexpr size_t kMaxNameBytes = 200;
constexpr size_t kMaxSegments = 4;
constexpr size_t kMaxSegmentBytes = 64;

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsTailChar(char c) {
  return IsLowerAlnum(c) || c == '.' || c == '_' || c == '-';
}

// Quotes user input in error messages without letting control bytes through.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > 80) out += "...";
  return out + "\"";
}

absl::Status ValidateSegment(std::string_view seg, std::string_view name) {
  if (seg.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid artifact name ", Quote(name), ": empty segment"));
  }
  if (seg.size() > kMaxSegmentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid artifact name ", Quote(name),
                     ": segment longer than 64 bytes"));
  }
  for (char c : seg) {
    if (c >= 'A' && c <= 'Z') {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid artifact name ", Quote(name), ": must be lowercase"));
    }
  }
  if (!IsLowerAlnum(seg[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid artifact name ", Quote(name),
                     ": each segment must start with a-z or 0-9"));
  }
  for (char c : seg) {
    if (!IsTailChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid artifact name ", Quote(name),
                       ": only a-z 0-9 . _ - and / are allowed"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string Reference::ToString() const {
  switch (kind) {
    case Kind::kLatest:
      return name;
    case Kind::kNumber:
      return absl::StrCat(name, "@", number);
    case Kind::kAlias:
      return absl::StrCat(name, "@", alias);
    case Kind::kDigest:
      return absl::StrCat(name, "@sha256:", ToHex(AsBytes(digest)));
  }
  return name;
}

absl::Status ValidateName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("artifact name is empty");
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid artifact name ", Quote(name), ": longer than 200 bytes"));
  }
  if (name.find("..") != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid artifact name ", Quote(name), ": contains \"..\""));
  }
  std::vector<std::string_view> segments;
  for (size_t start = 0;;) {
    size_t slash = name.find('/', start);
    segments.push_back(name.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (segments.size() > kMaxSegments) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid artifact name ", Quote(name), ": more than 4 segments"));
  }
  for (std::string_view seg : segments) {
    if (absl::Status s = ValidateSegment(seg, name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateAlias(std::string_view alias) {
  bool ok = !alias.empty() && alias.size() <= 64 && alias[0] >= 'a' &&
            alias[0] <= 'z';
  for (char c : alias) ok = ok && IsTailChar(c);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid alias ", Quote(alias),
                     ": use 1-64 of a-z 0-9 . _ -, starting with a letter"));
  }
  if (alias == "latest")
    return absl::InvalidArgumentError("alias \"latest\" is reserved");
  return absl::OkStatus();
}

absl::Status ValidateLabel(std::string_view key, std::string_view value) {
  bool ok = !key.empty() && key.size() <= 64;
  for (char c : key) ok = ok && c > 0x20 && c < 0x7f && c != '=';
  if (!ok)
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label key ", Quote(key)));
  if (value.size() > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("label ", Quote(key), ": value longer than 1024 bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Reference> ParseReference(std::string_view ref) {
  Reference out;
  size_t at = ref.find('@');
  out.name = std::string(ref.substr(0, at));
  if (absl::Status s = ValidateName(out.name); !s.ok()) return s;
  if (at == std::string_view::npos) return out;
  std::string_view selector = ref.substr(at + 1);
  if (selector == "latest") return out;
  if (selector.starts_with("sha256:")) {
    std::string_view hex = selector.substr(7);
    if (hex.size() != 64 || !FromHex(hex, &out.digest)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid reference ", Quote(ref), ": sha256 needs 64 hex digits"));
    }
    out.kind = Reference::Kind::kDigest;
    return out;
  }
  if (!selector.empty() && selector[0] >= '0' && selector[0] <= '9') {
    auto [end, ec] = std::from_chars(
        selector.data(), selector.data() + selector.size(), out.number);
    if (ec != std::errc() || end != selector.data() + selector.size() ||
        out.number == 0 || selector[0] == '0') {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid reference ", Quote(ref), ": bad version number"));
    }
    out.kind = Reference::Kind::kNumber;
    return out;
  }
  if (absl::Status s = ValidateAlias(selector); !s.ok()) return s;
  out.kind = Reference::Kind::kAlias;
  out.alias = std::string(selector);
  return out;
}

}  // namespace mv
