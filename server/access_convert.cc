#include "server/access_convert.h"

#include "absl/strings/str_cat.h"

namespace mvserver {
namespace {

namespace v1 = modelvault::v1;

v1::PrincipalKind KindToProto(mv::PrincipalKind kind) {
  return kind == mv::PrincipalKind::kService ? v1::PRINCIPAL_KIND_SERVICE
                                             : v1::PRINCIPAL_KIND_USER;
}

}  // namespace

void ToProto(const mv::PrincipalInfo& info, v1::Principal* out) {
  out->set_name(info.name);
  out->set_kind(KindToProto(info.kind));
  for (const std::string& policy : info.policies) out->add_policies(policy);
  out->set_cert_identity(info.cert_identity);
  out->set_created_at_unix_ms(info.created_at_unix_ms);
}

void ToProto(const mv::TokenInfo& info, v1::TokenInfo* out) {
  out->set_accessor(info.accessor);
  out->set_principal(info.principal);
  for (const std::string& policy : info.policies) out->add_policies(policy);
  out->set_created_at_unix_ms(info.created_at_unix_ms);
  out->set_expires_at_unix_ms(info.expires_at_unix_ms);
  out->set_uses_left(info.uses_left);
}

void ToProto(const mv::Principal& who, v1::WhoAmIResponse* out) {
  out->set_principal(who.name);
  out->set_kind(KindToProto(who.kind));
  for (const std::string& policy : who.policies) out->add_policies(policy);
  out->set_token_accessor(who.token_accessor);
  out->set_tls_identity(who.tls_identity);
  out->set_token_expires_at_unix_ms(who.token_expires_at_unix_ms);
  out->set_token_uses_left(who.token_uses_left);
}

absl::StatusOr<mv::PrincipalInfo> FromProto(
    const v1::CreatePrincipalRequest& request) {
  mv::PrincipalInfo info;
  info.name = request.name();
  switch (request.kind()) {
    case v1::PRINCIPAL_KIND_UNSPECIFIED:
    case v1::PRINCIPAL_KIND_USER:
      info.kind = mv::PrincipalKind::kUser;
      break;
    case v1::PRINCIPAL_KIND_SERVICE:
      info.kind = mv::PrincipalKind::kService;
      break;
    default:
      return absl::InvalidArgumentError("unknown principal kind " +
                                        std::to_string(request.kind()));
  }
  info.policies.assign(request.policies().begin(), request.policies().end());
  info.cert_identity = request.cert_identity();
  return info;
}

absl::StatusOr<mv::TokenSpec> FromProto(const v1::CreateTokenRequest& request) {
  if (request.ttl_seconds() < 0)
    return absl::InvalidArgumentError("ttl_seconds must not be negative");
  if (request.uses() < 0)
    return absl::InvalidArgumentError("uses must not be negative");
  // Checked here too: absl::Seconds of a huge count saturates to infinity.
  if (request.ttl_seconds() > absl::ToInt64Seconds(mv::kMaxTokenTtl)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_seconds: at most ",
                     absl::ToInt64Seconds(mv::kMaxTokenTtl), " (ten years)"));
  }
  mv::TokenSpec spec;
  spec.principal = request.principal();
  spec.ttl = absl::Seconds(request.ttl_seconds());
  spec.uses = request.uses();
  spec.policies.assign(request.policies().begin(), request.policies().end());
  return spec;
}

}  // namespace mvserver
