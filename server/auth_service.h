// AuthServiceImpl: modelvault.v1.AuthService. WhoAmI needs valid
// credentials and no policy action. Thread-safe.
#ifndef MODELVAULT_SERVER_AUTH_SERVICE_H_
#define MODELVAULT_SERVER_AUTH_SERVICE_H_

#include "modelvault/v1/access.grpc.pb.h"
#include "vault/vault.h"

namespace mvserver {

class AuthServiceImpl final : public modelvault::v1::AuthService::Service {
 public:
  explicit AuthServiceImpl(mv::Vault* vault) : vault_(vault) {}

  grpc::Status WhoAmI(grpc::ServerContext* context,
                      const modelvault::v1::WhoAmIRequest* request,
                      modelvault::v1::WhoAmIResponse* response) override;

 private:
  mv::Vault* vault_;
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_AUTH_SERVICE_H_
