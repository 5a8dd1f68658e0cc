#include "audit/audit_export.h"

#include <sodium.h>

#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "audit/chain_check.h"
#include "common/bytes.h"

namespace mv {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kRecordFields = 19;
constexpr size_t kCheckpointFields = 6;

std::string Hex(std::string_view bin) {
  std::string out(bin.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), AsBytes(bin).data(), bin.size());
  out.pop_back();
  return out;
}

// Collects the first problem; every getter returns a harmless default after.
class Fields {
 public:
  explicit Fields(const Json& j) : j_(j) {}
  const Json* Get(const char* name) {
    auto it = j_.find(name);
    if (it == j_.end()) return Fail(name, "is missing"), nullptr;
    return &*it;
  }
  uint64_t U64(const char* name,
               uint64_t max = std::numeric_limits<uint64_t>::max()) {
    const Json* v = Get(name);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned())
      return Fail(name, "is not a non-negative integer"), 0;
    const uint64_t x = v->get<uint64_t>();
    if (x > max) return Fail(name, "is out of range"), 0;
    return x;
  }
  int64_t I64(const char* name) {
    const Json* v = Get(name);
    if (v == nullptr) return 0;
    if (v->is_number_unsigned()) {
      const uint64_t x = v->get<uint64_t>();
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Fail(name, "is out of range"), 0;
      }
      return static_cast<int64_t>(x);
    }
    if (!v->is_number_integer()) return Fail(name, "is not an integer"), 0;
    return v->get<int64_t>();
  }
  std::string Str(const char* name) {
    const Json* v = Get(name);
    if (v == nullptr) return "";
    if (!v->is_string()) return Fail(name, "is not a string"), "";
    std::string s = v->get<std::string>();
    if (s.size() > kMaxFieldSize || !IsValidUtf8(s))
      return Fail(name, "is too long or not UTF-8"), "";
    return s;
  }
  // Exactly `size` bytes as lowercase hex.
  std::string HexBytes(const char* name, size_t size) {
    const std::string s = Str(name);
    if (!error_.empty()) return "";
    std::string bin(size, '\0');
    size_t len = 0;
    const char* end = nullptr;
    if (s.size() != size * 2 ||
        sodium_hex2bin(reinterpret_cast<uint8_t*>(bin.data()), size, s.data(),
                       s.size(), nullptr, &len, &end) != 0 ||
        len != size || Hex(bin) != s) {
      return Fail(name,
                  absl::StrCat("is not ", size * 2, " lowercase hex digits")),
             "";
    }
    return bin;
  }
  void Fail(std::string_view name, std::string_view why) {
    if (error_.empty())
      error_ =
          absl::StrCat("field \"", std::string(name), "\" ", std::string(why));
  }
  const std::string& error() const { return error_; }

 private:
  const Json& j_;
  std::string error_;
};

absl::StatusOr<ExportLine> ParseRecord(const Json& j) {
  Fields f(j);
  ExportLine line;
  line.is_record = true;
  AuditRecord& r = line.record;
  const uint64_t v = f.U64("v", kAuditDeliveryLayoutVersion);
  if (v != kAuditLayoutVersion && v != kAuditDeliveryLayoutVersion)
    f.Fail("v", "is not 1 or 2");
  r.sequence = f.U64("sequence");
  r.time_unix_ms = f.I64("time_unix_ms");
  r.principal = f.Str("principal");
  r.token_accessor = f.Str("token_accessor");
  r.peer = f.Str("peer");
  r.tls_identity = f.Str("tls_identity");
  r.method = f.Str("method");
  r.resource = f.Str("resource");
  r.action = f.Str("action");
  const std::optional<AuditDecision> d = ParseDecision(f.Str("decision"));
  if (!d) f.Fail("decision", "is not allowed|denied|unauthenticated|failed");
  r.decision = d.value_or(AuditDecision::kFailed);
  r.status_code = static_cast<uint32_t>(f.U64("status_code", 16));
  r.bytes = f.U64("bytes");
  r.request_id = f.Str("request_id");
  const std::string id = f.HexBytes("download_id", 8);
  r.download_id = id.size() == 8 ? GetBigEndian64(AsBytes(id).data()) : 0;
  r.reason = f.Str("reason");
  // Layout 2's fields are present exactly when non-empty (and then "v" is 2).
  size_t optional = 0;
  for (auto [name, field] :
       {std::pair{"delivery", &r.delivery},
        std::pair{"delivered_sha256", &r.delivered_sha256}}) {
    if (!j.contains(name)) continue;
    ++optional;
    *field = f.Str(name);
    if (field->empty()) f.Fail(name, "is empty (omit it instead)");
  }
  if (f.error().empty() && AuditLayoutOf(r) != v) {
    f.Fail("v", absl::StrCat("is ", v, " but the record is layout ",
                             AuditLayoutOf(r)));
  }
  if (f.error().empty()) {
    if (absl::Status s = IsCanonical(r); !s.ok())
      f.Fail("record", std::string(s.message()));
  }
  line.prev = f.HexBytes("prev", kAuditHashSize);
  line.hash = f.HexBytes("hash", kAuditHashSize);
  if (f.error().empty() && j.size() != kRecordFields + optional)
    f.Fail("record", "has unknown fields");
  if (!f.error().empty()) return absl::DataLossError(f.error());
  return line;
}

