#include "server/audit_query.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "audit/audit_export.h"
#include "common/status_macros.h"

namespace mvserver {
namespace {

// The sequence a line of an export names. A checkpoint line follows the
// record it covers, so either kind of last line names the last record.
absl::StatusOr<uint64_t> LastLineSequence(std::string_view batch) {
  if (batch.ends_with('\n')) batch.remove_suffix(1);
  size_t nl = batch.rfind('\n');
  std::string_view line =
      nl == std::string_view::npos ? batch : batch.substr(nl + 1);
  absl::StatusOr<mv::ExportLine> parsed = mv::ParseExportLine(line);
  if (!parsed.ok()) {
    return absl::InternalError(
        absl::StrCat("audit export produced an unparsable line: ",
                     parsed.status().message()));
  }
  return parsed->is_record ? parsed->record.sequence
                           : parsed->checkpoint.sequence;
}

}  // namespace

absl::StatusOr<QueryPage> QueryRecords(const mv::AuditLog& log,
                                       const RecordFilter& filter,
                                       const QuerySpec& spec) {
  QueryPage page;
  uint64_t scanned = 0;
  auto visit = [&](const mv::AuditRecord& r, std::string_view hash) {
    if (page.records.size() >= spec.page_size || scanned >= spec.max_scanned) {
      page.next =
          r.sequence;  // a record exists here: the next page starts at it
      return false;
    }
    ++scanned;
    page.last_scanned = r.sequence;
    if (filter.Matches(r)) page.records.push_back({r, std::string(hash)});
    return true;
  };
  MV_RETURN_IF_ERROR(
      spec.newest_first
          ? log.ScanRecordsBackward(spec.start, visit)
          : log.ScanRecords(std::max<uint64_t>(spec.start, 1), visit));
  return page;
}

absl::StatusOr<uint64_t> ParsePageToken(std::string_view token) {
  if (token.empty()) return 0;
  uint64_t value = 0;
  // Canonical decimal only, so that one position has one token.
  bool digits = std::all_of(token.begin(), token.end(), absl::ascii_isdigit);
  if (!digits || token.size() > 20 || token[0] == '0' ||
      !absl::SimpleAtoi(absl::string_view(token.data(), token.size()),
                        &value)) {
    return absl::InvalidArgumentError(
        "invalid page_token: pass next_page_token as returned");
  }
  return value;
}

std::string PageToken(uint64_t next) {
  return next == 0 ? "" : absl::StrCat(next);
}

absl::StatusOr<uint64_t> FirstSequenceSince(const mv::AuditLog& log,
                                            uint64_t from,
                                            int64_t since_unix_ms) {
  from = std::max<uint64_t>(from, 1);
  uint64_t found = 0, last = from - 1;
  MV_RETURN_IF_ERROR(
      log.ScanRecords(from, [&](const mv::AuditRecord& r, std::string_view) {
        last = r.sequence;
        if (r.time_unix_ms < since_unix_ms) return true;
        found = r.sequence;
        return false;
      }));
  return found != 0 ? found : last + 1;
}

absl::Status ExportInBatches(
    const mv::AuditLog& log, uint64_t from, uint64_t through,
    size_t batch_bytes, const std::function<bool(std::string&& batch)>& send) {
  if (through == 0)
    return absl::InvalidArgumentError("ExportInBatches: through must be set");
  from = std::max<uint64_t>(from, 1);
  while (from <= through) {
    std::string batch;
    bool full = false;
    // The sink only appends: the transaction ends before `send` may block.
    MV_RETURN_IF_ERROR(log.Export(from, through, [&](std::string_view line) {
      batch.append(line);
      full = batch.size() >= batch_bytes;
      return !full;
    }));
    if (batch.empty()) return absl::OkStatus();
    MV_ASSIGN_OR_RETURN(uint64_t last, LastLineSequence(batch));
    if (!send(std::move(batch)))
      return absl::CancelledError("the client went away");
    if (!full) return absl::OkStatus();
    // Export(from) takes `prev` from record from-1, so the next batch
    // continues the chain exactly where this one stopped.
    from = last + 1;
  }
  return absl::OkStatus();
}

}  // namespace mvserver
