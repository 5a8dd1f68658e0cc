// Catalog use cases: uploads, downloads and the operations on versions and
// aliases. The record-level helpers they share are in catalog_records.cc.
#include "vault/catalog.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "access/list_prefixes.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "vault/audit_append.h"
#include "vault/download.h"
#include "vault/identity_store.h"
#include "vault/mark_store.h"
#include "vault/upload.h"

namespace mv {
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;

absl::Status ValidatePrefix(std::string_view prefix) {
  bool ok = prefix.size() <= 200;
  for (char c : prefix) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-' || c == '/');
  }
  if (!ok)
    return absl::InvalidArgumentError(
        "invalid name prefix: use a-z 0-9 . _ - /");
  return absl::OkStatus();
}

absl::Status ValidateSpec(const UploadSpec& spec) {
  MV_RETURN_IF_ERROR(ValidateName(spec.name));
  if (spec.labels.size() > kMaxLabelsPerVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels: at most ", kMaxLabelsPerVersion,
                     " per version, got ", spec.labels.size()));
  }
  if (spec.aliases.size() > kMaxAliasesPerUpload) {
    return absl::InvalidArgumentError(
        absl::StrCat("aliases: at most ", kMaxAliasesPerUpload,
                     " per upload, got ", spec.aliases.size()));
  }
  for (const auto& [k, v] : spec.labels)
    MV_RETURN_IF_ERROR(ValidateLabel(k, v));
  for (const std::string& alias : spec.aliases)
    MV_RETURN_IF_ERROR(ValidateAlias(alias));
  return absl::OkStatus();
}

}  // namespace

Catalog::Catalog(const VaultOptions& options, LmdbEnv& env, KeyStore& keys,
                 AuditLog& audit, const SecretKey& fingerprint_key,
                 const IdentityStore& identity)
    : options_(options),
      env_(&env),
      keys_(keys),
      audit_(&audit),
      fingerprint_key_(fingerprint_key),
      identity_(&identity),
      header_budget_(
          std::make_shared<MemoryBudget>(options.header_memory_bytes)),
      reclaimer_(std::make_unique<ChunkReclaimer>(env)) {}

absl::StatusOr<std::unique_ptr<ArtifactWriter>> Catalog::BeginUpload(
    const UploadSpec& spec, const Principal& who) {
  MV_RETURN_IF_ERROR(ValidateSpec(spec));
  MV_ASSIGN_OR_RETURN(
      auto upload,
      ChunkUpload::Begin(env_, keys_, options_.clock, options_.chunk_size, spec,
                         who.name, audit_, fingerprint_key_, header_budget_));
  return std::unique_ptr<ArtifactWriter>(std::move(upload));
}

absl::StatusOr<std::unique_ptr<ArtifactReader>> Catalog::OpenDownload(
    std::string_view ref, uint64_t offset, uint64_t length,
    const DeliveryOptions& delivery) const {
  MV_ASSIGN_OR_RETURN(Reference parsed, ParseReference(ref));
  if (delivery.fingerprint && delivery.exact) {
    return absl::InvalidArgumentError(
        "a download cannot be both fingerprinted and exact");
  }
  if (delivery.fingerprint && delivery.download_id == 0) {
    return absl::InvalidArgumentError(
        "a fingerprinted download needs a download id");
  }
  const Dbs dbs = Dbs::Of(*env_);
  VersionRecord record;
  VersionInfo info;
  std::unique_ptr<DownloadMarks> marks;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(record, Resolve(txn, dbs, parsed));
    MV_ASSIGN_OR_RETURN(ArtifactRecord artifact,
                        LoadArtifact(txn, dbs, record.name));
    info = InfoOf(record, artifact);
    if (delivery.fingerprint && record.fingerprint.markable()) {
      // The table and this download's code, once for the whole download.
      MV_ASSIGN_OR_RETURN(MarkTable table,
                          LoadMarkTable(txn, dbs, keys_, record));
      MV_ASSIGN_OR_RETURN(TraceKeys trace_keys,
                          VersionTraceKeys(fingerprint_key_, record));
      DownloadCode code =
          MakeDownloadCode(trace_keys, table, delivery.download_id);
      marks.reset(new DownloadMarks{std::move(table), std::move(code)});
    }
    return absl::OkStatus();
  }));
  if (offset > record.size) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is past the end of ", info.Ref(),
                     " (", record.size, " bytes)"));
  }
  if (length == 0) length = record.size - offset;
  if (length > record.size - offset) {
    return absl::OutOfRangeError(absl::StrCat("range ", offset, "+", length,
                                              " exceeds ", info.Ref(), " (",
                                              record.size, " bytes)"));
  }
  MV_ASSIGN_OR_RETURN(
      auto download,
      ChunkDownload::Open(
          env_, keys_, std::move(record), std::move(info), offset, length,
          std::move(marks),
          delivery.exact ? Delivery::kExact : Delivery::kUnmarked));
  return std::unique_ptr<ArtifactReader>(std::move(download));
}

