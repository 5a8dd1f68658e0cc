#include "server/admin_service.h"

#include "absl/strings/str_cat.h"
#include "server/access_convert.h"
#include "server/call_audit.h"
#include "server/call_auth.h"
#include "server/status_mapping.h"

namespace mvserver {

namespace v1 = modelvault::v1;

namespace {

// Admits the call of AdminService `method` ("CreateToken") and runs `body`
// for the admitted caller, both inside the call's audit record
// (server/call_audit.h).
template <typename Body>
grpc::Status Audited(mv::Vault& vault, grpc::ServerContext* context,
                     std::string_view method,
                     const google::protobuf::Message& request, Body body) {
  const std::string full =
      absl::StrCat("modelvault.v1.AdminService.", std::string(method));
  CallAudit audit(&vault, *context, full);
  absl::StatusOr<AdmittedCall> admitted =
      AdmitCall(vault, *context, full, request, audit);
  if (!admitted.ok()) return audit.Finish(ToGrpcStatus(admitted.status()));
  return audit.Finish(body(audit, admitted->caller.who));
}

}  // namespace

// ---- admin:principals ----

grpc::Status AdminServiceImpl::CreatePrincipal(
    grpc::ServerContext* context, const v1::CreatePrincipalRequest* request,
    v1::Principal* response) {
  return Audited(
      *vault_, context, "CreatePrincipal", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        audit.SetResource("principal:" + request->name());
        MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo spec, FromProto(*request));
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::PrincipalInfo info,
            vault_->CreatePrincipal(caller, std::move(spec),
                                    audit.ForMutation()));
        ToProto(info, response);
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::ListPrincipals(
    grpc::ServerContext* context, const v1::ListPrincipalsRequest* request,
    v1::ListPrincipalsResponse* response) {
  return Audited(
      *vault_, context, "ListPrincipals", *request,
      [&](CallAudit&, const mv::Principal&) -> grpc::Status {
        for (const mv::PrincipalInfo& info : vault_->ListPrincipals())
          ToProto(info, response->add_principals());
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::GetPrincipal(
    grpc::ServerContext* context, const v1::GetPrincipalRequest* request,
    v1::Principal* response) {
  return Audited(*vault_, context, "GetPrincipal", *request,
                 [&](CallAudit& audit, const mv::Principal&) -> grpc::Status {
                   audit.SetResource("principal:" + request->name());
                   MV_GRPC_ASSIGN_OR_RETURN(
                       mv::PrincipalInfo info,
                       vault_->GetPrincipal(request->name()));
                   ToProto(info, response);
                   return grpc::Status::OK;
                 });
}

grpc::Status AdminServiceImpl::DeletePrincipal(
    grpc::ServerContext* context, const v1::DeletePrincipalRequest* request,
    v1::DeletePrincipalResponse* response) {
  return Audited(
      *vault_, context, "DeletePrincipal", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        audit.SetResource("principal:" + request->name());
        MV_GRPC_ASSIGN_OR_RETURN(
            uint32_t revoked, vault_->DeletePrincipal(caller, request->name(),
                                                      audit.ForMutation()));
        response->set_revoked_tokens(revoked);
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::AttachPolicy(
    grpc::ServerContext* context, const v1::AttachPolicyRequest* request,
    v1::Principal* response) {
  return Audited(
      *vault_, context, "AttachPolicy", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        audit.SetResource("principal:" + request->principal());
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::PrincipalInfo info,
            vault_->AttachPolicy(caller, request->principal(),
                                 request->policy(), audit.ForMutation()));
        ToProto(info, response);
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::DetachPolicy(
    grpc::ServerContext* context, const v1::DetachPolicyRequest* request,
    v1::Principal* response) {
  return Audited(
      *vault_, context, "DetachPolicy", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        audit.SetResource("principal:" + request->principal());
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::PrincipalInfo info,
            vault_->DetachPolicy(caller, request->principal(),
                                 request->policy(), audit.ForMutation()));
        ToProto(info, response);
        return grpc::Status::OK;
      });
}

// ---- admin:tokens ----

grpc::Status AdminServiceImpl::CreateToken(
    grpc::ServerContext* context, const v1::CreateTokenRequest* request,
    v1::CreateTokenResponse* response) {
  return Audited(
      *vault_, context, "CreateToken", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        MV_GRPC_ASSIGN_OR_RETURN(mv::TokenSpec spec, FromProto(*request));
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::IssuedToken issued,
            vault_->CreateToken(caller, spec, audit.ForMutation()));
        response->set_token(issued.token);
        ToProto(issued.info, response->mutable_info());
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::ListTokens(grpc::ServerContext* context,
                                          const v1::ListTokensRequest* request,
                                          v1::ListTokensResponse* response) {
  return Audited(*vault_, context, "ListTokens", *request,
                 [&](CallAudit&, const mv::Principal&) -> grpc::Status {
                   for (const mv::TokenInfo& info :
                        vault_->ListTokens(request->principal())) {
                     ToProto(info, response->add_tokens());
                   }
                   return grpc::Status::OK;
                 });
}

grpc::Status AdminServiceImpl::LookupToken(
    grpc::ServerContext* context, const v1::LookupTokenRequest* request,
    v1::TokenInfo* response) {
  return Audited(*vault_, context, "LookupToken", *request,
                 [&](CallAudit& audit, const mv::Principal&) -> grpc::Status {
                   audit.SetResource("token:" + request->accessor());
                   MV_GRPC_ASSIGN_OR_RETURN(
                       mv::TokenInfo info,
                       vault_->LookupToken(request->accessor()));
                   ToProto(info, response);
                   return grpc::Status::OK;
                 });
}

grpc::Status AdminServiceImpl::RevokeToken(
    grpc::ServerContext* context, const v1::RevokeTokenRequest* request,
    v1::RevokeTokenResponse*) {
  return Audited(
      *vault_, context, "RevokeToken", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        audit.SetResource("token:" + request->accessor());
        return ToGrpcStatus(vault_->RevokeToken(caller, request->accessor(),
                                                audit.ForMutation()));
      });
}

// ---- admin:policies ----

grpc::Status AdminServiceImpl::PutPolicy(grpc::ServerContext* context,
                                         const v1::PutPolicyRequest* request,
                                         v1::PolicyDocument* response) {
  return Audited(
      *vault_, context, "PutPolicy", *request,
      [&](CallAudit& audit, const mv::Principal& caller) -> grpc::Status {
        audit.SetResource("policy:" + request->name());
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::Policy policy,
            vault_->PutPolicy(caller, request->name(), request->json(),
                              audit.ForMutation()));
        response->set_name(policy.name);
        response->set_json(mv::PolicyToJson(policy));
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::GetPolicy(grpc::ServerContext* context,
                                         const v1::GetPolicyRequest* request,
                                         v1::PolicyDocument* response) {
  return Audited(*vault_, context, "GetPolicy", *request,
                 [&](CallAudit& audit, const mv::Principal&) -> grpc::Status {
                   audit.SetResource("policy:" + request->name());
                   MV_GRPC_ASSIGN_OR_RETURN(std::string json,
                                            vault_->GetPolicy(request->name()));
                   response->set_name(request->name());
                   response->set_json(std::move(json));
                   return grpc::Status::OK;
                 });
}

grpc::Status AdminServiceImpl::ListPolicies(
    grpc::ServerContext* context, const v1::ListPoliciesRequest* request,
    v1::ListPoliciesResponse* response) {
  return Audited(*vault_, context, "ListPolicies", *request,
                 [&](CallAudit&, const mv::Principal&) -> grpc::Status {
                   for (const std::string& name : vault_->ListPolicies())
                     response->add_names(name);
                   return grpc::Status::OK;
                 });
}

grpc::Status AdminServiceImpl::DeletePolicy(
    grpc::ServerContext* context, const v1::DeletePolicyRequest* request,
    v1::DeletePolicyResponse*) {
  return Audited(*vault_, context, "DeletePolicy", *request,
                 [&](CallAudit& audit, const mv::Principal&) -> grpc::Status {
                   audit.SetResource("policy:" + request->name());
                   return ToGrpcStatus(vault_->DeletePolicy(
                       request->name(), audit.ForMutation()));
                 });
}

}  // namespace mvserver
