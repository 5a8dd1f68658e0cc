#include "client/cli/access_output.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/output.h"

namespace mvcli {
namespace {

using mvclient::Identity;
using mvclient::Principal;
using mvclient::TokenInfo;

nlohmann::json StringOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

nlohmann::json ExpiryJson(int64_t unix_ms) {
  if (unix_ms == 0) return nullptr;
  return Rfc3339Utc(unix_ms);
}

nlohmann::json UsesJson(int64_t uses_left) {
  if (uses_left < 0) return nullptr;
  return uses_left;
}

std::string ExpiryText(int64_t unix_ms) {
  return unix_ms == 0 ? "never" : Rfc3339Utc(unix_ms);
}

std::string UsesText(int64_t uses_left) {
  return uses_left < 0 ? "unlimited" : absl::StrCat(uses_left);
}

std::string ListText(const std::vector<std::string>& items,
                     absl::string_view empty) {
  return items.empty() ? std::string(empty) : absl::StrJoin(items, ",");
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

std::string KindName(mvclient::PrincipalKind kind) {
  switch (kind) {
    case mvclient::PrincipalKind::kUser:
      return "user";
    case mvclient::PrincipalKind::kService:
      return "service";
    default:
      return "unspecified";
  }
}

nlohmann::json PrincipalToJson(const Principal& p) {
  return {{"name", p.name},
          {"kind", KindName(p.kind)},
          {"policies", p.policies},
          {"cert_identity", StringOrNull(p.cert_identity)},
          {"created_at", Rfc3339Utc(p.created_at_unix_ms)}};
}

nlohmann::json TokenInfoToJson(const TokenInfo& t) {
  return {{"accessor", t.accessor},
          {"principal", t.principal},
          {"policies", t.policies},
          {"created_at", Rfc3339Utc(t.created_at_unix_ms)},
          {"expires_at", ExpiryJson(t.expires_at_unix_ms)},
          {"uses_left", UsesJson(t.uses_left)}};
}

nlohmann::json IssuedTokenToJson(const mvclient::IssuedToken& t) {
  nlohmann::json j = TokenInfoToJson(t.info);
  j["token"] = t.token;
  return j;
}

nlohmann::json IdentityToJson(const Identity& id) {
  return {{"principal", id.principal},
          {"kind", KindName(id.kind)},
          {"policies", id.policies},
          {"accessor", StringOrNull(id.token_accessor)},
          {"tls_identity", StringOrNull(id.tls_identity)},
          {"expires_at", id.token_accessor.empty()
                             ? nullptr
                             : ExpiryJson(id.token_expires_at_unix_ms)},
          {"uses_left",
           id.token_accessor.empty() ? nullptr : UsesJson(id.token_uses_left)}};
}

std::string PrincipalDetails(const Principal& p) {
  return absl::StrCat(
      "name:          ", p.name, "\n",                          //
      "kind:          ", KindName(p.kind), "\n",                //
      "policies:      ", ListText(p.policies, "(none)"), "\n",  //
      "cert_identity: ", OrDash(p.cert_identity), "\n",         //
      "created_at:    ", Rfc3339Utc(p.created_at_unix_ms), "\n");
}

std::string TokenDetails(const TokenInfo& t) {
  return absl::StrCat(
      "accessor:   ", t.accessor, "\n",                                  //
      "principal:  ", t.principal, "\n",                                 //
      "policies:   ", ListText(t.policies, "(all of the principal's)"),  //
      "\n",                                                              //
      "created_at: ", Rfc3339Utc(t.created_at_unix_ms), "\n",            //
      "expires_at: ", ExpiryText(t.expires_at_unix_ms), "\n",            //
      "uses_left:  ", UsesText(t.uses_left), "\n");
}

std::string IdentityDetails(const Identity& id) {
  bool token = !id.token_accessor.empty();
  return absl::StrCat(
      "principal:    ", id.principal, "\n",                                //
      "kind:         ", KindName(id.kind), "\n",                           //
      "policies:     ", ListText(id.policies, "(none)"), "\n",             //
      "accessor:     ", token ? id.token_accessor : "- (no token)", "\n",  //
      "tls_identity: ", OrDash(id.tls_identity), "\n",                     //
      "expires_at:   ", token ? ExpiryText(id.token_expires_at_unix_ms) : "-",
      "\n",  //
      "uses_left:    ", token ? UsesText(id.token_uses_left) : "-", "\n");
}

std::string PrincipalsTable(const std::vector<Principal>& list) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "KIND", "POLICIES", "CERT_IDENTITY", "CREATED"}};
  for (const Principal& p : list) {
    rows.push_back({p.name, KindName(p.kind), ListText(p.policies, "-"),
                    OrDash(p.cert_identity), Rfc3339Utc(p.created_at_unix_ms)});
  }
  return AlignedTable(rows);
}

std::string TokensTable(const std::vector<TokenInfo>& list) {
  std::vector<std::vector<std::string>> rows = {
      {"ACCESSOR", "PRINCIPAL", "POLICIES", "CREATED", "EXPIRES", "USES_LEFT"}};
  for (const TokenInfo& t : list) {
    rows.push_back({t.accessor, t.principal, ListText(t.policies, "*"),
                    Rfc3339Utc(t.created_at_unix_ms),
                    ExpiryText(t.expires_at_unix_ms), UsesText(t.uses_left)});
  }
  return AlignedTable(rows);
}
}  // namespace mvcli
