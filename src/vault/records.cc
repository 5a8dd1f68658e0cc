#include "vault/records.h"

#include <algorithm>

#include "common/bytes.h"
#include "storage/record_codec.h"

namespace mv {
namespace {

constexpr uint8_t kLayoutV1 = 1;
constexpr uint8_t kTokenLayoutV2 = 2;
constexpr uint8_t kVersionLayoutV2 = 2;

void EncodeMap(Encoder& e, const std::map<std::string, std::string>& m) {
  e.U32(static_cast<uint32_t>(m.size()));
  for (const auto& [k, v] : m) e.Bytes(k).Bytes(v);
}

void DecodeMap(Decoder& d, std::map<std::string, std::string>* m) {
  uint32_t n = 0;
  d.U32(&n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    std::string k, v;
    d.Bytes(&k).Bytes(&v);
    (*m)[k] = v;
  }
}

void EncodeList(Encoder& e, const std::vector<std::string>& list) {
  e.U32(static_cast<uint32_t>(list.size()));
  for (const std::string& s : list) e.Bytes(s);
}

void DecodeList(Decoder& d, std::vector<std::string>* list) {
  uint32_t n = 0;
  d.U32(&n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) d.Bytes(&list->emplace_back());
}

// Reads the layout byte: OK with *layout in [1, newest], FAILED_PRECONDITION
// for a newer layout, DATA_LOSS for 0 (a decode error follows for a short
// input, whose layout stays 0).
absl::Status CheckLayout(Decoder& d, uint8_t newest = kLayoutV1,
                         uint8_t* layout = nullptr) {
  uint8_t got = 0;
  d.U8(&got);
  if (layout != nullptr) *layout = got;
  if (d.ok() && got > newest) {
    return absl::FailedPreconditionError(
        "record written by a newer modelvaultd");
  }
  if (d.ok() && got == 0)
    return absl::DataLossError("corrupt record (layout 0)");
  return absl::OkStatus();
}

}  // namespace

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kSafetensors:
      return "safetensors";
    case Format::kGguf:
      return "gguf";
    case Format::kBlob:
      break;
  }
  return "blob";
}

uint32_t VersionRecord::ChunkLength(uint64_t index) const {
  if (index + 1 < chunk_count) return chunk_size;
  return static_cast<uint32_t>(size - (chunk_count - 1) * chunk_size);
}

std::string EncodeVersion(const VersionRecord& r) {
  Encoder e;
  e.U8(kVersionLayoutV2)
      .Bytes(r.name)
      .U64(r.number)
      .U64(r.version_id)
      .U64(r.size)
      .Bytes(r.sha256)
      .U8(static_cast<uint8_t>(r.format));
  EncodeMap(e, r.labels);
  e.Bytes(r.created_by)
      .U64(static_cast<uint64_t>(r.created_at_unix_ms))
      .U32(r.chunk_size)
      .U64(r.chunk_count)
      .U32(r.key_version)
      .Bytes(r.wrapped_dek);
  e.U32(r.fingerprint.tardos_positions)
      .U32(r.fingerprint.reference_positions)
      .U32(r.fingerprint.tensors)
      .Bytes(r.fingerprint.unmarked_reason);
  return e.Finish();
}

absl::StatusOr<VersionRecord> DecodeVersion(std::string_view in) {
  VersionRecord r;
  Decoder d(in, "version");
  uint8_t layout = 0;
  if (absl::Status s = CheckLayout(d, kVersionLayoutV2, &layout); !s.ok())
    return s;
  uint8_t format = 0;
  uint64_t created = 0;
  d.Bytes(&r.name)
      .U64(&r.number)
      .U64(&r.version_id)
      .U64(&r.size)
      .Bytes(&r.sha256)
      .U8(&format);
  DecodeMap(d, &r.labels);
  d.Bytes(&r.created_by)
      .U64(&created)
      .U32(&r.chunk_size)
      .U64(&r.chunk_count)
      .U32(&r.key_version)
      .Bytes(&r.wrapped_dek);
  if (layout == kVersionLayoutV2) {
    d.U32(&r.fingerprint.tardos_positions)
        .U32(&r.fingerprint.reference_positions)
        .U32(&r.fingerprint.tensors)
        .Bytes(&r.fingerprint.unmarked_reason);
  } else {
    r.fingerprint.unmarked_reason = kUnmarkedBeforeTracing;
  }
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  // Every chunk is full but the last, which is non-empty unless the whole
  // artifact is (one empty chunk). Division, not multiplication: a corrupt
  // count must not overflow its way past the check.
  bool sane =
      format >= 1 && format <= 3 && r.sha256.size() == 32 && r.chunk_size > 0 &&
      r.chunk_count == std::max<uint64_t>(1, r.size / r.chunk_size +
                                                 (r.size % r.chunk_size != 0));
  // Only model formats are marked, and on some tensor.
  sane = sane && (!r.fingerprint.markable() ||
                  (format != 1 && r.fingerprint.tensors > 0));
  if (!sane) return absl::DataLossError("corrupt version record");
  r.format = static_cast<Format>(format);
  r.created_at_unix_ms = static_cast<int64_t>(created);
  return r;
}

std::string EncodeArtifact(const ArtifactRecord& r) {
  Encoder e;
  e.U8(kLayoutV1)
      .U64(r.last_number)
      .U32(static_cast<uint32_t>(r.aliases.size()));
  for (const auto& [alias, number] : r.aliases) e.Bytes(alias).U64(number);
  return e.Finish();
}