absl::StatusOr<ExportLine> ParseCheckpoint(const Json& j, bool export_end) {
  Fields f(j);
  ExportLine line;
  line.is_export_end = export_end;
  if (export_end) line.from = f.U64("from");
  f.U64("v", kCheckpointLayoutVersion) == kCheckpointLayoutVersion
      ? void()
      : f.Fail("v", "is not 1");
  line.checkpoint.sequence = f.U64("sequence");
  line.checkpoint.head = f.HexBytes("head", kAuditHashSize);
  line.checkpoint.time_unix_ms = f.I64("time_unix_ms");
  line.signature = f.HexBytes("signature", kSignatureSize);
  if (f.error().empty() && j.size() != kCheckpointFields + (export_end ? 1 : 0))
    f.Fail(export_end ? "export_end" : "checkpoint", "has unknown fields");
  if (!f.error().empty()) return absl::DataLossError(f.error());
  return line;
}

}  // namespace

std::string RecordToJsonLine(const AuditRecord& r, std::string_view prev,
                             std::string_view hash) {
  Json j;
  j["type"] = "record";
  j["v"] = AuditLayoutOf(r);
  j["sequence"] = r.sequence;
  j["time_unix_ms"] = r.time_unix_ms;
  j["principal"] = r.principal;
  j["token_accessor"] = r.token_accessor;
  j["peer"] = r.peer;
  j["tls_identity"] = r.tls_identity;
  j["method"] = r.method;
  j["resource"] = r.resource;
  j["action"] = r.action;
  j["decision"] = std::string(DecisionName(r.decision));
  j["status_code"] = r.status_code;
  j["bytes"] = r.bytes;
  j["request_id"] = r.request_id;
  j["download_id"] = DownloadIdHex(r.download_id);
  j["reason"] = r.reason;
  if (!r.delivery.empty()) j["delivery"] = r.delivery;
  if (!r.delivered_sha256.empty()) j["delivered_sha256"] = r.delivered_sha256;
  j["prev"] = Hex(prev);
  j["hash"] = Hex(hash);
  // Replace, not throw, should a non-canonical record slip through: the
  // verifier then reports its hash mismatch.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string CheckpointToJsonLine(const Checkpoint& c,
                                 std::string_view signature) {
  Json j;
  j["type"] = "checkpoint";
  j["v"] = kCheckpointLayoutVersion;
  j["sequence"] = c.sequence;
  j["head"] = Hex(c.head);
  j["time_unix_ms"] = c.time_unix_ms;
  j["signature"] = Hex(signature);
  return j.dump();
}

std::string ExportEndToJsonLine(const ExportEnd& e,
                                std::string_view signature) {
  Json j;
  j["type"] = "export_end";
  j["v"] = kCheckpointLayoutVersion;
  j["from"] = e.from;
  j["sequence"] = e.through.sequence;
  j["head"] = Hex(e.through.head);
  j["time_unix_ms"] = e.through.time_unix_ms;
  j["signature"] = Hex(signature);
  return j.dump();
}

