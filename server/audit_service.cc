// AuditService handlers: admit (admin:audit), then one read path of
// server/audit_query.h, and map the status. Every call is itself audited.
#include "server/audit_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "audit/checkpoint.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "server/audit_convert.h"
#include "server/audit_query.h"
#include "server/audited_call.h"
#include "server/status_mapping.h"

namespace mvserver {
namespace {

namespace v1 = modelvault::v1;

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;
// FollowRecords polls the head this often: ReadHead is one small read, and
// a follower is a human or a SIEM shipper, for whom 200 ms is immediate.
constexpr auto kFollowPoll = std::chrono::milliseconds(200);
// Records a follower reads per transaction; it writes them after the
// transaction ends.
constexpr uint64_t kFollowBatch = 1000;

// The signed checkpoint at `sequence`: where an archive's export ends.
absl::StatusOr<mv::Checkpoint> CheckpointAt(const mv::AuditLog& log,
                                            uint64_t sequence) {
  std::optional<mv::Checkpoint> found;
  MV_RETURN_IF_ERROR(log.ScanCheckpoints(
      sequence, [&](const mv::Checkpoint& c, std::string_view) {
        if (c.sequence == sequence) found = c;
        return false;
      }));
  if (!found) {
    return absl::InvalidArgumentError(absl::StrCat(
        "through_sequence: ", sequence, " is not a signed checkpoint"));
  }
  return *found;
}

grpc::Status DoQueryRecords(mv::Vault& vault,
                            const v1::QueryRecordsRequest& request,
                            v1::QueryRecordsResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(RecordFilter filter,
                           RecordFilter::FromProto(request.filter()));
  MV_GRPC_ASSIGN_OR_RETURN(uint64_t start,
                           ParsePageToken(request.page_token()));
  QuerySpec spec;
  spec.start = start;
  spec.newest_first = request.newest_first();
  spec.page_size = request.page_size() == 0
                       ? kDefaultPageSize
                       : std::min(request.page_size(), kMaxPageSize);
  MV_GRPC_ASSIGN_OR_RETURN(QueryPage page,
                           QueryRecords(vault.audit_log(), filter, spec));
  for (const StoredRecord& r : page.records)
    ToProto(r.record, r.hash, response->add_records());
  response->set_next_page_token(PageToken(page.next));
  return grpc::Status::OK;
}

grpc::Status DoFollowRecords(mv::Vault& vault, grpc::ServerContext& context,
                             const v1::FollowRecordsRequest& request,
                             grpc::ServerWriter<v1::AuditRecord>* writer,
                             const std::atomic<bool>& stopping,
                             const VaultSlot& slot) {
  MV_GRPC_ASSIGN_OR_RETURN(RecordFilter filter,
                           RecordFilter::FromProto(request.filter()));
  const mv::AuditLog& log = vault.audit_log();
  uint64_t after = request.after_sequence();
  if (after == 0) {
    MV_GRPC_ASSIGN_OR_RETURN(mv::AuditLog::Head head, log.ReadHead());
    after = head.sequence;
  }
  // A seal ends the follow too: it holds the vault, whose keys are wiped
  // only when the last call holding it ends.
  while (!stopping && !context.IsCancelled() && !slot.Progress().sealed) {
    MV_GRPC_ASSIGN_OR_RETURN(mv::AuditLog::Head head, log.ReadHead());
    if (head.sequence <= after) {
      std::this_thread::sleep_for(kFollowPoll);
      continue;
    }
    QuerySpec spec{.start = after + 1,
                   .page_size = kFollowBatch,
                   .max_scanned = kFollowBatch};
    MV_GRPC_ASSIGN_OR_RETURN(QueryPage page, QueryRecords(log, filter, spec));
    // The read transaction has ended: Write may block on a slow client.
    for (const StoredRecord& r : page.records) {
      v1::AuditRecord message;
      ToProto(r.record, r.hash, &message);
      if (!writer->Write(message)) return grpc::Status::OK;  // client gone
    }
    if (page.last_scanned != 0) after = page.last_scanned;
  }
  // Cancelled by the client, the server is shutting down or the vault was
  // sealed: a follow has no natural end, so each is a normal one.
  return grpc::Status::OK;
}

grpc::Status DoExport(mv::Vault& vault, CallAudit& audit,
                      const v1::ExportRequest& request,
                      grpc::ServerWriter<v1::ExportChunk>* writer) {
  const mv::AuditLog& log = vault.audit_log();
  MV_GRPC_ASSIGN_OR_RETURN(const mv::AuditLog::Anchor anchor, log.ReadAnchor());
  uint64_t from =
      std::max<uint64_t>(request.from_sequence(), anchor.sequence + 1);
  if (request.since_unix_ms() != 0) {
    MV_GRPC_ASSIGN_OR_RETURN(
        from, FirstSequenceSince(log, from, request.since_unix_ms()));
  }
  // Sign the head first (or end at the checkpoint asked for), so that the
  // export ends with a checkpoint and a truncated copy of it fails offline
  // verification.
  MV_GRPC_ASSIGN_OR_RETURN(mv::Checkpoint last,
                           request.through_sequence() == 0
                               ? vault.audit_log().ForceCheckpoint()
                               : CheckpointAt(log, request.through_sequence()));
  if (last.sequence == 0 || from > last.sequence)
    return grpc::Status::OK;  // nothing to export
  uint64_t bytes = 0;
  MV_GRPC_RETURN_IF_ERROR(ExportInBatches(
      log, from, last.sequence, kExportBatchBytes, [&](std::string&& batch) {
        bytes += batch.size();
        v1::ExportChunk chunk;
        chunk.set_data(std::move(batch));
        return writer->Write(chunk);
      }));
  // The signed end: a copy cut at either end no longer verifies.
  v1::ExportChunk end;
  end.set_data(log.ExportEndLine(from, last));
  bytes += end.data().size();
  if (!writer->Write(end)) return grpc::Status::OK;  // client gone
  audit.SetBytes(bytes);
  return grpc::Status::OK;
}

grpc::Status DoGetPublicKey(mv::Vault& vault,
                            v1::GetPublicKeyResponse* response) {
  response->set_public_key(mv::FormatPublicKey(vault.audit_log().public_key()));
  return grpc::Status::OK;
}

grpc::Status DoVerify(mv::Vault& vault, v1::VerifyAuditResponse* response) {
  const mv::AuditLog& log = vault.audit_log();
  absl::Status verified = log.VerifyStored();
  if (!verified.ok() && verified.code() != absl::StatusCode::kDataLoss) {
    return ToGrpcStatus(verified);  // could not read the log: not a verdict
  }
  // Records are contiguous after the anchor (VerifyStored checks it), so
  // the head's sequence less the anchor's is their count.
  MV_GRPC_ASSIGN_OR_RETURN(mv::AuditLog::Head head, log.ReadHead());
  MV_GRPC_ASSIGN_OR_RETURN(const mv::AuditLog::Anchor anchor, log.ReadAnchor());
  uint64_t checkpoints = 0;
  MV_GRPC_RETURN_IF_ERROR(
      log.ScanCheckpoints(1, [&](const mv::Checkpoint&, std::string_view) {
        ++checkpoints;
        return true;
      }));
  response->set_ok(verified.ok());
  response->set_records(head.sequence - anchor.sequence);
  response->set_archived_through(anchor.sequence);
  response->set_checkpoints(checkpoints);
  response->set_problem(std::string(verified.message()));
  return grpc::Status::OK;
}

grpc::Status DoArchive(mv::Vault& vault, CallAudit& audit,
                       const v1::ArchiveAuditRequest& request,
                       v1::ArchiveAuditResponse* response) {
  mv::AuditLog& log = vault.audit_log();
  if (request.through_sequence() == 0) {
    if (request.before_unix_ms() <= 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "before_unix_ms: the time to archive records "
                          "before is required (> 0)");
    }
    MV_GRPC_ASSIGN_OR_RETURN(mv::AuditLog::ArchivePlan plan,
                             log.PlanArchive(request.before_unix_ms()));
    response->set_first_sequence(plan.first);
    response->set_through_sequence(plan.through);
    return grpc::Status::OK;
  }
  std::string digest;
  if (request.archive_sha256().size() != 64 ||
      !mv::FromHex(request.archive_sha256(), &digest)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "archive_sha256: the SHA-256 of the archive kept "
                        "(64 hex digits) is required");
  }
  MV_GRPC_ASSIGN_OR_RETURN(const mv::AuditLog::Anchor anchor, log.ReadAnchor());
  audit.SetResource(absl::StrCat("audit@", anchor.sequence + 1, "-",
                                 request.through_sequence()));
  mv::AuditRecord record = *audit.ForMutation();
  record.reason = absl::StrCat("archived to an export with sha256 ",
                               absl::AsciiStrToLower(request.archive_sha256()));
  MV_GRPC_RETURN_IF_ERROR(
      log.Archive(request.through_sequence(), std::move(record)));
  response->set_first_sequence(anchor.sequence + 1);
  response->set_through_sequence(request.through_sequence());
  response->set_archived(true);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status AuditServiceImpl::QueryRecords(
    grpc::ServerContext* context, const v1::QueryRecordsRequest* request,
    v1::QueryRecordsResponse* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) {
                       return DoQueryRecords(vault, *request, response);
                     });
}

