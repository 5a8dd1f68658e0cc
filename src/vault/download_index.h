// The downloads index's keys and record encoding (layout in downloads.cc).
// Pure functions; thread-safe.
#ifndef MODELVAULT_VAULT_DOWNLOAD_INDEX_H_
#define MODELVAULT_VAULT_DOWNLOAD_INDEX_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "vault/vault.h"

namespace mv {

// serial u64 BE ‖ download_id u64 BE: a version's downloads are contiguous.
std::string DownloadKey(uint64_t serial, uint64_t download_id);
// The value of `r` (its serial and download id live in the key).
std::string EncodeDownload(const DownloadRecord& r);
// DATA_LOSS for a malformed key or value; FAILED_PRECONDITION for a newer
// layout.
absl::StatusOr<DownloadRecord> DecodeDownload(std::string_view key,
                                              std::string_view value);

}  // namespace mv

#endif  // MODELVAULT_VAULT_DOWNLOAD_INDEX_H_
