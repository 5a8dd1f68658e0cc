// The records the vault keeps in LMDB, their keys and their encodings.
//
// Databases and keys (all integers in keys are big-endian so byte order is
// numeric order):
//   meta       "format" → u64 BE ; "kcv" → 32-byte key check value ;
//              "next_version_id" → u64 ; "token_key" → sealed key
//   versions   name ‖ 0x00 ‖ number u64          → VersionRecord
//   artifacts  name                              → ArtifactRecord
//   chunks     version_id u64 ‖ index u64        → Aead-sealed chunk (crypto/chunk_cipher.h)
//   pending    version_id u64                    → PendingRecord
//   tokens     keyed BLAKE2b-256(token)          → TokenRecord
//
// Each encoded record starts with a u8 layout version (1); fields follow in
// the order listed in Encode*(). Secrets are never stored in clear: the DEK
// is wrapped by the KEK, tokens only as keyed hashes.
#ifndef MODELVAULT_VAULT_RECORDS_H_
#define MODELVAULT_VAULT_RECORDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mv {

enum class Format : uint8_t { kBlob = 1, kSafetensors = 2, kGguf = 3 };
std::string_view FormatName(Format f);

struct VersionRecord {
  std::string name;
  uint64_t number = 0;
  uint64_t version_id = 0;  // global, never reused; keys chunks and AD
  uint64_t size = 0;
  std::string sha256;  // 32 raw bytes
  Format format = Format::kBlob;
  std::map<std::string, std::string> labels;
  std::string created_by;
  int64_t created_at_unix_ms = 0;
  uint32_t chunk_size = 0;
  uint64_t chunk_count = 0;
  uint32_t key_version = 1;
  std::string wrapped_dek;  // Aead(KEK).Seal(DEK, ad = version_id ‖ key_version)

  // The byte length of chunk `index` (every chunk is full but the last).
  uint32_t ChunkLength(uint64_t index) const;
};

struct ArtifactRecord {
  uint64_t last_number = 0;  // numbers are never reused, even after rm
  std::map<std::string, uint64_t> aliases;
};

// An upload in flight, or chunks to free. A record whose last activity is
// the epoch (kDoomed) is being freed: no writer may add to or publish it.
struct PendingRecord {
  static constexpr int64_t kDoomed = 0;
  std::string name;
  int64_t last_active_unix_ms = kDoomed;
  bool doomed() const { return last_active_unix_ms == kDoomed; }
};

struct TokenRecord {
  std::string principal;
  std::string accessor;  // public id, safe to log
  int64_t created_at_unix_ms = 0;
};

std::string EncodeVersion(const VersionRecord& r);
absl::StatusOr<VersionRecord> DecodeVersion(std::string_view in);
std::string EncodeArtifact(const ArtifactRecord& r);
absl::StatusOr<ArtifactRecord> DecodeArtifact(std::string_view in);
std::string EncodePending(const PendingRecord& r);
absl::StatusOr<PendingRecord> DecodePending(std::string_view in);
std::string EncodeToken(const TokenRecord& r);
absl::StatusOr<TokenRecord> DecodeToken(std::string_view in);

std::string VersionKey(std::string_view name, uint64_t number);
std::string VersionKeyPrefix(std::string_view name);  // name ‖ 0x00
std::string ChunkKey(uint64_t version_id, uint64_t index);
std::string IdKey(uint64_t version_id);

}  // namespace mv

#endif  // MODELVAULT_VAULT_RECORDS_H_
