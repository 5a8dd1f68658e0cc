#include "server/admin_service.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/access_convert.h"
#include "server/audited_call.h"
#include "server/status_mapping.h"

namespace mvserver {

namespace v1 = modelvault::v1;

// ---- admin:principals ----

grpc::Status AdminServiceImpl::CreatePrincipal(
    grpc::ServerContext* context, const v1::CreatePrincipalRequest* request,
    v1::Principal* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall& call) -> grpc::Status {
        audit.SetResource("principal:" + request->name());
        MV_GRPC_ASSIGN_OR_RETURN(mv::PrincipalInfo spec, FromProto(*request));
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::PrincipalInfo info,
            vault.identity().CreatePrincipal(call.caller.who, std::move(spec),
                                             audit.ForMutation()));
        ToProto(info, response);
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::ListPrincipals(
    grpc::ServerContext* context, const v1::ListPrincipalsRequest* request,
    v1::ListPrincipalsResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) -> grpc::Status {
        for (const mv::PrincipalInfo& info : vault.identity().ListPrincipals())
          ToProto(info, response->add_principals());
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::GetPrincipal(
    grpc::ServerContext* context, const v1::GetPrincipalRequest* request,
    v1::Principal* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource("principal:" + request->name());
                       MV_GRPC_ASSIGN_OR_RETURN(
                           mv::PrincipalInfo info,
                           vault.identity().GetPrincipal(request->name()));
                       ToProto(info, response);
                       return grpc::Status::OK;
                     });
}

grpc::Status AdminServiceImpl::DeletePrincipal(
    grpc::ServerContext* context, const v1::DeletePrincipalRequest* request,
    v1::DeletePrincipalResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall& call) -> grpc::Status {
        audit.SetResource("principal:" + request->name());
        MV_GRPC_ASSIGN_OR_RETURN(
            uint32_t revoked,
            vault.identity().DeletePrincipal(call.caller.who, request->name(),
                                             audit.ForMutation()));
        response->set_revoked_tokens(revoked);
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::AttachPolicy(
    grpc::ServerContext* context, const v1::AttachPolicyRequest* request,
    v1::Principal* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall& call) -> grpc::Status {
                       audit.SetResource("principal:" + request->principal());
                       MV_GRPC_ASSIGN_OR_RETURN(
                           mv::PrincipalInfo info,
                           vault.identity().AttachPolicy(
                               call.caller.who, request->principal(),
                               request->policy(), audit.ForMutation()));
                       ToProto(info, response);
                       return grpc::Status::OK;
                     });
}

grpc::Status AdminServiceImpl::DetachPolicy(
    grpc::ServerContext* context, const v1::DetachPolicyRequest* request,
    v1::Principal* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall& call) -> grpc::Status {
                       audit.SetResource("principal:" + request->principal());
                       MV_GRPC_ASSIGN_OR_RETURN(
                           mv::PrincipalInfo info,
                           vault.identity().DetachPolicy(
                               call.caller.who, request->principal(),
                               request->policy(), audit.ForMutation()));
                       ToProto(info, response);
                       return grpc::Status::OK;
                     });
}

// ---- admin:tokens ----

grpc::Status AdminServiceImpl::CreateToken(
    grpc::ServerContext* context, const v1::CreateTokenRequest* request,
    v1::CreateTokenResponse* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall& call) -> grpc::Status {
                       MV_GRPC_ASSIGN_OR_RETURN(mv::TokenSpec spec,
                                                FromProto(*request));
                       MV_GRPC_ASSIGN_OR_RETURN(
                           mv::IssuedToken issued,
                           vault.identity().CreateToken(call.caller.who, spec,
                                                        audit.ForMutation()));
                       response->set_token(issued.token);
                       ToProto(issued.info, response->mutable_info());
                       return grpc::Status::OK;
                     });
}

grpc::Status AdminServiceImpl::ListTokens(grpc::ServerContext* context,
                                          const v1::ListTokensRequest* request,
                                          v1::ListTokensResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) -> grpc::Status {
        for (const mv::TokenInfo& info :
             vault.identity().ListTokens(request->principal())) {
          ToProto(info, response->add_tokens());
        }
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::LookupToken(
    grpc::ServerContext* context, const v1::LookupTokenRequest* request,
    v1::TokenInfo* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource("token:" + request->accessor());
                       MV_GRPC_ASSIGN_OR_RETURN(
                           mv::TokenInfo info,
                           vault.identity().LookupToken(request->accessor()));
                       ToProto(info, response);
                       return grpc::Status::OK;
                     });
}

