// CallAudit: the audit record of one RPC (DESIGN.md §6, issue [audit]).
// Every modelvault.v1 handler creates one first and returns through Finish,
// so every outcome — allowed, denied, unauthenticated, failed — leaves
// exactly one outcome record. Handlers admitted up front do it through
// AuditedCall (server/audited_call.h); Upload, Download and Trace, which
// admit on their first message or plan, create theirs the same way:
//
//   CallAudit audit(vault_, *context, kX);
//   return audit.Finish(DoX(audit, context, ...));
//
// AdmitCall (call_auth.h) fills in the caller and the decision; handlers add
// the resource ("NAME@N" once resolved) and bytes. A mutation hands
// ForMutation() to the Vault, which appends the record in the mutation's own
// write transaction (change and record commit together); Finish then has
// nothing left to write. Any other outcome is committed by Finish (group
// commit) before the response leaves. If a record cannot be committed the
// call fails UNAVAILABLE instead, and nothing it would have sent is sent:
// fail closed.
//
// Downloads also write a "download started" record (DownloadStarted) that is
// durable before the first byte (DownloadIndex::StartDownload), and commit
// their outcome with the bytes actually sent and, for a whole file, the SHA-256
// of the delivered bytes (FinishDownload → DownloadIndex::FinishDownload)
// before the trailer that completes the pull. Both records carry the delivery.
//
// Decision of the outcome record: UNAUTHENTICATED → unauthenticated;
// PERMISSION_DENIED → denied (reason: the message); otherwise allowed once
// the request was admitted (status_code says how it ended), failed before
// that (malformed request, a limit). Not thread-safe: one per call.
#ifndef MODELVAULT_SERVER_CALL_AUDIT_H_
#define MODELVAULT_SERVER_CALL_AUDIT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <optional>
#include <string>
#include <string_view>

#include "access/policy.h"
#include "audit/audit_record.h"
#include "vault/vault.h"

namespace mvserver {

// Reason of the record a download writes before its first byte.
inline constexpr char kDownloadStarted[] = "download started";

class CallAudit {
 public:
  // `method` is the dotted full name, "modelvault.v1.ArtifactService.Download";
  // the record carries the gRPC path "/modelvault.v1.ArtifactService/Download".
  // Takes the request id from `x-request-id` metadata (if printable and at
  // most 128 bytes), else makes a random one, and echoes it in the initial
  // metadata.
  CallAudit(mv::Vault* vault, grpc::ServerContextBase& context,
            std::string_view method);
  CallAudit(const CallAudit&) = delete;
  CallAudit& operator=(const CallAudit&) = delete;

  // For a call outside modelvault.v1 (a method no service implements): the
  // gRPC path as the client sent it, instead of one made from `method`.
  void SetMethodPath(std::string path);
  void SetCaller(const mv::Principal& who);
  // The action the request asks for, before the policy decides: a denied
  // record names what was refused (`audit tail --action delete` finds it).
  void SetAction(mv::Action action);
  // The policy admitted the request for `action` (nullopt: authenticated-only).
  void SetAdmitted(std::optional<mv::Action> action);
  void SetResource(std::string resource);
  void SetBytes(uint64_t bytes);
  void SetDownloadId(uint64_t id);
  // "unmarked" | "fingerprinted" | "exact" (mv::DeliveryName).
  void SetDelivery(std::string delivery);
  // The outcome record is written for `truth` whatever status the call
  // returns: a caller told NOT_FOUND so as to learn nothing about what it
  // may not see is still on record as denied, with the reason.
  void RecordOutcomeAs(grpc::Status truth);

  // The call's failed authentication was refused by the throttle
  // (access/auth_throttle.h), which counts it for the record it writes per
  // address per minute: Finish writes no record of its own.
  void CountedByThrottle() { outcome_written_ = true; }

  // The record as a successful outcome, for a Vault mutation to append in
  // its transaction. If the mutation fails, its transaction wrote nothing
  // and Finish records the failure. Marks the call as mutating.
  mv::AuditRecord* ForMutation();

  // The "download started" record (not an outcome), for ChargeDownload to
  // append in its transaction. REQUIRES: admitted, resource and download id
  // set.
  const mv::AuditRecord* DownloadStarted();

  // Commits the outcome record for `status` now. OK, or the UNAVAILABLE
  // status to send if it cannot be committed. At most once.
  grpc::Status CommitOutcome(const grpc::Status& status);

  // Commits a completed download's outcome through
  // DownloadIndex::FinishDownload, with `delivered_sha256` (32 raw bytes for a
  // whole-file delivery, "" for a range) in the record (as hex) and in the
  // downloads index entry of (serial, download id). OK, or the UNAVAILABLE
  // status to send (and then no trailer). At most once, instead of
  // CommitOutcome.
  grpc::Status FinishDownload(uint64_t serial,
                              std::string_view delivered_sha256);

  // Returns the status to send: `status`, once its outcome record is
  // durable (or was written by a mutation); UNAVAILABLE if it cannot be.
  grpc::Status Finish(grpc::Status status);

  const std::string& request_id() const { return record_.request_id; }
  const mv::AuditRecord& record() const { return record_; }

 private:
  mv::AuditRecord Outcome(const grpc::Status& status) const;

  mv::Vault* vault_;
  mv::AuditRecord record_;
  mv::AuditRecord
      in_txn_;  // handed to the vault: a mutation's or a download's start
  std::optional<grpc::Status> truth_;
  bool admitted_ = false;
  bool mutating_ = false;
  bool outcome_written_ = false;
};

// The message of a call refused because its record could not be written,
// followed by the cause in parentheses.
inline constexpr char kAuditUnavailableMessage[] =
    "request refused, nothing was changed or sent: the audit log cannot be "
    "written";

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_CALL_AUDIT_H_
