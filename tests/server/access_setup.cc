#include "server/access_setup.h"

#include "common/status_macros.h"

namespace mvtesting {

std::string AllowJson(const std::string& glob, const std::string& actions) {
  return R"({"rules":[{"effect":"allow","artifacts":[")" + glob +
         R"("],"actions":[)" + actions + "]}]}";
}

std::string DenyReadJson() {
  return R"({"rules":[{"effect":"deny","artifacts":["c/**"],"actions":["read"]}]})";
}

absl::StatusOr<std::string> AddPrincipalWithPolicy(
    mv::Vault& vault, const std::string& name, const std::string& json,
    const std::string& cert_identity) {
  MV_RETURN_IF_ERROR(
      vault.identity().PutPolicy(mv::RootCaller(), name, json).status());
  mv::PrincipalInfo info;
  info.name = name;
  info.policies = {name};
  info.cert_identity = cert_identity;
  MV_RETURN_IF_ERROR(
      vault.identity().CreatePrincipal(mv::RootCaller(), info).status());
  mv::TokenSpec spec;
  spec.principal = name;
  MV_ASSIGN_OR_RETURN(mv::IssuedToken issued,
                      vault.identity().CreateToken(mv::RootCaller(), spec));
  return issued.token;
}

absl::StatusOr<CallerTokens> SetUpCallers(mv::Vault& vault) {
  CallerTokens tokens;
  MV_ASSIGN_OR_RETURN(
      tokens.reader_a,
      AddPrincipalWithPolicy(vault, "reader-a",
                             AllowJson("a/**", R"("read","list")")));
  MV_ASSIGN_OR_RETURN(
      tokens.writer_a,
      AddPrincipalWithPolicy(
          vault, "writer-a",
          AllowJson("a/**", R"("read","list","write","delete","alias")")));
  MV_ASSIGN_OR_RETURN(
      tokens.reader_b,
      AddPrincipalWithPolicy(vault, "reader-b",
                             AllowJson("b/**", R"("read","list")")));
  MV_ASSIGN_OR_RETURN(
      tokens.admin,
      AddPrincipalWithPolicy(
          vault, "admin",
          R"({"rules":[{"effect":"allow","actions":["admin:principals","admin:tokens","admin:policies","admin:audit"]}]})"));
  mv::PrincipalInfo revoked;
  revoked.name = "revoked";
  revoked.policies = {"reader-a"};
  MV_RETURN_IF_ERROR(
      vault.identity().CreatePrincipal(mv::RootCaller(), revoked).status());
  mv::TokenSpec spec;
  spec.principal = "revoked";
  MV_ASSIGN_OR_RETURN(mv::IssuedToken issued,
                      vault.identity().CreateToken(mv::RootCaller(), spec));
  MV_RETURN_IF_ERROR(
      vault.identity().RevokeToken(mv::RootCaller(), issued.info.accessor));
  tokens.revoked = issued.token;
  return tokens;
}

}  // namespace mvtesting
