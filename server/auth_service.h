// AuthServiceImpl: modelvault.v1.AuthService. WhoAmI needs valid
// credentials and no policy action. Thread-safe.
#ifndef MODELVAULT_SERVER_AUTH_SERVICE_H_
#define MODELVAULT_SERVER_AUTH_SERVICE_H_

#include "modelvault/v1/access.grpc.pb.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

class AuthServiceImpl final : public modelvault::v1::AuthService::Service {
 public:
  explicit AuthServiceImpl(VaultSlot* slot) : slot_(slot) {}

  grpc::Status WhoAmI(grpc::ServerContext* context,
                      const modelvault::v1::WhoAmIRequest* request,
                      modelvault::v1::WhoAmIResponse* response) override;

 private:
  VaultSlot* slot_;
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_AUTH_SERVICE_H_
