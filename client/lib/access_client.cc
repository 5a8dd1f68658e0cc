#include "client/lib/access_client.h"

#include <grpcpp/channel.h>

#include <utility>

#include "client/lib/client_internal.h"
#include "client/lib/grpc_status.h"

namespace mvclient {
namespace {

namespace v1 = modelvault::v1;

PrincipalKind FromProto(v1::PrincipalKind kind) {
  switch (kind) {
    case v1::PRINCIPAL_KIND_USER:
      return PrincipalKind::kUser;
    case v1::PRINCIPAL_KIND_SERVICE:
      return PrincipalKind::kService;
    default:
      return PrincipalKind::kUnspecified;
  }
}

v1::PrincipalKind ToProto(PrincipalKind kind) {
  switch (kind) {
    case PrincipalKind::kUser:
      return v1::PRINCIPAL_KIND_USER;
    case PrincipalKind::kService:
      return v1::PRINCIPAL_KIND_SERVICE;
    default:
      return v1::PRINCIPAL_KIND_UNSPECIFIED;
  }
}

template <typename Repeated>
std::vector<std::string> Strings(const Repeated& values) {
  return std::vector<std::string>(values.begin(), values.end());
}

Principal FromProto(const v1::Principal& p) {
  return Principal{p.name(), FromProto(p.kind()), Strings(p.policies()),
                   p.cert_identity(), p.created_at_unix_ms()};
}

TokenInfo FromProto(const v1::TokenInfo& t) {
  return TokenInfo{t.accessor(),           t.principal(),
                   Strings(t.policies()),  t.created_at_unix_ms(),
                   t.expires_at_unix_ms(), t.uses_left()};
}

template <typename T>
absl::StatusOr<Principal> ToPrincipal(absl::StatusOr<T> resp) {
  if (!resp.ok()) return resp.status();
  return FromProto(*resp);
}

}  // namespace

AccessClient::AccessClient(std::shared_ptr<Client> client)
    : client_(std::move(client)),
      auth_(v1::AuthService::NewStub(client_->channel_)),
      admin_(v1::AdminService::NewStub(client_->channel_)) {}

template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> AccessClient::Call(
    Stub& stub,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
    const Req& request) {
  grpc::ClientContext ctx;
  client_->Prepare(ctx, /*unary=*/true);
  Client::ActiveCall active(*client_, ctx);
  Resp response;
  absl::Status status =
      FromGrpcStatus((stub.*method)(&ctx, request, &response));
  if (!status.ok()) return client_->Explain(status, false);
  return response;
}

absl::StatusOr<Identity> AccessClient::WhoAmI() {
  auto resp = Call(*auth_, &v1::AuthService::Stub::WhoAmI, v1::WhoAmIRequest());
  if (!resp.ok()) return resp.status();
  return Identity{resp->principal(),         FromProto(resp->kind()),
                  Strings(resp->policies()), resp->token_accessor(),
                  resp->tls_identity(),      resp->token_expires_at_unix_ms(),
                  resp->token_uses_left()};
}

absl::StatusOr<Principal> AccessClient::CreatePrincipal(
    const NewPrincipal& principal) {
  v1::CreatePrincipalRequest req;
  req.set_name(principal.name);
  req.set_kind(ToProto(principal.kind));
  for (const std::string& p : principal.policies) req.add_policies(p);
  req.set_cert_identity(principal.cert_identity);
  return ToPrincipal(
      Call(*admin_, &v1::AdminService::Stub::CreatePrincipal, req));
}

absl::StatusOr<std::vector<Principal>> AccessClient::ListPrincipals() {
  auto resp = Call(*admin_, &v1::AdminService::Stub::ListPrincipals,
                   v1::ListPrincipalsRequest());
  if (!resp.ok()) return resp.status();
  std::vector<Principal> out;
  for (const v1::Principal& p : resp->principals()) out.push_back(FromProto(p));
  return out;
}

absl::StatusOr<Principal> AccessClient::GetPrincipal(const std::string& name) {
  v1::GetPrincipalRequest req;
  req.set_name(name);
  return ToPrincipal(Call(*admin_, &v1::AdminService::Stub::GetPrincipal, req));
}

absl::StatusOr<uint32_t> AccessClient::DeletePrincipal(
    const std::string& name) {
  v1::DeletePrincipalRequest req;
  req.set_name(name);
  auto resp = Call(*admin_, &v1::AdminService::Stub::DeletePrincipal, req);
  if (!resp.ok()) return resp.status();
  return resp->revoked_tokens();
}

absl::StatusOr<Principal> AccessClient::AttachPolicy(
    const std::string& principal, const std::string& policy) {
  v1::AttachPolicyRequest req;
  req.set_principal(principal);
  req.set_policy(policy);
  return ToPrincipal(Call(*admin_, &v1::AdminService::Stub::AttachPolicy, req));
}

absl::StatusOr<Principal> AccessClient::DetachPolicy(
    const std::string& principal, const std::string& policy) {
  v1::DetachPolicyRequest req;
  req.set_principal(principal);
  req.set_policy(policy);
  return ToPrincipal(Call(*admin_, &v1::AdminService::Stub::DetachPolicy, req));
}

absl::StatusOr<IssuedToken> AccessClient::CreateToken(
    const TokenRequest& request) {
  v1::CreateTokenRequest req;
  req.set_principal(request.principal);
  req.set_ttl_seconds(absl::ToInt64Seconds(request.ttl));
  req.set_uses(request.uses);
  for (const std::string& p : request.policies) req.add_policies(p);
  auto resp = Call(*admin_, &v1::AdminService::Stub::CreateToken, req);
  if (!resp.ok()) return resp.status();
  return IssuedToken{resp->token(), FromProto(resp->info())};
}

absl::StatusOr<std::vector<TokenInfo>> AccessClient::ListTokens(
    const std::string& principal) {
  v1::ListTokensRequest req;
  req.set_principal(principal);
  auto resp = Call(*admin_, &v1::AdminService::Stub::ListTokens, req);
  if (!resp.ok()) return resp.status();
  std::vector<TokenInfo> out;
  for (const v1::TokenInfo& t : resp->tokens()) out.push_back(FromProto(t));
  return out;
}

absl::StatusOr<TokenInfo> AccessClient::LookupToken(
    const std::string& accessor) {
  v1::LookupTokenRequest req;
  req.set_accessor(accessor);
  auto resp = Call(*admin_, &v1::AdminService::Stub::LookupToken, req);
  if (!resp.ok()) return resp.status();
  return FromProto(*resp);
}

absl::Status AccessClient::RevokeToken(const std::string& accessor) {
  v1::RevokeTokenRequest req;
  req.set_accessor(accessor);
  return Call(*admin_, &v1::AdminService::Stub::RevokeToken, req).status();
}

absl::StatusOr<PolicyDocument> AccessClient::PutPolicy(
    const std::string& name, const std::string& json) {
  v1::PutPolicyRequest req;
  req.set_name(name);
  req.set_json(json);
  auto resp = Call(*admin_, &v1::AdminService::Stub::PutPolicy, req);
  if (!resp.ok()) return resp.status();
  return PolicyDocument{resp->name(), resp->json()};
}

absl::StatusOr<PolicyDocument> AccessClient::GetPolicy(
    const std::string& name) {
  v1::GetPolicyRequest req;
  req.set_name(name);
  auto resp = Call(*admin_, &v1::AdminService::Stub::GetPolicy, req);
  if (!resp.ok()) return resp.status();
  return PolicyDocument{resp->name(), resp->json()};
}

absl::StatusOr<std::vector<std::string>> AccessClient::ListPolicies() {
  auto resp = Call(*admin_, &v1::AdminService::Stub::ListPolicies,
                   v1::ListPoliciesRequest());
  if (!resp.ok()) return resp.status();
  return Strings(resp->names());
}

absl::Status AccessClient::DeletePolicy(const std::string& name) {
  v1::DeletePolicyRequest req;
  req.set_name(name);
  return Call(*admin_, &v1::AdminService::Stub::DeletePolicy, req).status();
}

namespace {

KeyStatus FromProto(const v1::KeyStatus& in) {
  KeyStatus out;
  for (const v1::KeyVersion& v : in.versions()) {
    out.versions.push_back({v.version(), v.created_unix_ms(), v.current(),
                            v.records(), v.data_keys(), v.named_keys()});
  }
  out.rotation_running = in.rotation_running();
  out.rewrapped_data_keys = in.rewrapped_data_keys();
  out.resealed_records = in.resealed_records();
  out.retired.assign(in.retired().begin(), in.retired().end());
  out.last_error = in.last_error();
  out.rotated_to = in.rotated_to();
  return out;
}

}  // namespace

absl::StatusOr<KeyStatus> AccessClient::RotateKey() {
  auto resp =
      Call(*admin_, &v1::AdminService::Stub::RotateKey, v1::RotateKeyRequest());
  if (!resp.ok()) return resp.status();
  return FromProto(*resp);
}

absl::StatusOr<KeyStatus> AccessClient::GetKeyStatus() {
  auto resp = Call(*admin_, &v1::AdminService::Stub::GetKeyStatus,
                   v1::GetKeyStatusRequest());
  if (!resp.ok()) return resp.status();
  return FromProto(*resp);
}

}  // namespace mvclient
