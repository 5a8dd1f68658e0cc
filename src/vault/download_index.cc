// The downloads index (vault/download_index.h). Its records:
//
//   key    serial u64 BE ‖ download_id u64 BE
//   value  u8 layout 1 ‖ principal ‖ started_unix_ms u64 ‖ peer ‖
//          delivery u8 (Delivery) ‖ audit_sequence u64 ‖
//          delivered_sha256 (0 or 32 bytes)
//   (strings and bytes as u32 length ‖ bytes, storage/record_codec.h)
#include "vault/download_index.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "storage/record_codec.h"
#include "vault/audit_append.h"
#include "vault/catalog.h"
#include "vault/identity_store.h"

namespace mv {
namespace {

constexpr uint8_t kDownloadLayoutV1 = 1;

}  // namespace

std::string_view DeliveryName(Delivery d) {
  switch (d) {
    case Delivery::kFingerprinted:
      return "fingerprinted";
    case Delivery::kExact:
      return "exact";
    case Delivery::kUnmarked:
      break;
  }
  return "unmarked";
}

std::string DownloadKey(uint64_t serial, uint64_t download_id) {
  std::string key;
  AppendBigEndian64(&key, serial);
  AppendBigEndian64(&key, download_id);
  return key;
}

std::string EncodeDownload(const DownloadRecord& r) {
  return Encoder()
      .U8(kDownloadLayoutV1)
      .Bytes(r.principal)
      .U64(static_cast<uint64_t>(r.started_unix_ms))
      .Bytes(r.peer)
      .U8(static_cast<uint8_t>(r.delivery))
      .U64(r.audit_sequence)
      .Bytes(r.delivered_sha256)
      .Finish();
}

absl::StatusOr<DownloadRecord> DecodeDownload(std::string_view key,
                                              std::string_view value) {
  if (key.size() != 16)
    return absl::DataLossError("corrupt download index key");
  DownloadRecord r;
  r.serial = GetBigEndian64(AsBytes(key).data());
  r.download_id = GetBigEndian64(AsBytes(key).data() + 8);
  Decoder d(value, "download");
  uint8_t layout = 0, delivery = 0;
  uint64_t started = 0;
  d.U8(&layout)
      .Bytes(&r.principal)
      .U64(&started)
      .Bytes(&r.peer)
      .U8(&delivery)
      .U64(&r.audit_sequence)
      .Bytes(&r.delivered_sha256);
  MV_RETURN_IF_ERROR(d.Finish());
  if (layout > kDownloadLayoutV1) {
    return absl::FailedPreconditionError(
        "download record written by a newer modelvaultd");
  }
  if (layout == 0 || delivery < static_cast<uint8_t>(Delivery::kUnmarked) ||
      delivery > static_cast<uint8_t>(Delivery::kExact) ||
      (!r.delivered_sha256.empty() && r.delivered_sha256.size() != 32)) {
    return absl::DataLossError("corrupt download record");
  }
  r.started_unix_ms = static_cast<int64_t>(started);
  r.delivery = static_cast<Delivery>(delivery);
  return r;
}

DownloadIndex::DownloadIndex(const VaultOptions& options, LmdbEnv& env,
                             AuditLog& audit, const IdentityStore& identity)
    : options_(options), env_(&env), audit_(&audit), identity_(&identity) {}

absl::Status DownloadIndex::StartDownload(const Principal& who,
                                          const Decision& decision,
                                          uint64_t bytes,
                                          const DownloadRecord& download,
                                          const AuditRecord* audit,
                                          const Decision* exact) {
  if (!decision.allowed)
    return absl::FailedPreconditionError("cannot charge a denied download");
  if (download.download_id == 0)
    return absl::InvalidArgumentError("download id 0 is reserved");
  DownloadRecord entry = download;
  if (entry.principal.empty()) entry.principal = who.name;
  if (entry.started_unix_ms == 0)
    entry.started_unix_ms = absl::ToUnixMillis(options_.clock->Now());
  entry.delivered_sha256.clear();
  const Dbs dbs = Dbs::Of(*env_);
  const std::string key = DownloadKey(entry.serial, entry.download_id);
  // Charge, index and record in one transaction: all or nothing.
  bool written = false;  // the body succeeded: a failure is the commit's
  absl::Status s = env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs.downloads, key));
    if (stored) {  // a resumed or parallel range of an earlier download
      MV_ASSIGN_OR_RETURN(DownloadRecord earlier, DecodeDownload(key, *stored));
      if (earlier.principal != entry.principal ||
          earlier.delivery != entry.delivery) {
        const std::string what = audit != nullptr && !audit->resource.empty()
                                     ? audit->resource
                                     : absl::StrCat("version ", entry.serial);
        return absl::InvalidArgumentError(
            absl::StrCat("download id ", DownloadIdHex(entry.download_id),
                         " is not one of your downloads of ", what));
      }
    }
    MV_RETURN_IF_ERROR(identity_->ChargeDownload(txn, who, decision, bytes));
    if (exact != nullptr)
      MV_RETURN_IF_ERROR(identity_->ChargeDownload(txn, who, *exact, bytes));
    if (audit != nullptr) {
      AuditRecord record = *audit;
      SanitizeAuditRecord(&record);
      absl::StatusOr<uint64_t> sequence =
          audit_->Append(txn, std::move(record));
      if (!sequence.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "audit log write failed: ", sequence.status().message()));
      }
      entry.audit_sequence = *sequence;
    }
    if (!stored)
      MV_RETURN_IF_ERROR(txn.Put(dbs.downloads, key, EncodeDownload(entry)));
    written = true;
    return absl::OkStatus();
  });
  // The "download started" record is not durable: refuse, naming the audit
  // log (fail closed), whatever the storage said.
  if (!s.ok() && written && audit != nullptr) {
    return absl::UnavailableError(
        absl::StrCat("audit log write failed: ", s.message()));
  }
  return s;
}

