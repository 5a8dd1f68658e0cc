#include "server/admin_service.h"

#include "absl/strings/str_cat.h"
#include "server/access_convert.h"
#include "server/call_auth.h"
#include "server/status_mapping.h"

namespace mvserver {

namespace v1 = modelvault::v1;

// Admits the call or returns its failure from the handler.
#define MV_ADMIT(method)                                                   \
  do {                                                                     \
    if (grpc::Status s = Admit(context, method, *request); !s.ok()) return s; \
  } while (0)

grpc::Status AdminServiceImpl::Admit(grpc::ServerContext* context, const char* method,
                                     const google::protobuf::Message& request) {
  return ToGrpcStatus(
      AdmitCall(*vault_, *context, absl::StrCat("modelvault.v1.AdminService.", method), request)
          .status());
}

// ---- admin:principals ----

grpc::Status AdminServiceImpl::CreatePrincipal(grpc::ServerContext* context,
                                               const v1::CreatePrincipalRequest* request,
                                               v1::Principal* response) {
  MV_ADMIT("CreatePrincipal");
  MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo spec, FromProto(*request));
  MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo info, vault_->CreatePrincipal(std::move(spec)));
  ToProto(info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListPrincipals(grpc::ServerContext* context,
                                              const v1::ListPrincipalsRequest* request,
                                              v1::ListPrincipalsResponse* response) {
  MV_ADMIT("ListPrincipals");
  for (const mv::PrincipalInfo& info : vault_->ListPrincipals()) ToProto(info, response->add_principals());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetPrincipal(grpc::ServerContext* context,
                                            const v1::GetPrincipalRequest* request,
                                            v1::Principal* response) {
  MV_ADMIT("GetPrincipal");
  MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo info, vault_->GetPrincipal(request->name()));
  ToProto(info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeletePrincipal(grpc::ServerContext* context,
                                               const v1::DeletePrincipalRequest* request,
                                               v1::DeletePrincipalResponse* response) {
  MV_ADMIT("DeletePrincipal");
  MV_GRPC_ASSIGN_OR_RETURN(uint32_t revoked, vault_->DeletePrincipal(request->name()));
  response->set_revoked_tokens(revoked);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::AttachPolicy(grpc::ServerContext* context,
                                            const v1::AttachPolicyRequest* request,
                                            v1::Principal* response) {
  MV_ADMIT("AttachPolicy");
  MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo info,
                           vault_->AttachPolicy(request->principal(), request->policy()));
  ToProto(info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DetachPolicy(grpc::ServerContext* context,
                                            const v1::DetachPolicyRequest* request,
                                            v1::Principal* response) {
  MV_ADMIT("DetachPolicy");
  MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo info,
                           vault_->DetachPolicy(request->principal(), request->policy()));
  ToProto(info, response);
  return grpc::Status::OK;
}

// ---- admin:tokens ----

grpc::Status AdminServiceImpl::CreateToken(grpc::ServerContext* context,
                                           const v1::CreateTokenRequest* request,
                                           v1::CreateTokenResponse* response) {
  MV_ADMIT("CreateToken");
  MV_GRPC_ASSIGN_OR_RETURN(mv::TokenSpec spec, FromProto(*request));
  MV_GRPC_ASSIGN_OR_RETURN(mv::IssuedToken issued, vault_->CreateToken(spec));
  response->set_token(issued.token);
  ToProto(issued.info, response->mutable_info());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListTokens(grpc::ServerContext* context,
                                          const v1::ListTokensRequest* request,
                                          v1::ListTokensResponse* response) {
  MV_ADMIT("ListTokens");
  for (const mv::TokenInfo& info : vault_->ListTokens(request->principal())) {
    ToProto(info, response->add_tokens());
  }
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::LookupToken(grpc::ServerContext* context,
                                           const v1::LookupTokenRequest* request,
                                           v1::TokenInfo* response) {
  MV_ADMIT("LookupToken");
  MV_GRPC_ASSIGN_OR_RETURN(mv::TokenInfo info, vault_->LookupToken(request->accessor()));
  ToProto(info, response);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeToken(grpc::ServerContext* context,
                                           const v1::RevokeTokenRequest* request,
                                           v1::RevokeTokenResponse*) {
  MV_ADMIT("RevokeToken");
  return ToGrpcStatus(vault_->RevokeToken(request->accessor()));
}

// ---- admin:policies ----

grpc::Status AdminServiceImpl::PutPolicy(grpc::ServerContext* context,
                                         const v1::PutPolicyRequest* request,
                                         v1::PolicyDocument* response) {
  MV_ADMIT("PutPolicy");
  MV_GRPC_ASSIGN_OR_RETURN(mv::Policy policy, vault_->PutPolicy(request->name(), request->json()));
  response->set_name(policy.name);
  response->set_json(mv::PolicyToJson(policy));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetPolicy(grpc::ServerContext* context,
                                         const v1::GetPolicyRequest* request,
                                         v1::PolicyDocument* response) {
  MV_ADMIT("GetPolicy");
  MV_GRPC_ASSIGN_OR_RETURN(std::string json, vault_->GetPolicy(request->name()));
  response->set_name(request->name());
  response->set_json(std::move(json));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListPolicies(grpc::ServerContext* context,
                                            const v1::ListPoliciesRequest* request,
                                            v1::ListPoliciesResponse* response) {
  MV_ADMIT("ListPolicies");
  for (const std::string& name : vault_->ListPolicies()) response->add_names(name);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeletePolicy(grpc::ServerContext* context,
                                            const v1::DeletePolicyRequest* request,
                                            v1::DeletePolicyResponse*) {
  MV_ADMIT("DeletePolicy");
  return ToGrpcStatus(vault_->DeletePolicy(request->name()));
}

#undef MV_ADMIT

}  // namespace mvserver