absl::StatusOr<VersionInfo> Catalog::GetVersion(std::string_view ref) const {
  MV_ASSIGN_OR_RETURN(Reference parsed, ParseReference(ref));
  const Dbs dbs = Dbs::Of(*env_);
  VersionInfo info;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(VersionRecord record, Resolve(txn, dbs, parsed));
    MV_ASSIGN_OR_RETURN(ArtifactRecord artifact,
                        LoadArtifact(txn, dbs, record.name));
    info = InfoOf(record, artifact);
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<VersionPage> Catalog::ListVersionsFor(
    const Principal& who, std::string_view peer_address,
    std::string_view prefix, uint32_t page_size,
    std::string_view page_token) const {
  MV_RETURN_IF_ERROR(ValidatePrefix(prefix));
  if (page_size == 0) page_size = kDefaultPageSize;
  page_size = std::min(page_size, kMaxPageSize);
  std::string after;  // the last key a previous page listed
  if (!page_token.empty() &&
      (!absl::WebSafeBase64Unescape(std::string(page_token), &after) ||
       !std::string_view(after).starts_with(prefix))) {
    return absl::InvalidArgumentError("invalid page token");
  }
  const std::vector<std::string> ranges =
      ListPrefixes(identity_->PoliciesOf(who), prefix);
  VersionPage out;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const std::string& range = ranges[i];
    const bool token_inside = std::string_view(after).starts_with(range);
    if (!after.empty() && !token_inside && after > range) continue;  // done
    if (!ValidatePrefix(range).ok()) continue;  // holds no valid name
    std::string token =
        token_inside ? absl::WebSafeBase64Escape(after) : std::string();
    do {
      MV_ASSIGN_OR_RETURN(
          VersionPage page,
          ListVersions(range, page_size - out.versions.size(), token));
      for (VersionInfo& info : page.versions) {
        if (identity_->MayList(who, info.name, peer_address))
          out.versions.push_back(std::move(info));
      }
      token = std::move(page.next_page_token);
    } while (!token.empty() && out.versions.size() < page_size);
    if (out.versions.size() < page_size) continue;
    // Full: go on after this range's next record, or in the next range.
    if (token.empty() && i + 1 < ranges.size()) {
      const VersionInfo& last = out.versions.back();
      token = absl::WebSafeBase64Escape(VersionKey(last.name, last.number));
    }
    out.next_page_token = std::move(token);
    break;
  }
  return out;
}

absl::StatusOr<VersionPage> Catalog::ListVersions(
    std::string_view prefix, uint32_t page_size,
    std::string_view page_token) const {
  MV_RETURN_IF_ERROR(ValidatePrefix(prefix));
  if (page_size == 0) page_size = kDefaultPageSize;
  page_size = std::min(page_size, kMaxPageSize);
  std::string after;
  if (!page_token.empty() &&
      (!absl::WebSafeBase64Unescape(std::string(page_token), &after) ||
       !std::string_view(after).starts_with(prefix))) {
    return absl::InvalidArgumentError("invalid page token");
  }
  const Dbs dbs = Dbs::Of(*env_);
  VersionPage page;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    std::vector<VersionRecord> records;
    absl::Status decode;
    std::string last_key;
    MV_RETURN_IF_ERROR(
        txn.Scan(dbs.versions, after.empty() ? std::string(prefix) : after,
                 prefix, [&](std::string_view k, std::string_view v) {
                   if (k == after) return true;
                   if (records.size() == page_size) {
                     page.next_page_token = absl::WebSafeBase64Escape(last_key);
                     return false;
                   }
                   absl::StatusOr<VersionRecord> r = DecodeVersion(v);
                   if (!r.ok()) return decode = r.status(), false;
                   records.push_back(*std::move(r));
                   last_key = std::string(k);
                   return true;
                 }));
    MV_RETURN_IF_ERROR(decode);
    for (const VersionRecord& r : records) {
      MV_ASSIGN_OR_RETURN(ArtifactRecord artifact,
                          LoadArtifact(txn, dbs, r.name));
      page.versions.push_back(InfoOf(r, artifact));
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<VersionInfo> Catalog::DeleteVersion(std::string_view ref,
                                                   const AuditRecord* audit) {
  MV_ASSIGN_OR_RETURN(Deletion deletion, ShredVersion(ref, audit));
  return std::move(deletion.info);
}

absl::StatusOr<Catalog::Deletion> Catalog::ShredVersion(
    std::string_view ref, const AuditRecord* audit) {
  MV_ASSIGN_OR_RETURN(Reference parsed, ParseReference(ref));
  const Dbs dbs = Dbs::Of(*env_);
  uint64_t version_id = 0;
  Deletion deletion;
  deletion.time_unix_ms = absl::ToUnixMillis(options_.clock->Now());
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(VersionRecord record, Resolve(txn, dbs, parsed));
    MV_ASSIGN_OR_RETURN(ArtifactRecord artifact,
                        LoadArtifact(txn, dbs, record.name));
    deletion.info = InfoOf(record, artifact);
    version_id = record.version_id;
    std::erase_if(artifact.aliases,
                  [&](const auto& a) { return a.second == record.number; });
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.artifacts, record.name, EncodeArtifact(artifact)));
    MV_RETURN_IF_ERROR(
        txn.Delete(dbs.versions, VersionKey(record.name, record.number)));
    // The mark table is sealed under the data key: it goes with it.
    MV_RETURN_IF_ERROR(txn.Delete(dbs.marks, IdKey(record.version_id)));
    PendingRecord doomed{record.name, PendingRecord::kDoomed};
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.pending, IdKey(record.version_id), EncodePending(doomed)));
    if (audit == nullptr) return absl::OkStatus();
    AuditRecord copy = *audit;
    copy.resource = deletion.info.Ref();
    copy.time_unix_ms = deletion.time_unix_ms;
    deletion.principal = copy.principal;
    MV_ASSIGN_OR_RETURN(deletion.audit_sequence,
                        audit_->SanitizeAndAppend(txn, std::move(copy)));
    return absl::OkStatus();
  }));
  // The key goes first: until both are done the doomed record stays, and
  // the next collection (every start runs one) finishes the job.
  MV_RETURN_IF_ERROR(keys_.Shred(version_id));
  reclaimer_->Enqueue(version_id);
  return deletion;
}

