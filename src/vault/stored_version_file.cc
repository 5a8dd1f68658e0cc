#include "vault/stored_version_file.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "vault/download.h"

namespace mv {

absl::StatusOr<std::unique_ptr<StoredVersionFile>> StoredVersionFile::Open(
    const LmdbEnv& env, const KeyStore& keys, const VersionRecord& version) {
  MV_ASSIGN_OR_RETURN(
      SecretKey dek, keys.Open(version.version_id));
  return std::unique_ptr<StoredVersionFile>(
      new StoredVersionFile(env, version, std::move(dek)));
}

StoredVersionFile::StoredVersionFile(const LmdbEnv& env, VersionRecord version,
                                     SecretKey dek)
    : env_(env),
      dbs_(Dbs::Of(env)),
      version_(std::move(version)),
      cipher_(version_.version_id, std::move(dek)) {}

Sha256Digest StoredVersionFile::sha256() const {
  Sha256Digest d{};
  std::memcpy(d.data(), version_.sha256.data(),
              std::min(d.size(), version_.sha256.size()));
  return d;
}

absl::Status StoredVersionFile::OpenChunk(uint64_t index) const {
  if (index == cached_index_) return absl::OkStatus();
  cached_index_ = UINT64_MAX;
  MV_RETURN_IF_ERROR(env_.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(
        auto manifest,
        txn.Get(dbs_.versions, VersionKey(version_.name, version_.number)));
    if (!manifest) {
      return absl::NotFoundError(absl::StrCat(version_.name, "@",
                                              version_.number,
                                              " was deleted during the trace"));
    }
    return OpenStoredChunk(txn, dbs_, version_, cipher_, index, &sealed_,
                           &cached_);
  }));
  cached_index_ = index;
  return absl::OkStatus();
}

absl::Status StoredVersionFile::ReadAt(uint64_t offset,
                                       std::span<char> out) const {
  if (offset > size() || out.size() > size() - offset)
    return absl::OutOfRangeError("read past the end of the stored version");
  if (version_.chunk_size == 0 && !out.empty())
    return absl::DataLossError("stored version has no chunk size");
  uint64_t at = offset;
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t index = at / version_.chunk_size;
    MV_RETURN_IF_ERROR(OpenChunk(index));
    const uint64_t in_chunk = at - index * version_.chunk_size;
    if (in_chunk >= cached_.size())  // a record that contradicts its chunks
      return absl::DataLossError("stored version is shorter than its record");
    const size_t n =
        std::min<uint64_t>(out.size() - done, cached_.size() - in_chunk);
    std::memcpy(out.data() + done, cached_.data() + in_chunk, n);
    done += n, at += n;
  }
  return absl::OkStatus();
}

}  // namespace mv
