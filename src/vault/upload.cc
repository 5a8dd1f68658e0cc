#include "vault/upload.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "vault/format_detect.h"

namespace mv {
namespace {

constexpr std::string_view kNextVersionIdKey = "next_version_id";

absl::StatusOr<uint64_t> AllocateVersionId(LmdbEnv& env, const Dbs& dbs,
                                           const PendingRecord& pending) {
  uint64_t id = 0;
  MV_RETURN_IF_ERROR(env.Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.meta, kNextVersionIdKey));
    if (!raw || raw->size() != 8) return absl::DataLossError("corrupt vault metadata (version counter)");
    id = GetBigEndian64(reinterpret_cast<const uint8_t*>(raw->data()));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kNextVersionIdKey, IdKey(id + 1)));
    return txn.Put(dbs.pending, IdKey(id), EncodePending(pending));
  }));
  return id;
}

// An upload whose pending record is doomed or gone was collected as idle
// (its chunks are being freed): it must neither write more chunks nor
// publish. Runs inside the write transaction, so it is exact.
absl::Status CheckStillPending(const Txn& txn, const Dbs& dbs, uint64_t version_id) {
  MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.pending, IdKey(version_id)));
  absl::StatusOr<PendingRecord> pending =
      raw ? DecodePending(*raw) : absl::NotFoundError("no pending record");
  if (!pending.ok() || pending->doomed()) {
    return absl::AbortedError(
        "upload expired: it was idle too long and was collected; start it again");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChunkUpload>> ChunkUpload::Begin(
    LmdbEnv* env, const KeyRing& keys, Clock* clock, uint32_t chunk_size,
    UploadSpec spec, std::string creator, AuditLog* audit_log) {
  PendingRecord pending{spec.name, absl::ToUnixMillis(clock->Now())};
  MV_ASSIGN_OR_RETURN(uint64_t version_id, AllocateVersionId(*env, Dbs::Of(*env), pending));
  MV_ASSIGN_OR_RETURN(SecretKey dek, SecretKey::Random());
  std::string wrapped = keys.WrapDataKey(version_id, dek);
  return std::unique_ptr<ChunkUpload>(new ChunkUpload(env, clock, chunk_size, std::move(spec),
                                                      std::move(creator), version_id,
                                                      std::move(dek), std::move(wrapped),
                                                      audit_log));
}

ChunkUpload::ChunkUpload(LmdbEnv* env, Clock* clock, uint32_t chunk_size, UploadSpec spec,
                         std::string creator, uint64_t version_id, SecretKey dek,
                         std::string wrapped_dek, AuditLog* audit_log)
    : env_(env),
      audit_log_(audit_log),
      dbs_(Dbs::Of(*env)),
      clock_(clock),
      chunk_size_(chunk_size),
      spec_(std::move(spec)),
      creator_(std::move(creator)),
      version_id_(version_id),
      wrapped_dek_(std::move(wrapped_dek)),
      cipher_(version_id, std::move(dek)) {
  buffer_.reserve(chunk_size_);
  hasher_ = std::thread([this] { HasherLoop(); });
  committer_ = std::thread([this] { CommitterLoop(); });
}

ChunkUpload::~ChunkUpload() {
  hash_queue_.Close();
  if (hasher_.joinable()) hasher_.join();
  queue_.Close();
  if (committer_.joinable()) committer_.join();
  if (!published_) {
    // Abandoned: free the chunks now; if that fails, start-up or periodic
    // collection finds the pending record.
    (void)FreeChunks(*env_, dbs_, version_id_);
  }
}

absl::Status ChunkUpload::Admit(std::string_view data) {
  if (finished_) return absl::FailedPreconditionError("upload already finished");
  {
    std::lock_guard lock(mu_);
    if (!committer_status_.ok()) return committer_status_;
  }
  if (spec_.expected_size > 0 && size_ + data.size() > spec_.expected_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "upload is longer than its declared size of ", spec_.expected_size, " bytes"));
  }
  size_ += data.size();
  if (head_.size() < kFormatSniffBytes) {
    head_.append(data.substr(0, kFormatSniffBytes - head_.size()));
  }
  return absl::OkStatus();
}

