// AdminServiceImpl: modelvault.v1.AdminService — principals, tokens and
// policies. Each handler admits the call (server/call_auth.h: the admin:*
// action of server/method_access.h), converts, calls one Vault method and
// maps the status, all inside the call's audit record; changes commit with
// their record (server/call_audit.h). Thread-safe.
#ifndef MODELVAULT_SERVER_ADMIN_SERVICE_H_
#define MODELVAULT_SERVER_ADMIN_SERVICE_H_

#include "modelvault/v1/access.grpc.pb.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

class AdminServiceImpl final : public modelvault::v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(VaultSlot* slot) : slot_(slot) {}

  grpc::Status CreatePrincipal(
      grpc::ServerContext* context,
      const modelvault::v1::CreatePrincipalRequest* request,
      modelvault::v1::Principal* response) override;
  grpc::Status ListPrincipals(
      grpc::ServerContext* context,
      const modelvault::v1::ListPrincipalsRequest* request,
      modelvault::v1::ListPrincipalsResponse* response) override;
  grpc::Status GetPrincipal(grpc::ServerContext* context,
                            const modelvault::v1::GetPrincipalRequest* request,
                            modelvault::v1::Principal* response) override;
  grpc::Status DeletePrincipal(
      grpc::ServerContext* context,
      const modelvault::v1::DeletePrincipalRequest* request,
      modelvault::v1::DeletePrincipalResponse* response) override;
  grpc::Status AttachPolicy(grpc::ServerContext* context,
                            const modelvault::v1::AttachPolicyRequest* request,
                            modelvault::v1::Principal* response) override;
  grpc::Status DetachPolicy(grpc::ServerContext* context,
                            const modelvault::v1::DetachPolicyRequest* request,
                            modelvault::v1::Principal* response) override;

  grpc::Status CreateToken(
      grpc::ServerContext* context,
      const modelvault::v1::CreateTokenRequest* request,
      modelvault::v1::CreateTokenResponse* response) override;
  grpc::Status ListTokens(
      grpc::ServerContext* context,
      const modelvault::v1::ListTokensRequest* request,
      modelvault::v1::ListTokensResponse* response) override;
  grpc::Status LookupToken(grpc::ServerContext* context,
                           const modelvault::v1::LookupTokenRequest* request,
                           modelvault::v1::TokenInfo* response) override;
  grpc::Status RevokeToken(
      grpc::ServerContext* context,
      const modelvault::v1::RevokeTokenRequest* request,
      modelvault::v1::RevokeTokenResponse* response) override;

  grpc::Status PutPolicy(grpc::ServerContext* context,
                         const modelvault::v1::PutPolicyRequest* request,
                         modelvault::v1::PolicyDocument* response) override;
  grpc::Status GetPolicy(grpc::ServerContext* context,
                         const modelvault::v1::GetPolicyRequest* request,
                         modelvault::v1::PolicyDocument* response) override;
  grpc::Status ListPolicies(
      grpc::ServerContext* context,
      const modelvault::v1::ListPoliciesRequest* request,
      modelvault::v1::ListPoliciesResponse* response) override;
  grpc::Status DeletePolicy(
      grpc::ServerContext* context,
      const modelvault::v1::DeletePolicyRequest* request,
      modelvault::v1::DeletePolicyResponse* response) override;

  // admin:keys
  grpc::Status RotateKey(grpc::ServerContext* context,
                         const modelvault::v1::RotateKeyRequest* request,
                         modelvault::v1::KeyStatus* response) override;
  grpc::Status GetKeyStatus(grpc::ServerContext* context,
                            const modelvault::v1::GetKeyStatusRequest* request,
                            modelvault::v1::KeyStatus* response) override;

 private:
  VaultSlot* slot_;
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_ADMIN_SERVICE_H_