grpc::Status AdminServiceImpl::RevokeToken(
    grpc::ServerContext* context, const v1::RevokeTokenRequest* request,
    v1::RevokeTokenResponse*) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall& call) -> grpc::Status {
        audit.SetResource("token:" + request->accessor());
        return ToGrpcStatus(vault.identity().RevokeToken(
            call.caller.who, request->accessor(), audit.ForMutation()));
      });
}

// ---- admin:policies ----

grpc::Status AdminServiceImpl::PutPolicy(grpc::ServerContext* context,
                                         const v1::PutPolicyRequest* request,
                                         v1::PolicyDocument* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall& call) -> grpc::Status {
        audit.SetResource("policy:" + request->name());
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::Policy policy,
            vault.identity().PutPolicy(call.caller.who, request->name(),
                                       request->json(), audit.ForMutation()));
        response->set_name(policy.name);
        response->set_json(mv::PolicyToJson(policy));
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::GetPolicy(grpc::ServerContext* context,
                                         const v1::GetPolicyRequest* request,
                                         v1::PolicyDocument* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource("policy:" + request->name());
                       MV_GRPC_ASSIGN_OR_RETURN(
                           std::string json,
                           vault.identity().GetPolicy(request->name()));
                       response->set_name(request->name());
                       response->set_json(std::move(json));
                       return grpc::Status::OK;
                     });
}

grpc::Status AdminServiceImpl::ListPolicies(
    grpc::ServerContext* context, const v1::ListPoliciesRequest* request,
    v1::ListPoliciesResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit&, const AdmittedCall&) -> grpc::Status {
        for (const std::string& name : vault.identity().ListPolicies())
          response->add_names(name);
        return grpc::Status::OK;
      });
}

grpc::Status AdminServiceImpl::DeletePolicy(
    grpc::ServerContext* context, const v1::DeletePolicyRequest* request,
    v1::DeletePolicyResponse*) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource("policy:" + request->name());
                       return ToGrpcStatus(vault.identity().DeletePolicy(
                           request->name(), audit.ForMutation()));
                     });
}

// ---- admin:keys ----

namespace {

absl::Status KeyStatusToProto(const mv::Vault& vault, v1::KeyStatus* out) {
  MV_ASSIGN_OR_RETURN(mv::KeyRotationStatus status,
                      vault.key_rotation().Status());
  for (const mv::KeyVersionUse& use : status.versions) {
    v1::KeyVersion* v = out->add_versions();
    v->set_version(use.version);
    v->set_created_unix_ms(use.created_unix_ms);
    v->set_current(use.current);
    v->set_records(use.records);
    v->set_data_keys(use.data_keys);
    v->set_named_keys(use.named_keys);
  }
  out->set_rotation_running(status.running);
  out->set_rewrapped_data_keys(status.rewrapped_data_keys);
  out->set_resealed_records(status.resealed_records);
  for (uint32_t retired : status.retired) out->add_retired(retired);
  out->set_last_error(status.last_error);
  return absl::OkStatus();
}

}  // namespace

grpc::Status AdminServiceImpl::RotateKey(grpc::ServerContext* context,
                                         const v1::RotateKeyRequest* request,
                                         v1::KeyStatus* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource("keyring");
                       MV_GRPC_ASSIGN_OR_RETURN(
                           uint32_t version,
                           vault.key_rotation().Rotate(audit.ForMutation()));
                       response->set_rotated_to(version);
                       return ToGrpcStatus(KeyStatusToProto(vault, response));
                     });
}

grpc::Status AdminServiceImpl::GetKeyStatus(
    grpc::ServerContext* context, const v1::GetKeyStatusRequest* request,
    v1::KeyStatus* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource("keyring");
                       return ToGrpcStatus(KeyStatusToProto(vault, response));
                     });
}

}  // namespace mvserver
