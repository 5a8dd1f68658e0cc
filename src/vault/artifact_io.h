// Streaming interfaces between the transport and the core (the Arrow Flight
// pattern): the gRPC handlers feed an ArtifactWriter and drain an
// ArtifactReader, and know nothing of chunks, keys or LMDB.
// Neither is thread-safe; each is used by one handler thread.
#ifndef MODELVAULT_VAULT_ARTIFACT_IO_H_
#define MODELVAULT_VAULT_ARTIFACT_IO_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_record.h"
#include "vault/records.h"

namespace mv {

// FingerprintSummary (what the vault decided at upload commit about leak
// tracing) is declared in vault/records.h: VersionRecord stores it.

// How one download's bytes relate to the original (audit record `delivery`).
enum class Delivery : uint8_t {
  kUnmarked = 1,       // original bytes: not markable, or fingerprinting off
  kFingerprinted = 2,  // marked for the download id
  kExact = 3,          // original bytes by request (action read:exact)
};
std::string_view DeliveryName(
    Delivery d);  // "unmarked", "fingerprinted", "exact"

// What callers may know about a version (no key material).
struct VersionInfo {
  std::string name;
  uint64_t number = 0;
  uint64_t size = 0;
  std::string sha256;  // 32 raw bytes
  Format format = Format::kBlob;
  std::map<std::string, std::string> labels;
  std::vector<std::string> aliases;  // sorted
  std::string created_by;
  int64_t created_at_unix_ms = 0;
  uint32_t chunk_size = 0;
  std::string cipher_suite;
  uint32_t key_version = 0;
  uint64_t serial = 0;  // the vault-wide version id (never reused); keys
                        // the downloads index and the MVFP-1 keys
  FingerprintSummary fingerprint;

  std::string Ref() const;  // "NAME@N"
};

// Bounds at the API boundary (docs/ARCHITECTURE.md, "Limits"); each label
// is also checked by ValidateLabel (key 1-64 printable bytes, value at most
// 1 KiB).
inline constexpr size_t kMaxLabelsPerVersion = 64;
inline constexpr size_t kMaxAliasesPerUpload = 16;

struct UploadSpec {
  std::string name;
  std::map<std::string, std::string> labels;
  std::vector<std::string> aliases;
  uint64_t expected_size = 0;  // 0 = unknown
  // How to treat the content. kDetect: by its first bytes (format_detect.h);
  // a file that claims safetensors/GGUF and violates it fails INVALID_ARGUMENT
  // naming the defect. kBlob: any bytes, unparsed and never marked.
  // kSafetensors / kGguf: INVALID_ARGUMENT unless the content is that format.
  enum class As : uint8_t { kDetect, kBlob, kSafetensors, kGguf };
  As store_as = As::kDetect;
};

// What a client computed over the bytes it sent (UploadTrailer).
struct SentChecks {
  std::string sha256;               // 32 raw bytes, or empty: none
  std::optional<uint64_t> xxh3_64;  // common/xxh3.h; unset: none
};

class ArtifactWriter {
 public:
  // Destroying a writer that was not committed abandons the upload: its
  // pending chunks are freed and no version appears.
  virtual ~ArtifactWriter() = default;
  // Fails if an earlier stage (e.g. storage) has failed; the upload is then
  // dead and only destruction remains.
  virtual absl::Status Append(std::string_view data) = 0;
  // The same, but may take over `data`'s buffer instead of copying it.
  virtual absl::Status AppendOwned(std::string&& data) {
    return Append(std::string_view(data));
  }
  // Publishes the version atomically. Each check in `sent` (what the client
  // computed, UploadTrailer) is compared with what was received: DATA_LOSS
  // on a mismatch. `audit` (nullptr = none), the request's record, is
  // completed with the new version's "NAME@N" and size and appended in the
  // publishing transaction: no version without its record (UNAVAILABLE if
  // it cannot be written; nothing is published).
  virtual absl::StatusOr<VersionInfo> Commit(const SentChecks& sent,
                                             AuditRecord* audit = nullptr) = 0;
  // The same with a SHA-256 check only (32 raw bytes, or empty: none).
  absl::StatusOr<VersionInfo> Commit(std::string_view expected_sha256,
                                     AuditRecord* audit = nullptr) {
    return Commit(SentChecks{std::string(expected_sha256), std::nullopt},
                  audit);
  }
};

class ArtifactReader {
 public:
  virtual ~ArtifactReader() = default;
  virtual const VersionInfo& version() const = 0;
  virtual uint64_t offset() const = 0;
  virtual uint64_t length() const = 0;
  // Replaces *out with the next bytes of the range; false once the range is
  // complete. DATA_LOSS if stored data fails authentication (no wrong byte
  // is ever returned), NOT_FOUND if the version is deleted meanwhile.
  virtual absl::StatusOr<bool> Next(std::string* out) = 0;
  // SHA-256 of every byte returned. REQUIRES: Next() has returned false.
  virtual std::string DeliveredSha256() = 0;
  // kFingerprinted if the bytes carry this download's marks.
  virtual Delivery delivery() const = 0;
};

// How Catalog::OpenDownload should deliver.
struct DeliveryOptions {
  // Mark the bytes for `download_id` when the version is markable; else (or
  // when false) deliver the original bytes.
  bool fingerprint = false;
  bool exact = false;        // original bytes by request: delivery kExact
  uint64_t download_id = 0;  // REQUIRED non-zero when fingerprint
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_ARTIFACT_IO_H_