absl::StatusOr<VersionInfo> Catalog::SetAlias(std::string_view ref,
                                              std::string_view alias,
                                              const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(ValidateAlias(alias));
  MV_ASSIGN_OR_RETURN(Reference parsed, ParseReference(ref));
  const Dbs dbs = Dbs::Of(*env_);
  VersionInfo info;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(VersionRecord record, Resolve(txn, dbs, parsed));
    MV_ASSIGN_OR_RETURN(ArtifactRecord artifact,
                        LoadArtifact(txn, dbs, record.name));
    artifact.aliases[std::string(alias)] = record.number;
    info = InfoOf(record, artifact);
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.artifacts, record.name, EncodeArtifact(artifact)));
    return AppendAudit(*audit_, txn, audit, info.Ref());
  }));
  return info;
}

absl::Status Catalog::DeleteAlias(std::string_view name, std::string_view alias,
                                  const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(ValidateName(name));
  MV_RETURN_IF_ERROR(ValidateAlias(alias));
  const Dbs dbs = Dbs::Of(*env_);
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(ArtifactRecord artifact, LoadArtifact(txn, dbs, name));
    if (artifact.aliases.erase(std::string(alias)) == 0) {
      return absl::NotFoundError(absl::StrCat(
          "not found: alias ", std::string(alias), " of ", std::string(name)));
    }
    MV_RETURN_IF_ERROR(txn.Put(dbs.artifacts, name, EncodeArtifact(artifact)));
    return AppendAudit(*audit_, txn, audit);
  });
}

VersionInfo Catalog::InfoOf(const VersionRecord& version,
                            const ArtifactRecord& artifact) const {
  VersionInfo info = ToInfo(version, artifact);
  absl::StatusOr<uint32_t> key_version = keys_.KeyVersionOf(version.version_id);
  info.key_version = key_version.ok() ? *key_version : 0;
  return info;
}

absl::StatusOr<size_t> Catalog::CollectGarbage(absl::Duration idle) {
  const Dbs dbs = Dbs::Of(*env_);
  const int64_t cutoff = absl::ToUnixMillis(options_.clock->Now() - idle);
  std::vector<uint64_t> doomed;
  // First doom the idle records in one transaction, so a writer that wakes
  // up can no longer add chunks or publish (ChunkUpload checks), then free.
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    std::vector<std::pair<std::string, PendingRecord>> marked;
    MV_RETURN_IF_ERROR(txn.Scan(
        dbs.pending, "", "", [&](std::string_view k, std::string_view v) {
          absl::StatusOr<PendingRecord> p = DecodePending(v);
          // An undecodable record is collected too: it can only name dead
          // chunks.
          if (k.size() == 8 && (!p.ok() || p->last_active_unix_ms <= cutoff)) {
            doomed.push_back(
                GetBigEndian64(reinterpret_cast<const uint8_t*>(k.data())));
            marked.emplace_back(
                std::string(k),
                PendingRecord{p.ok() ? p->name : "", PendingRecord::kDoomed});
          }
          return true;
        }));
    for (const auto& [key, record] : marked) {
      MV_RETURN_IF_ERROR(txn.Put(dbs.pending, key, EncodePending(record)));
    }
    return absl::OkStatus();
  }));
  for (uint64_t id : doomed) {
    MV_RETURN_IF_ERROR(keys_.Shred(id));  // first, as in DeleteVersion
    MV_RETURN_IF_ERROR(FreeChunks(*env_, dbs, id));
  }
  return doomed.size();
}

}  // namespace mv
