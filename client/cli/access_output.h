// How mvault prints identities, principals, tokens and policies: stable
// JSON (`-o json`) or human text. Times are RFC 3339 UTC strings like
// output.h's; "never"/"unlimited"/"none" are JSON null. Field names are a
// public interface (documented in README.md); add fields, never rename or
// retype one. Keys are emitted sorted.
//
//   principal  {"name", "kind": "user"|"service"|"unspecified",
//               "policies": [..], "cert_identity": str|null, "created_at"}
//   token      {"accessor", "principal", "policies": [..], "created_at",
//               "expires_at": str|null, "uses_left": int|null}
//   new token  token + {"token": "mvt_..."}
//   identity   {"principal", "kind", "policies", "accessor": str|null,
//               "tls_identity": str|null, "expires_at": str|null,
//               "uses_left": int|null}
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_ACCESS_OUTPUT_H_
#define MODELVAULT_CLIENT_CLI_ACCESS_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/cli/output.h"
#include "client/lib/access_client.h"

namespace mvcli {

std::string KindName(mvclient::PrincipalKind kind);  // "user", "service"...

nlohmann::json PrincipalToJson(const mvclient::Principal& p);
nlohmann::json TokenInfoToJson(const mvclient::TokenInfo& t);
nlohmann::json IssuedTokenToJson(const mvclient::IssuedToken& t);
nlohmann::json IdentityToJson(const mvclient::Identity& id);

// `key: value` lines.
std::string PrincipalDetails(const mvclient::Principal& p);
std::string TokenDetails(const mvclient::TokenInfo& t);
std::string IdentityDetails(const mvclient::Identity& id);

// A header row and one aligned row per item.
std::string PrincipalsTable(const std::vector<mvclient::Principal>& list);
std::string TokensTable(const std::vector<mvclient::TokenInfo>& list);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ACCESS_OUTPUT_H_