absl::StatusOr<ExportLine> ParseExportLine(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return absl::DataLossError("not a JSON object");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string())
    return absl::DataLossError("no \"type\" field");
  try {
    if (*type == "record") return ParseRecord(j);
    if (*type == "checkpoint") return ParseCheckpoint(j, false);
    if (*type == "export_end") return ParseCheckpoint(j, true);
  } catch (const Json::exception&) {
    return absl::DataLossError("malformed line");
  }
  return absl::DataLossError("unknown \"type\"");
}

std::string VerifyResult::Summary() const {
  const auto utc = [](int64_t ms) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                            absl::UTCTimeZone());
  };
  if (ok) {
    std::string s = absl::StrCat("ok: ", records, " records, ", checkpoints,
                                 " checkpoints");
    if (unsigned_tail > 0) {
      absl::StrAppend(&s, " (", unsigned_tail,
                      " records after the last checkpoint are not yet signed)");
    }
    absl::StrAppend(&s, "; sequences ", first_sequence, "-", last_sequence,
                    ", ", utc(first_time_unix_ms), " to ",
                    utc(last_time_unix_ms));
    if (exported_unix_ms != 0)
      absl::StrAppend(&s, "; exported ", utc(exported_unix_ms));
    if (witness_checkpoints > 0) {
      absl::StrAppend(&s, "; witness: ", witness_checkpoints,
                      " checkpoints agree");
    }
    if (witness_beyond != 0) {
      absl::StrAppend(&s, " (the witness goes on to sequence ", witness_beyond,
                      ": later records are not in this export)");
    }
    return s;
  }
  if (bad_line == 0) {  // a finding about the export as a whole
    return bad_sequence == 0
               ? reason
               : absl::StrCat("sequence ", bad_sequence, ": ", reason);
  }
  std::string s = absl::StrCat("line ", bad_line);
  if (bad_sequence != 0) absl::StrAppend(&s, " (sequence ", bad_sequence, ")");
  return absl::StrCat(s, ": ", reason);
}

