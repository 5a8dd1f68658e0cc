#include "vault/records.h"

#include <algorithm>

#include "common/bytes.h"
#include "storage/record_codec.h"

namespace mv {
namespace {

constexpr uint8_t kLayoutV1 = 1;

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

absl::Status CheckLayout(Decoder& d) {
  uint8_t layout = 0;
  d.U8(&layout);
  if (d.ok() && layout > kLayoutV1) {
    return absl::FailedPreconditionError("record written by a newer modelvaultd");
  }
  if (d.ok() && layout != kLayoutV1) return absl::DataLossError("corrupt record (layout 0)");
  return absl::OkStatus();
}

}  // namespace

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kSafetensors: return "safetensors";
    case Format::kGguf: return "gguf";
    case Format::kBlob: break;
  }
  return "blob";
}

uint32_t VersionRecord::ChunkLength(uint64_t index) const {
  if (index + 1 < chunk_count) return chunk_size;
  return static_cast<uint32_t>(size - (chunk_count - 1) * chunk_size);
}

std::string EncodeVersion(const VersionRecord& r) {
  Encoder e;
  e.U8(kLayoutV1).Bytes(r.name).U64(r.number).U64(r.version_id).U64(r.size)
      .Bytes(r.sha256).U8(static_cast<uint8_t>(r.format));
  EncodeMap(e, r.labels);
  e.Bytes(r.created_by).U64(static_cast<uint64_t>(r.created_at_unix_ms))
      .U32(r.chunk_size).U64(r.chunk_count).U32(r.key_version).Bytes(r.wrapped_dek);
  return e.Finish();
}

absl::StatusOr<VersionRecord> DecodeVersion(std::string_view in) {
  VersionRecord r;
  Decoder d(in, "version");
  if (absl::Status s = CheckLayout(d); !s.ok()) return s;
  uint8_t format = 0;
  uint64_t created = 0;
  d.Bytes(&r.name).U64(&r.number).U64(&r.version_id).U64(&r.size).Bytes(&r.sha256).U8(&format);
  DecodeMap(d, &r.labels);
  d.Bytes(&r.created_by).U64(&created).U32(&r.chunk_size).U64(&r.chunk_count)
      .U32(&r.key_version).Bytes(&r.wrapped_dek);
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  // Every chunk is full but the last, which is non-empty unless the whole
  // artifact is (one empty chunk). Division, not multiplication: a corrupt
  // count must not overflow its way past the check.
  bool sane = format >= 1 && format <= 3 && r.sha256.size() == 32 && r.chunk_size > 0 &&
              r.chunk_count == std::max<uint64_t>(1, r.size / r.chunk_size +
                                                         (r.size % r.chunk_size != 0));
  if (!sane) return absl::DataLossError("corrupt version record");
  r.format = static_cast<Format>(format);
  r.created_at_unix_ms = static_cast<int64_t>(created);
  return r;
}

std::string EncodeArtifact(const ArtifactRecord& r) {
  Encoder e;
  e.U8(kLayoutV1).U64(r.last_number).U32(static_cast<uint32_t>(r.aliases.size()));
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
  return Encoder().U8(kLayoutV1).Bytes(r.name).U64(static_cast<uint64_t>(r.last_active_unix_ms)).Finish();
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
  return Encoder().U8(kLayoutV1).Bytes(r.principal).Bytes(r.accessor)
      .U64(static_cast<uint64_t>(r.created_at_unix_ms)).Finish();
}

absl::StatusOr<TokenRecord> DecodeToken(std::string_view in) {
  TokenRecord r;
  uint64_t t = 0;
  Decoder d(in, "token");
  if (absl::Status s = CheckLayout(d); !s.ok()) return s;
  d.Bytes(&r.principal).Bytes(&r.accessor).U64(&t);
  if (absl::Status s = d.Finish(); !s.ok()) return s;
  r.created_at_unix_ms = static_cast<int64_t>(t);
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

}  // namespace mv
