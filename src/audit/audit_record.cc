#include "audit/audit_record.h"

#include <sodium.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/bytes.h"

namespace mv {
namespace {

constexpr uint32_t kMaxStatusCode = 16;  // absl::StatusCode::kUnauthenticated

void AppendU32(std::string* out, uint32_t v) {
  uint8_t buf[4];
  PutBigEndian32(buf, v);
  out->append(reinterpret_cast<const char*>(buf), 4);
}
void AppendStr(std::string* out, std::string_view s) {
  AppendU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// The string fields in canonical order, with their names for errors.
template <typename Record, typename Fn>
void ForEachString(Record& r, Fn fn) {
  fn("principal", r.principal);
  fn("token_accessor", r.token_accessor);
  fn("peer", r.peer);
  fn("tls_identity", r.tls_identity);
  fn("method", r.method);
  fn("resource", r.resource);
  fn("action", r.action);
  fn("request_id", r.request_id);
  fn("reason", r.reason);
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// "" if the layout-2 fields are of their form, else the bad field's name.
const char* BadDeliveryField(const AuditRecord& r) {
  if (!r.delivery.empty() && r.delivery != "unmarked" &&
      r.delivery != "fingerprinted" && r.delivery != "exact") {
    return "delivery";
  }
  if (!r.delivered_sha256.empty() &&
      (r.delivered_sha256.size() != 64 || !IsLowerHex(r.delivered_sha256))) {
    return "delivered_sha256";
  }
  return "";
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid (overlongs,
// surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

// Reads the canonical layout; the first failure wins and names its field.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Take(size_t n, std::string_view field, std::string_view* out) {
    if (!error_.empty()) return false;
    if (in_.size() < n) {
      error_ = absl::StrCat("audit record truncated in ", std::string(field));
      return false;
    }
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  uint64_t Int(size_t width, std::string_view field) {
    std::string_view p;
    if (!Take(width, field, &p)) return 0;
    uint64_t v = 0;
    for (char c : p) v = v << 8 | static_cast<uint8_t>(c);
    return v;
  }
  std::string Str(std::string_view field) {
    const uint64_t n = Int(4, field);
    if (!error_.empty()) return "";
    if (n > kMaxFieldSize) return Fail(field, "is longer than 4096 bytes"), "";
    std::string_view p;
    if (!Take(n, field, &p)) return "";
    if (!IsValidUtf8(p)) return Fail(field, "is not valid UTF-8"), "";
    return std::string(p);
  }
  void Fail(std::string_view field, std::string_view why) {
    if (error_.empty())
      error_ = absl::StrCat("audit record ", std::string(field), " ",
                            std::string(why));
  }
  absl::Status Finish() {
    if (error_.empty() && !in_.empty())
      error_ = "audit record has trailing bytes";
    return error_.empty() ? absl::OkStatus() : absl::DataLossError(error_);
  }

 private:
  std::string_view in_;
  std::string error_;
};

}  // namespace

std::string_view DecisionName(AuditDecision d) {
  switch (d) {
    case AuditDecision::kAllowed:
      return "allowed";
    case AuditDecision::kDenied:
      return "denied";
    case AuditDecision::kUnauthenticated:
      return "unauthenticated";
    case AuditDecision::kFailed:
      return "failed";
  }
  return "unknown";
}

std::optional<AuditDecision> ParseDecision(std::string_view name) {
  for (AuditDecision d :
       {AuditDecision::kAllowed, AuditDecision::kDenied,
        AuditDecision::kUnauthenticated, AuditDecision::kFailed}) {
    if (DecisionName(d) == name) return d;
  }
  return std::nullopt;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

absl::Status IsCanonical(const AuditRecord& r) {
  absl::Status status;
  ForEachString(r, [&](std::string_view field, const std::string& v) {
    if (!status.ok()) return;
    if (v.size() > kMaxFieldSize || !IsValidUtf8(v)) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "audit field ", std::string(field), " is too long or not UTF-8"));
    }
  });
  if (!status.ok()) return status;
  if (!ParseDecision(DecisionName(r.decision)))
    return absl::InvalidArgumentError("bad decision");
  if (r.status_code > kMaxStatusCode)
    return absl::InvalidArgumentError("bad status code");
  if (const std::string bad = BadDeliveryField(r); !bad.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit field ", bad, " is not of its form"));
  }
  return absl::OkStatus();
}

uint8_t AuditLayoutOf(const AuditRecord& r) {
  return r.delivery.empty() && r.delivered_sha256.empty()
             ? kAuditLayoutVersion
             : kAuditDeliveryLayoutVersion;
}

void SanitizeAuditRecord(AuditRecord* r) {
  ForEachString(*r, [](std::string_view, std::string& v) {
    std::string out;
    for (size_t i = 0; i < v.size();) {
      const size_t n = Utf8SequenceLength(v, i);
      const std::string_view piece =
          n ? std::string_view(v).substr(i, n) : "\xef\xbf\xbd";
      if (out.size() + piece.size() > kMaxFieldSize) break;
      out.append(piece);
      i += n ? n : 1;
    }
    v = std::move(out);
  });
  if (!ParseDecision(DecisionName(r->decision)))
    r->decision = AuditDecision::kFailed;
  if (r->status_code > kMaxStatusCode) r->status_code = 2;  // UNKNOWN
  // Set by the server only; a malformed value is dropped, not mangled.
  if (std::string_view(BadDeliveryField(*r)) == "delivery") r->delivery.clear();
  if (std::string_view(BadDeliveryField(*r)) == "delivered_sha256") {
    r->delivered_sha256.clear();
  }
}

std::string DownloadIdHex(uint64_t id) { return absl::StrFormat("%016x", id); }

std::string EncodeAuditRecord(const AuditRecord& r) {
  std::string out;
  const uint8_t layout = AuditLayoutOf(r);
  out.push_back(static_cast<char>(layout));
  AppendBigEndian64(&out, r.sequence);
  AppendBigEndian64(&out, static_cast<uint64_t>(r.time_unix_ms));
  out.push_back(static_cast<char>(r.decision));
  AppendU32(&out, r.status_code);
  AppendBigEndian64(&out, r.bytes);
  AppendBigEndian64(&out, r.download_id);
  ForEachString(
      r, [&](std::string_view, const std::string& v) { AppendStr(&out, v); });
  if (layout == kAuditDeliveryLayoutVersion) {
    AppendStr(&out, r.delivery);
    AppendStr(&out, r.delivered_sha256);
  }
  return out;
}

absl::StatusOr<AuditRecord> DecodeAuditRecord(std::string_view in) {
  if (in.empty()) return absl::DataLossError("audit record is empty");
  const uint8_t layout = static_cast<uint8_t>(in[0]);
  if (layout > kAuditDeliveryLayoutVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit record layout ", layout, " is newer than this binary (",
        kAuditDeliveryLayoutVersion, ")"));
  }
  if (layout == 0)
    return absl::DataLossError("audit record layout 0 is invalid");
  Reader reader(in.substr(1));
  AuditRecord r;
  r.sequence = reader.Int(8, "sequence");
  r.time_unix_ms = static_cast<int64_t>(reader.Int(8, "time"));
  const uint64_t decision = reader.Int(1, "decision");
  r.status_code = static_cast<uint32_t>(reader.Int(4, "status_code"));
  r.bytes = reader.Int(8, "bytes");
  r.download_id = reader.Int(8, "download_id");
  ForEachString(r, [&](std::string_view field, std::string& v) {
    v = reader.Str(field);
  });
  if (layout == kAuditDeliveryLayoutVersion) {
    r.delivery = reader.Str("delivery");
    r.delivered_sha256 = reader.Str("delivered_sha256");
    if (r.delivery.empty() && r.delivered_sha256.empty()) {
      reader.Fail("layout",
                  "2 has no delivery fields (it must be written as layout 1)");
    }
    if (const std::string bad = BadDeliveryField(r); !bad.empty()) {
      reader.Fail(bad, "is not of its form");
    }
  }
  if (!ParseDecision(DecisionName(static_cast<AuditDecision>(decision)))) {
    reader.Fail("decision", "is unknown");
  }
  r.decision = static_cast<AuditDecision>(decision);
  if (r.status_code > kMaxStatusCode)
    reader.Fail("status_code", "is out of range");
  if (absl::Status s = reader.Finish(); !s.ok()) return s;
  return r;
}

std::string GenesisHash() { return std::string(kAuditHashSize, '\0'); }

std::string ChainHash(std::string_view prev, std::string_view canonical) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kAuditHashSize);
  crypto_generichash_update(&state, AsBytes(prev).data(), prev.size());
  crypto_generichash_update(&state, AsBytes(canonical).data(),
                            canonical.size());
  std::array<uint8_t, kAuditHashSize> out;
  crypto_generichash_final(&state, out.data(), out.size());
  return std::string(AsChars(out));
}

}  // namespace mv
