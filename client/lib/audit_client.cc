#include "client/lib/audit_client.h"

#include <grpcpp/channel.h>

#include <utility>

#include "client/lib/client_internal.h"
#include "client/lib/grpc_status.h"
#include "common/idle_watchdog.h"

namespace mvclient {
namespace {

namespace v1 = modelvault::v1;

AuditEntry FromProto(const v1::AuditRecord& r) {
  AuditEntry e;
  e.sequence = r.sequence();
  e.time_unix_ms = r.time_unix_ms();
  e.principal = r.principal();
  e.token_accessor = r.token_accessor();
  e.peer = r.peer();
  e.tls_identity = r.tls_identity();
  e.method = r.method();
  e.resource = r.resource();
  e.action = r.action();
  e.decision = r.decision();
  e.status_code = r.status_code();
  e.bytes = r.bytes();
  e.request_id = r.request_id();
  e.download_id = r.download_id();
  e.reason = r.reason();
  e.delivery = r.delivery();
  e.delivered_sha256 = r.delivered_sha256();
  e.hash = r.hash();
  return e;
}

void ToProto(const AuditQuery& q, v1::AuditFilter* out) {
  out->set_principal(q.principal);
  out->set_artifact(q.artifact);
  out->set_action(q.action);
  out->set_decision(q.decision);
  out->set_since_unix_ms(q.since_unix_ms);
  out->set_until_unix_ms(q.until_unix_ms);
}

}  // namespace

AuditClient::AuditClient(std::shared_ptr<Client> client)
    : client_(std::move(client)),
      stub_(v1::AuditService::NewStub(client_->channel_)) {}

template <typename Req, typename Resp>
absl::StatusOr<Resp> AuditClient::Call(
    grpc::Status (v1::AuditService::Stub::*method)(grpc::ClientContext*,
                                                   const Req&, Resp*),
    const Req& request) {
  grpc::ClientContext ctx;
  client_->Prepare(ctx, /*unary=*/true);
  Client::ActiveCall active(*client_, ctx);
  Resp response;
  absl::Status status =
      FromGrpcStatus((stub_.get()->*method)(&ctx, request, &response));
  if (!status.ok()) return client_->Explain(status, false);
  return response;
}

absl::StatusOr<AuditPage> AuditClient::Query(const AuditQuery& query,
                                             uint32_t page_size,
                                             const std::string& page_token,
                                             bool newest_first) {
  v1::QueryRecordsRequest req;
  ToProto(query, req.mutable_filter());
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  req.set_newest_first(newest_first);
  auto resp = Call(&v1::AuditService::Stub::QueryRecords, req);
  if (!resp.ok()) return resp.status();
  AuditPage page;
  for (const v1::AuditRecord& r : resp->records()) {
    page.entries.push_back(FromProto(r));
  }
  page.next_page_token = resp->next_page_token();
  return page;
}

absl::Status AuditClient::Follow(
    const AuditQuery& query, uint64_t after_sequence,
    const std::function<bool(const AuditEntry&)>& on_entry) {
  v1::FollowRecordsRequest req;
  ToProto(query, req.mutable_filter());
  req.set_after_sequence(after_sequence);
  grpc::ClientContext ctx;
  client_->Prepare(ctx, /*unary=*/false);
  Client::ActiveCall active(*client_, ctx);
  auto reader = stub_->FollowRecords(&ctx, req);
  v1::AuditRecord record;
  bool stopped = false;
  while (!stopped && reader->Read(&record)) {
    stopped = !on_entry(FromProto(record));
  }
  if (stopped) ctx.TryCancel();
  absl::Status status = FromGrpcStatus(reader->Finish());
  if (stopped && absl::IsCancelled(status)) return absl::OkStatus();
  return client_->Explain(status, false);
}

absl::Status AuditClient::Export(
    uint64_t from_sequence, int64_t since_unix_ms,
    const std::function<absl::Status(std::string_view)>& sink,
    uint64_t through_sequence) {
  v1::ExportRequest req;
  req.set_from_sequence(from_sequence);
  req.set_since_unix_ms(since_unix_ms);
  req.set_through_sequence(through_sequence);
  grpc::ClientContext ctx;
  client_->Prepare(ctx, /*unary=*/false);
  Client::ActiveCall active(*client_, ctx);
  mv::IdleWatchdog watchdog(client_->options_.stream_idle_timeout,
                            [&ctx] { ctx.TryCancel(); });
  auto reader = stub_->Export(&ctx, req);
  v1::ExportChunk chunk;
  absl::Status sunk;
  while (sunk.ok() && reader->Read(&chunk)) {
    watchdog.Touch();
    sunk = sink(chunk.data());
  }
  if (!sunk.ok()) {
    ctx.TryCancel();
    reader->Finish();
    return sunk;
  }
  return client_->Explain(FromGrpcStatus(reader->Finish()), watchdog.fired());
}

absl::StatusOr<std::string> AuditClient::GetPublicKey() {
  auto resp =
      Call(&v1::AuditService::Stub::GetPublicKey, v1::GetPublicKeyRequest());
  if (!resp.ok()) return resp.status();
  return resp->public_key();
}

absl::StatusOr<AuditVerdict> AuditClient::Verify() {
  auto resp = Call(&v1::AuditService::Stub::Verify, v1::VerifyAuditRequest());
  if (!resp.ok()) return resp.status();
  return AuditVerdict{resp->ok(), resp->records(), resp->checkpoints(),
                      resp->problem(), resp->archived_through()};
}

absl::StatusOr<AuditArchiveRange> AuditClient::PlanArchive(
    int64_t before_unix_ms) {
  v1::ArchiveAuditRequest req;
  req.set_before_unix_ms(before_unix_ms);
  auto resp = Call(&v1::AuditService::Stub::Archive, req);
  if (!resp.ok()) return resp.status();
  return AuditArchiveRange{resp->first_sequence(), resp->through_sequence()};
}

absl::StatusOr<AuditArchiveRange> AuditClient::Archive(
    uint64_t through_sequence, const std::string& sha256_hex) {
  v1::ArchiveAuditRequest req;
  req.set_through_sequence(through_sequence);
  req.set_archive_sha256(sha256_hex);
  auto resp = Call(&v1::AuditService::Stub::Archive, req);
  if (!resp.ok()) return resp.status();
  return AuditArchiveRange{resp->first_sequence(), resp->through_sequence()};
}

}  // namespace mvclient
