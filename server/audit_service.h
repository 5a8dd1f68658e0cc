// AuditServiceImpl: modelvault.v1.AuditService
// (proto/modelvault/v1/audit.proto) over the vault's AuditLog: query with
// filters and pagination, follow, JSON-lines export, public key, server-side
// verify. Every RPC needs admin:audit and is itself audited
// (server/call_audit.h). Thread-safe.
#ifndef MODELVAULT_SERVER_AUDIT_SERVICE_H_
#define MODELVAULT_SERVER_AUDIT_SERVICE_H_

#include <atomic>

#include "modelvault/v1/audit.grpc.pb.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

class AuditServiceImpl final : public modelvault::v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(VaultSlot* slot) : slot_(slot) {}

  // Ends every FollowRecords stream (OK) so that a graceful shutdown does
  // not wait for followers; later ones end at once. Call before
  // grpc::Server::Shutdown.
  void Stop() { stopping_ = true; }

  grpc::Status QueryRecords(
      grpc::ServerContext* context,
      const modelvault::v1::QueryRecordsRequest* request,
      modelvault::v1::QueryRecordsResponse* response) override;
  grpc::Status FollowRecords(
      grpc::ServerContext* context,
      const modelvault::v1::FollowRecordsRequest* request,
      grpc::ServerWriter<modelvault::v1::AuditRecord>* writer) override;
  grpc::Status Export(
      grpc::ServerContext* context,
      const modelvault::v1::ExportRequest* request,
      grpc::ServerWriter<modelvault::v1::ExportChunk>* writer) override;
  grpc::Status GetPublicKey(
      grpc::ServerContext* context,
      const modelvault::v1::GetPublicKeyRequest* request,
      modelvault::v1::GetPublicKeyResponse* response) override;
  grpc::Status Verify(grpc::ServerContext* context,
                      const modelvault::v1::VerifyAuditRequest* request,
                      modelvault::v1::VerifyAuditResponse* response) override;
  grpc::Status Archive(grpc::ServerContext* context,
                       const modelvault::v1::ArchiveAuditRequest* request,
                       modelvault::v1::ArchiveAuditResponse* response) override;

 private:
  VaultSlot* slot_;
  std::atomic<bool> stopping_{false};
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_AUDIT_SERVICE_H_