absl::StatusOr<ArtifactRecord> DecodeArtifact(std::string_view in) {
  ArtifactRecord r;
  Decoder d(in, "artifact");
  if (absl::Status s = CheckLayout(d); !s.ok()) return s;
  uint32_t n = 0;
  d.U64(&r.last_number).U32(&n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) {
    std::string alias;
    uint64_t number = 0;
    d.Bytes(&alias).U64(&number);
    r.aliases[alias] = number;
  }
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  return r;
}

std::string EncodePending(const PendingRecord& r) {
  return Encoder()
      .U8(kLayoutV1)
      .Bytes(r.name)
      .U64(static_cast<uint64_t>(r.last_active_unix_ms))
      .Finish();
}

absl::StatusOr<PendingRecord> DecodePending(std::string_view in) {
  PendingRecord r;
  uint64_t t = 0;
  Decoder d(in, "pending upload");
  if (absl::Status s = CheckLayout(d); !s.ok()) return s;
  d.Bytes(&r.name).U64(&t);
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  r.last_active_unix_ms = static_cast<int64_t>(t);
  return r;
}

std::string EncodeToken(const TokenRecord& r) {
  Encoder e;
  e.U8(kTokenLayoutV2)
      .Bytes(r.principal)
      .Bytes(r.accessor)
      .U64(static_cast<uint64_t>(r.created_at_unix_ms));
  EncodeList(e, r.policies);
  e.U64(static_cast<uint64_t>(r.expires_at_unix_ms))
      .U64(static_cast<uint64_t>(r.uses_left));
  return e.Finish();
}

absl::StatusOr<TokenRecord> DecodeToken(std::string_view in) {
  TokenRecord r;
  uint64_t created = 0, expires = 0, uses = static_cast<uint64_t>(-1);
  uint8_t layout = 0;
  Decoder d(in, "token");
  if (absl::Status s = CheckLayout(d, kTokenLayoutV2, &layout); !s.ok())
    return s;
  d.Bytes(&r.principal).Bytes(&r.accessor).U64(&created);
  if (layout == kTokenLayoutV2) {
    DecodeList(d, &r.policies);
    d.U64(&expires).U64(&uses);
  }
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  r.created_at_unix_ms = static_cast<int64_t>(created);
  r.expires_at_unix_ms = static_cast<int64_t>(expires);
  r.uses_left = static_cast<int64_t>(uses);
  if (r.uses_left < -1 || r.expires_at_unix_ms < 0) {
    return absl::DataLossError("corrupt token record");
  }
  return r;
}

std::string EncodePrincipal(const PrincipalRecord& r) {
  Encoder e;
  e.U8(kLayoutV1).U8(static_cast<uint8_t>(r.kind));
  EncodeList(e, r.policies);
  e.Bytes(r.cert_identity).U64(static_cast<uint64_t>(r.created_at_unix_ms));
  return e.Finish();
}

absl::StatusOr<PrincipalRecord> DecodePrincipal(std::string_view in) {
  PrincipalRecord r;
  uint8_t kind = 0;
  uint64_t created = 0;
  Decoder d(in, "principal");
  if (absl::Status s = CheckLayout(d); !s.ok()) return s;
  d.U8(&kind);
  DecodeList(d, &r.policies);
  d.Bytes(&r.cert_identity).U64(&created);
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  if (kind != static_cast<uint8_t>(PrincipalKind::kUser) &&
      kind != static_cast<uint8_t>(PrincipalKind::kService)) {
    return absl::DataLossError("corrupt principal record");
  }
  r.kind = static_cast<PrincipalKind>(kind);
  r.created_at_unix_ms = static_cast<int64_t>(created);
  return r;
}

std::string EncodeBudget(const BudgetRecord& r) {
  return Encoder().U8(kLayoutV1).U64(r.downloads).U64(r.bytes).Finish();
}

absl::StatusOr<BudgetRecord> DecodeBudget(std::string_view in) {
  BudgetRecord r;
  Decoder d(in, "budget");
  if (absl::Status s = CheckLayout(d); !s.ok()) return s;
  d.U64(&r.downloads).U64(&r.bytes);
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  return r;
}

std::string VersionKeyPrefix(std::string_view name) {
  std::string key(name);
  key.push_back('\0');
  return key;
}

std::string VersionKey(std::string_view name, uint64_t number) {
  std::string key = VersionKeyPrefix(name);
  AppendBigEndian64(&key, number);
  return key;
}

std::string ChunkKey(uint64_t version_id, uint64_t index) {
  std::string key;
  AppendBigEndian64(&key, version_id);
  AppendBigEndian64(&key, index);
  return key;
}

std::string IdKey(uint64_t version_id) {
  std::string key;
  AppendBigEndian64(&key, version_id);
  return key;
}

std::string BudgetKey(std::string_view principal, std::string_view policy,
                      uint32_t rule, uint32_t day) {
  std::string key(principal);
  key.push_back('\0');
  key.append(policy);
  key.push_back('\0');
  uint8_t buf[8];
  PutBigEndian32(buf, rule);
  PutBigEndian32(buf + 4, day);
  key.append(reinterpret_cast<const char*>(buf), sizeof buf);
  return key;
}

}  // namespace mv
