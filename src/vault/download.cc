#include "vault/download.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {

absl::Status OpenStoredChunk(const Txn& txn, const Dbs& dbs,
                             const VersionRecord& version,
                             const ChunkCipher& cipher, uint64_t index,
                             std::string* sealed, std::string* plaintext) {
  MV_ASSIGN_OR_RETURN(auto stored,
                      txn.Get(dbs.chunks, ChunkKey(version.version_id, index)));
  if (!stored) {
    return absl::DataLossError(
        absl::StrCat("stored data of ", version.name, "@", version.number,
                     " is incomplete (chunk ", index, " missing)"));
  }
  MV_RETURN_IF_ERROR(txn.CopyValue(*stored, sealed));
  return cipher.Open(index, index + 1 == version.chunk_count,
                     version.ChunkLength(index), AsBytes(*sealed), plaintext);
}

absl::StatusOr<std::unique_ptr<ChunkDownload>> ChunkDownload::Open(
    const LmdbEnv* env, const KeyStore& keys, VersionRecord version,
    VersionInfo info, uint64_t offset, uint64_t length,
    std::unique_ptr<const DownloadMarks> marks, Delivery delivery) {
  MV_ASSIGN_OR_RETURN(
      SecretKey dek, keys.Open(version.version_id));
  if (marks != nullptr) delivery = Delivery::kFingerprinted;
  return std::unique_ptr<ChunkDownload>(new ChunkDownload(
      env, std::move(version), std::move(info), std::move(dek), offset, length,
      std::move(marks), delivery));
}

ChunkDownload::ChunkDownload(const LmdbEnv* env, VersionRecord version,
                             VersionInfo info, SecretKey dek, uint64_t offset,
                             uint64_t length,
                             std::unique_ptr<const DownloadMarks> marks,
                             Delivery delivery)
    : env_(env),
      dbs_(Dbs::Of(*env)),
      record_(std::move(version)),
      info_(std::move(info)),
      cipher_(record_.version_id, std::move(dek)),
      offset_(offset),
      length_(length),
      marks_(std::move(marks)),
      delivery_(delivery),
      known_digest_(marks_ == nullptr && offset == 0 &&
                    length == record_.size) {
  prefetcher_ = std::thread([this] { PrefetchLoop(); });
  if (!known_digest_) hasher_ = std::thread([this] { HashLoop(); });
}

ChunkDownload::~ChunkDownload() {
  queue_.Close();
  hashed_.Close();
  prefetcher_.join();
  if (hasher_.joinable()) hasher_.join();
}

absl::Status ChunkDownload::OpenBatch(uint64_t first, uint64_t last,
                                      std::vector<Piece>* plain) const {
  return env_->Read([&](const Txn& txn) -> absl::Status {
    // The version may have been deleted since the download began.
    MV_ASSIGN_OR_RETURN(
        auto manifest,
        txn.Get(dbs_.versions, VersionKey(record_.name, record_.number)));
    if (!manifest)
      return absl::NotFoundError(
          absl::StrCat(info_.Ref(), " was deleted during the download"));
    for (uint64_t i = first; i <= last; ++i) {
      Piece piece{{}, plaintext_buffers_.Take()};
      MV_RETURN_IF_ERROR(OpenStoredChunk(txn, dbs_, record_, cipher_, i,
                                         &sealed_, &piece.bytes));
      Trim(i, &piece.bytes);
      plain->push_back(std::move(piece));
    }
    return absl::OkStatus();
  });
}

void ChunkDownload::Trim(uint64_t index, std::string* plaintext) const {
  const uint64_t chunk_begin = index * record_.chunk_size;
  const uint64_t chunk_end = chunk_begin + plaintext->size();
  const uint64_t end = offset_ + length_;
  if (chunk_end > end) plaintext->resize(end - chunk_begin);
  if (chunk_begin < offset_) plaintext->erase(0, offset_ - chunk_begin);
}

bool ChunkDownload::Deliver(std::vector<Piece>* batch, uint64_t* at) {
  for (Piece& piece : *batch) {
    if (marks_ != nullptr && piece.status.ok()) {
      absl::Status marked =
          ApplyMarks(marks_->table, marks_->code, *at, &piece.bytes);
      // A table that does not fit the stored bytes: send nothing of it.
      if (!marked.ok()) piece = Piece{CopyForAnotherThread(marked), {}};
    }
    *at += piece.bytes.size();
    const bool failed = !piece.status.ok();
    if (!queue_.Push(std::move(piece))) return false;  // the reader went away
    if (failed) return false;
  }
  return true;
}

void ChunkDownload::PrefetchLoop() {
  if (length_ == 0) return queue_.Close();
  const uint64_t first = offset_ / record_.chunk_size;
  const uint64_t last = (offset_ + length_ - 1) / record_.chunk_size;
  uint64_t at = offset_;
  std::vector<Piece> batch;
  for (uint64_t start = first; start <= last; start += kChunksPerReadTxn) {
    batch.clear();
    absl::Status s =
        OpenBatch(start, std::min(last, start + kChunksPerReadTxn - 1), &batch);
    // Pieces opened before a failure are good: send them, then the error.
    if (!s.ok()) batch.push_back(Piece{CopyForAnotherThread(s), {}});
    if (!Deliver(&batch, &at)) break;
  }
  queue_.Close();
}

void ChunkDownload::HashLoop() {
  Sha256 sha;
  while (std::optional<Piece> piece = queue_.Pop()) {
    if (piece->status.ok()) sha.Update(piece->bytes);
    if (!hashed_.Push(*std::move(piece))) return;  // the reader went away
  }
  digest_ = sha.Finish();
  hashed_.Close();  // publishes digest_ to Next()'s thread
}

absl::StatusOr<bool> ChunkDownload::Next(std::string* out) {
  if (done_) return false;
  std::optional<Piece> piece = known_digest_ ? queue_.Pop() : hashed_.Pop();
  if (!piece) {
    done_ = true;
    return false;
  }
  if (!piece->status.ok()) {
    done_ = true;
    return piece->status;
  }
  // *out holds the chunk before, already sent: its buffer is reused.
  if (out->capacity() > 0) plaintext_buffers_.Give(std::move(*out));
  *out = std::move(piece->bytes);
  return true;
}

std::string ChunkDownload::DeliveredSha256() {
  if (known_digest_) return record_.sha256;
  return std::string(AsChars(digest_));
}

}  // namespace mv
