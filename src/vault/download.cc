#include "vault/download.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {

absl::StatusOr<std::unique_ptr<ChunkDownload>> ChunkDownload::Open(
    const LmdbEnv* env, const KeyRing& keys, VersionRecord version, VersionInfo info,
    uint64_t offset, uint64_t length) {
  MV_ASSIGN_OR_RETURN(
      SecretKey dek, keys.UnwrapDataKey(version.version_id, version.key_version, version.wrapped_dek));
  return std::unique_ptr<ChunkDownload>(new ChunkDownload(
      env, std::move(version), std::move(info), std::move(dek), offset, length));
}

ChunkDownload::ChunkDownload(const LmdbEnv* env, VersionRecord version, VersionInfo info,
                             SecretKey dek, uint64_t offset, uint64_t length)
    : env_(env),
      dbs_(Dbs::Of(*env)),
      record_(std::move(version)),
      info_(std::move(info)),
      cipher_(record_.version_id, std::move(dek)),
      offset_(offset),
      length_(length),
      whole_(offset == 0 && length == record_.size) {
  prefetcher_ = std::thread([this] { PrefetchLoop(); });
}

ChunkDownload::~ChunkDownload() {
  queue_.Close();
  prefetcher_.join();
}

absl::Status ChunkDownload::OpenBatch(uint64_t first, uint64_t last,
                                      std::vector<Piece>* plain) const {
  return env_->Read([&](const Txn& txn) -> absl::Status {
    // The version may have been deleted since the download began.
    MV_ASSIGN_OR_RETURN(auto manifest, txn.Get(dbs_.versions, VersionKey(record_.name, record_.number)));
    if (!manifest) return absl::NotFoundError(absl::StrCat(info_.Ref(), " was deleted during the download"));
    for (uint64_t i = first; i <= last; ++i) {
      MV_ASSIGN_OR_RETURN(auto sealed, txn.Get(dbs_.chunks, ChunkKey(record_.version_id, i)));
      if (!sealed) {
        return absl::DataLossError(absl::StrCat("stored data of ", info_.Ref(), " is incomplete (chunk ", i, " missing)"));
      }
      Piece piece;
      MV_RETURN_IF_ERROR(cipher_.Open(i, i + 1 == record_.chunk_count, record_.ChunkLength(i),
                                      AsBytes(*sealed), &piece.bytes));
      ReleaseMappedPages(*sealed);
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

void ChunkDownload::PrefetchLoop() {
  if (length_ == 0) return queue_.Close();
  const uint64_t first = offset_ / record_.chunk_size;
  const uint64_t last = (offset_ + length_ - 1) / record_.chunk_size;
  std::vector<Piece> batch;
  for (uint64_t start = first; start <= last; start += kChunksPerReadTxn) {
    batch.clear();
    absl::Status s = OpenBatch(start, std::min(last, start + kChunksPerReadTxn - 1), &batch);
    // Pieces opened before a failure are good: send them, then the error.
    if (!s.ok()) batch.push_back(Piece{CopyForAnotherThread(s), {}});
    for (Piece& piece : batch) {
      if (!queue_.Push(std::move(piece))) return;  // the reader went away
    }
    if (!s.ok()) break;
  }
  queue_.Close();
}

absl::StatusOr<bool> ChunkDownload::Next(std::string* out) {
  if (done_) return false;
  std::optional<Piece> piece = queue_.Pop();
  if (!piece) {
    done_ = true;
    return false;
  }
  if (!piece->status.ok()) {
    done_ = true;
    return piece->status;
  }
  if (!whole_) sha_.Update(piece->bytes);
  *out = std::move(piece->bytes);
  return true;
}

std::string ChunkDownload::DeliveredSha256() {
  if (whole_) return record_.sha256;
  Sha256Digest digest = sha_.Finish();
  return std::string(AsChars(digest));
}

}  // namespace mv