grpc::Status AuditServiceImpl::FollowRecords(
    grpc::ServerContext* context, const v1::FollowRecordsRequest* request,
    grpc::ServerWriter<v1::AuditRecord>* writer) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) {
                       return DoFollowRecords(vault, *context, *request, writer,
                                              stopping_, *slot_);
                     });
}

grpc::Status AuditServiceImpl::Export(
    grpc::ServerContext* context, const v1::ExportRequest* request,
    grpc::ServerWriter<v1::ExportChunk>* writer) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit, const AdmittedCall&) {
        return DoExport(vault, audit, *request, writer);
      });
}

grpc::Status AuditServiceImpl::GetPublicKey(
    grpc::ServerContext* context, const v1::GetPublicKeyRequest* request,
    v1::GetPublicKeyResponse* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) {
                       return DoGetPublicKey(vault, response);
                     });
}

grpc::Status AuditServiceImpl::Verify(grpc::ServerContext* context,
                                      const v1::VerifyAuditRequest* request,
                                      v1::VerifyAuditResponse* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) {
                       return DoVerify(vault, response);
                     });
}

grpc::Status AuditServiceImpl::Archive(grpc::ServerContext* context,
                                       const v1::ArchiveAuditRequest* request,
                                       v1::ArchiveAuditResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit, const AdmittedCall&) {
        return DoArchive(vault, audit, *request, response);
      });
}

}  // namespace mvserver