absl::Status ChunkUpload::Append(std::string_view data) {
  MV_RETURN_IF_ERROR(Admit(data));
  while (!data.empty()) {
    if (buffer_.size() == chunk_size_) SealBuffered(/*final=*/false);
    if (buffer_.capacity() < chunk_size_) buffer_.reserve(chunk_size_);
    size_t take = std::min<size_t>(data.size(), chunk_size_ - buffer_.size());
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  return absl::OkStatus();
}

absl::Status ChunkUpload::AppendOwned(std::string&& data) {
  if (data.size() != chunk_size_ || (!buffer_.empty() && buffer_.size() != chunk_size_)) {
    return Append(std::string_view(data));
  }
  MV_RETURN_IF_ERROR(Admit(data));
  if (!buffer_.empty()) SealBuffered(/*final=*/false);
  buffer_ = std::move(data);  // held until the next byte or Commit()
  return absl::OkStatus();
}

void ChunkUpload::SealBuffered(bool final) {
  // The hasher reads the same plaintext while this thread seals it.
  auto plaintext = std::make_shared<const std::string>(std::move(buffer_));
  buffer_ = std::string();
  (void)hash_queue_.Push(plaintext);
  SealedChunk chunk{ChunkKey(version_id_, next_index_), {}, absl::ToUnixMillis(clock_->Now())};
  cipher_.Seal(next_index_, final, AsBytes(*plaintext), &chunk.value);
  ++next_index_;
  // A closed queue means the committer failed; Append/Commit report it.
  (void)queue_.Push(std::move(chunk));
}

void ChunkUpload::HasherLoop() {
  while (std::optional<std::shared_ptr<const std::string>> plaintext = hash_queue_.Pop()) {
    sha_.Update(**plaintext);
  }
}

void ChunkUpload::CommitterLoop() {
  std::deque<SealedChunk> batch;
  while (queue_.PopAll(&batch)) {
    absl::Status s = env_->Write([&](WriteTxn& txn) -> absl::Status {
      MV_RETURN_IF_ERROR(CheckStillPending(txn, dbs_, version_id_));
      for (const SealedChunk& c : batch) MV_RETURN_IF_ERROR(txn.Put(dbs_.chunks, c.key, c.value));
      // Idleness is the client's: stamp the record with when the newest
      // chunk arrived, however late this thread gets to write it.
      PendingRecord pending{spec_.name, batch.back().sealed_at_ms};
      return txn.Put(dbs_.pending, IdKey(version_id_), EncodePending(pending));
    });
    batch.clear();
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      committer_status_ = CopyForAnotherThread(s);
      queue_.Close();
      return;
    }
  }
}

absl::Status ChunkUpload::StopCommitter() {
  queue_.Close();
  committer_.join();
  std::lock_guard lock(mu_);
  return committer_status_;
}

absl::StatusOr<VersionInfo> ChunkUpload::Commit(std::string_view expected_sha256,
                                                AuditRecord* audit) {
  if (finished_) return absl::FailedPreconditionError("upload already finished");
  finished_ = true;
  SealBuffered(/*final=*/true);
  hash_queue_.Close();
  hasher_.join();
  MV_RETURN_IF_ERROR(StopCommitter());
  if (spec_.expected_size > 0 && size_ != spec_.expected_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "upload ended after ", size_, " of its declared ", spec_.expected_size, " bytes"));
  }
  Sha256Digest digest = sha_.Finish();
  std::string sha256 = std::string(AsChars(digest));
  if (!expected_sha256.empty() &&
      (expected_sha256.size() != 32 || sodium_memcmp(expected_sha256.data(), sha256.data(), 32) != 0)) {
    return absl::DataLossError("upload corrupted in transit: SHA-256 does not match the client's");
  }
  return Publish(sha256, DetectFormat(head_, size_), audit);
}

absl::StatusOr<VersionInfo> ChunkUpload::Publish(const std::string& sha256, Format format,
                                                 AuditRecord* audit) {
  VersionRecord v{spec_.name, 0, version_id_, size_, sha256, format, spec_.labels, creator_,
                  absl::ToUnixMillis(clock_->Now()), chunk_size_, next_index_,
                  KeyRing::kCurrentKeyVersion, wrapped_dek_};
  ArtifactRecord artifact;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(CheckStillPending(txn, dbs_, version_id_));
    MV_ASSIGN_OR_RETURN(artifact, LoadArtifact(txn, dbs_, spec_.name));
    v.number = ++artifact.last_number;
    for (const std::string& alias : spec_.aliases) artifact.aliases[alias] = v.number;
    MV_RETURN_IF_ERROR(txn.Put(dbs_.versions, VersionKey(v.name, v.number), EncodeVersion(v)));
    MV_RETURN_IF_ERROR(txn.Put(dbs_.artifacts, spec_.name, EncodeArtifact(artifact)));
    MV_RETURN_IF_ERROR(txn.Delete(dbs_.pending, IdKey(version_id_)));
    if (audit == nullptr || audit_log_ == nullptr) return absl::OkStatus();
    // No version without its record: both commit here or neither does.
    audit->resource = absl::StrCat(v.name, "@", v.number);
    audit->bytes = v.size;
    return audit_log_->AppendSanitized(txn, *audit);
  }));
  published_ = true;
  return ToInfo(v, artifact);
}

}  // namespace mv
