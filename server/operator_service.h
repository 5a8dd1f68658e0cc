// OperatorServiceImpl: modelvault.v1.OperatorService
// (proto/modelvault/v1/operator.proto) over the server's VaultSlot.
//
// While the vault is sealed, Unseal and SealStatus answer without
// credentials and without an audit record (there is neither a token store
// nor an audit log before the vault opens; refused unseal keys are kept by
// the slot and audited when it opens). Once unsealed they are ordinary
// audited calls for any authenticated caller, and Seal needs admin:seal.
// Thread-safe.
#ifndef MODELVAULT_SERVER_OPERATOR_SERVICE_H_
#define MODELVAULT_SERVER_OPERATOR_SERVICE_H_

#include "modelvault/v1/operator.grpc.pb.h"
#include "server/vault_slot.h"

namespace mvserver {

class OperatorServiceImpl final
    : public modelvault::v1::OperatorService::Service {
 public:
  explicit OperatorServiceImpl(VaultSlot* slot) : slot_(slot) {}

  grpc::Status Unseal(grpc::ServerContext* context,
                      const modelvault::v1::UnsealRequest* request,
                      modelvault::v1::SealState* response) override;
  grpc::Status Seal(grpc::ServerContext* context,
                    const modelvault::v1::SealRequest* request,
                    modelvault::v1::SealResponse* response) override;
  grpc::Status SealStatus(grpc::ServerContext* context,
                          const modelvault::v1::SealStatusRequest* request,
                          modelvault::v1::SealState* response) override;

 private:
  VaultSlot* slot_;
};

// The proto of `progress`.
void ToProto(const SealProgress& progress, modelvault::v1::SealState* out);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_OPERATOR_SERVICE_H_