absl::StatusOr<DownloadRecord> DownloadIndex::FindDownload(
    uint64_t serial, uint64_t download_id) const {
  const Dbs dbs = Dbs::Of(*env_);
  const std::string key = DownloadKey(serial, download_id);
  DownloadRecord found;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs.downloads, key));
    if (!stored) {
      return absl::NotFoundError(
          absl::StrCat("no download ", DownloadIdHex(download_id),
                       " of version ", serial, " is recorded"));
    }
    MV_ASSIGN_OR_RETURN(found, DecodeDownload(key, *stored));
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<DownloadRecord>> DownloadIndex::ListDownloads(
    uint64_t serial) const {
  const Dbs dbs = Dbs::Of(*env_);
  const std::string prefix = IdKey(serial);
  std::vector<DownloadRecord> out;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    absl::Status decode;
    MV_RETURN_IF_ERROR(txn.Scan(dbs.downloads, prefix, prefix,
                                [&](std::string_view k, std::string_view v) {
                                  absl::StatusOr<DownloadRecord> r =
                                      DecodeDownload(k, v);
                                  if (!r.ok())
                                    return decode = r.status(), false;
                                  out.push_back(*std::move(r));
                                  return true;
                                }));
    return decode;
  }));
  return out;
}

absl::Status DownloadIndex::FinishDownload(uint64_t serial,
                                           uint64_t download_id,
                                           std::string_view delivered_sha256,
                                           const AuditRecord* audit) {
  if (!delivered_sha256.empty() && delivered_sha256.size() != 32) {
    return absl::InvalidArgumentError("a delivered SHA-256 is 32 bytes");
  }
  const Dbs dbs = Dbs::Of(*env_);
  const std::string key = DownloadKey(serial, download_id);
  std::optional<AuditRecord> record;
  if (audit != nullptr) {
    record = *audit;
    if (record->delivered_sha256.empty() && !delivered_sha256.empty()) {
      record->delivered_sha256 = absl::BytesToHexString(
          absl::string_view(delivered_sha256.data(), delivered_sha256.size()));
    }
  }
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    if (!delivered_sha256.empty()) {
      MV_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs.downloads, key));
      if (!stored) {
        return absl::NotFoundError(
            absl::StrCat("no download ", DownloadIdHex(download_id),
                         " of version ", serial, " is recorded"));
      }
      MV_ASSIGN_OR_RETURN(DownloadRecord entry, DecodeDownload(key, *stored));
      entry.delivered_sha256 = std::string(delivered_sha256);
      MV_RETURN_IF_ERROR(txn.Put(dbs.downloads, key, EncodeDownload(entry)));
    }
    return AppendAudit(*audit_, txn, record ? &*record : nullptr);
  });
}

}  // namespace mv
