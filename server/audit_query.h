// The audit log read paths of AuditService, kept out of the handlers so
// that each is one call and so that the tests can drive their bounds
// (scan limit, export batch size) directly. Each function runs its LMDB
// read transactions to completion before it returns or calls back into
// anything that may block on the network: a slow client never pins a
// reader (and with it the pages LMDB may not reuse).
//
// Thread-safe (AuditLog is).
#ifndef MODELVAULT_SERVER_AUDIT_QUERY_H_
#define MODELVAULT_SERVER_AUDIT_QUERY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "server/audit_convert.h"

namespace mvserver {

// Records a query examines per call at most, matching or not, so that a
// filter matching nothing in a huge log still returns promptly (with a page
// token to continue).
inline constexpr uint64_t kMaxScannedPerPage = 100'000;

struct StoredRecord {
  mv::AuditRecord record;
  std::string hash;
};

struct QueryPage {
  std::vector<StoredRecord> records;
  // The next sequence to scan (inclusive, in the page's direction); 0 = the
  // scan reached the end of the log.
  uint64_t next = 0;
  uint64_t last_scanned = 0;  // 0 = nothing was scanned
};

struct QuerySpec {
  uint64_t start = 0;  // first sequence to scan; 0 = the log's first (last)
  bool newest_first = false;
  size_t page_size = 100;
  uint64_t max_scanned = kMaxScannedPerPage;
};

// Up to page_size records matching `filter`, scanning at most max_scanned.
absl::StatusOr<QueryPage> QueryRecords(const mv::AuditLog& log,
                                       const RecordFilter& filter,
                                       const QuerySpec& spec);

// Page tokens are the QueryPage::next sequence in decimal. INVALID_ARGUMENT
// for anything but 1..2^64-1 in canonical decimal ("" = start).
absl::StatusOr<uint64_t> ParsePageToken(std::string_view token);
std::string PageToken(uint64_t next);  // "" for 0

// The sequence of the first record at or after `from` whose time is at
// least `since_unix_ms`; head + 1 if there is none.
absl::StatusOr<uint64_t> FirstSequenceSince(const mv::AuditLog& log,
                                            uint64_t from,
                                            int64_t since_unix_ms);

// An export stays below this per ExportChunk: a batch stops growing once it
// holds kExportBatchBytes, and one record line (9 strings of at most 4 KiB,
// JSON-escaped at most 6×) plus its checkpoint line fit in the rest.
inline constexpr size_t kMaxExportChunkBytes = size_t{1} << 20;
inline constexpr size_t kExportBatchBytes = 768 * 1024;

// AuditLog::Export(from, through) cut into batches of whole lines: each read
// transaction collects about `batch_bytes` (a record and the checkpoint that
// follows it stay together), then `send` gets the batch outside the
// transaction, and the next transaction resumes at the next record. The
// batches concatenate to exactly the text of one Export(from, through).
// `send` returning false stops the export with CANCELLED. `through` must be
// non-zero (0 would mean "to the end" to AuditLog).
absl::Status ExportInBatches(
    const mv::AuditLog& log, uint64_t from, uint64_t through,
    size_t batch_bytes, const std::function<bool(std::string&& batch)>& send);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_AUDIT_QUERY_H_