VerifyResult VerifyExport(std::string_view text, std::string_view public_key,
                          const VerifyOptions& options) {
  VerifyResult result;
  ChainCheck chain(public_key);
  std::map<uint64_t, size_t> record_lines;  // sequence → its line
  size_t line_no = 0, end_line = 0;
  auto fail = [&](uint64_t sequence, std::string reason) {
    result.bad_line = line_no;
    result.bad_sequence = sequence;
    result.reason = std::move(reason);
    return result;
  };
  if (public_key.size() != kPublicKeySize)
    return fail(0, "the public key must be 32 bytes");
  if (text.ends_with('\n')) text.remove_suffix(1);
  while (!text.empty() || line_no == 0) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (raw.empty() && line_no == 1 && text.empty())
      return fail(0, "the export is empty");
    absl::StatusOr<ExportLine> line = ParseExportLine(raw);
    if (!line.ok())
      return fail(0, absl::StrCat("malformed line: ",
                                  std::string(line.status().message())));
    if (line->is_record) {
      const AuditRecord& r = line->record;
      if (!chain.started()) {
        if (options.from_genesis &&
            (r.sequence != 1 || line->prev != GenesisHash())) {
          return fail(r.sequence,
                      "the export does not start at the genesis record");
        }
        if (r.sequence == 0) return fail(0, "record sequence 0 is invalid");
      }
      switch (chain.AddRecord(r, line->prev, line->hash)) {
        case ChainCheck::kOk:
          break;
        case ChainCheck::kOutOfPlace:
          return fail(
              r.sequence,
              absl::StrCat("expected sequence ", chain.next_sequence(),
                           " (a record was deleted, inserted or reordered)"));
        case ChainCheck::kPrevMismatch:
          return fail(r.sequence,
                      "\"prev\" is not the previous record's hash (a record "
                      "was deleted, inserted or reordered)");
        default:
          return fail(
              r.sequence,
              "the record does not match its hash (a field was edited)");
      }
      if (result.records == 0) {
        result.first_sequence = r.sequence;
        result.first_time_unix_ms = r.time_unix_ms;
        result.first_prev = line->prev;
      }
      result.last_sequence = r.sequence;
      result.last_time_unix_ms = r.time_unix_ms;
      result.last_hash = line->hash;
      record_lines[r.sequence] = line_no;
      ++result.records;
      continue;
    }
    if (end_line != 0) return fail(0, "a line follows the export's signed end");
    if (line->is_export_end) {
      const ExportEnd end{line->from, line->checkpoint};
      if (!VerifyExportEnd(end, line->signature, public_key).ok()) {
        return fail(
            end.through.sequence,
            "bad export end signature (forged or edited, or wrong key)");
      }
      if (result.records == 0 || end.from != result.first_sequence ||
          end.through.sequence != result.last_sequence ||
          end.through.head != chain.head()) {
        return fail(
            end.through.sequence,
            absl::StrCat("the signed end names records ", end.from, "-",
                         end.through.sequence, " but the export holds ",
                         result.first_sequence, "-", result.last_sequence,
                         " (records cut from its start or end)"));
      }
      end_line = line_no;
      result.exported_unix_ms = end.through.time_unix_ms;
      continue;
    }
    const Checkpoint& c = line->checkpoint;
    const uint64_t last_checkpoint = chain.last_checkpoint();
    switch (chain.AddCheckpoint(c, line->signature)) {
      case ChainCheck::kOk:
        break;
      case ChainCheck::kBadSignature:
        return fail(c.sequence,
                    "bad checkpoint signature (forged or edited checkpoint, "
                    "or wrong key)");
      case ChainCheck::kCheckpointOrder:
        return fail(c.sequence, "checkpoints out of order");
      case ChainCheck::kNotCovered:
        return fail(c.sequence,
                    "the checkpoint covers a record that is not in the export "
                    "(records deleted or reordered)");
      default: {
        // Re-hashing hides which record changed; the first one the signature
        // no longer vouches for is the one after the last good checkpoint.
        const uint64_t first = chain.checkpoints() > 0
                                   ? last_checkpoint + 1
                                   : record_lines.begin()->first;
        const size_t checkpoint_line = line_no;
        line_no = record_lines[first];
        return fail(
            first,
            absl::StrCat("checkpoint head does not match the recomputed chain: "
                         "a record from sequence ",
                         first, " to ", c.sequence,
                         " was edited and the chain re-hashed (the checkpoint "
                         "on line ",
                         checkpoint_line, " no longer vouches for them)"));
      }
    }
    ++result.checkpoints;
  }
  if (result.records == 0) return fail(0, "the export holds no records");
  // The signed end covers every record up to it.
  result.unsigned_tail =
      end_line != 0 ? 0
                    : chain.next_sequence() - 1 -
                          (result.checkpoints ? chain.last_checkpoint()
                                              : result.first_sequence - 1);
  if (options.require_export_end && end_line == 0) {
    line_no = 0;
    return fail(0,
                "the export has no signed end (it was cut, or made by a "
                "server from before signed export ends: export again)");
  }
  if (options.require_signed_tail && result.unsigned_tail > 0) {
    const uint64_t first = chain.next_sequence() - result.unsigned_tail;
    line_no = record_lines[first];
    return fail(
        first,
        "no checkpoint signs this record or any after it (the export was "
        "truncated: a complete export ends with a checkpoint)");
  }
  if (options.witness != nullptr) {
    line_no = 0;  // the findings concern the export as a whole
    for (const Checkpoint& w : *options.witness) {
      if (w.sequence < result.first_sequence) continue;
      if (w.sequence > result.last_sequence) {
        result.witness_beyond = options.witness->back().sequence;
        break;
      }
      const std::string* hash = chain.HashAt(w.sequence);
      if (hash == nullptr || *hash != w.head) {
        return fail(w.sequence,
                    "the export's chain disagrees with the witness's "
                    "checkpoint (a different history)");
      }
      ++result.witness_checkpoints;
    }
  }
  result.ok = true;
  return result;
}

}  // namespace mv
