#include "server/call_auth.h"

#include <arpa/inet.h>
#include <grpc/grpc_security_constants.h>

#include "absl/strings/str_cat.h"
#include "server/method_access.h"
#include "server/request_limits.h"

namespace mvserver {
namespace {

// Decodes the %XX escapes gRPC may put in a peer URI ("%5B::1%5D").
std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return "";
      int value = 0;
      for (char c : in.substr(i + 1, 2)) {
        value <<= 4;
        if (c >= '0' && c <= '9')
          value |= c - '0';
        else if (c >= 'a' && c <= 'f')
          value |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
          value |= c - 'A' + 10;
        else
          return "";
      }
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

bool IsAddress(int family, const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(family, text.c_str(), buffer) == 1;
}

std::string ToString(grpc::string_ref ref) {
  return std::string(ref.data(), ref.size());
}

}  // namespace

std::string PeerIp(std::string_view peer) {
  const bool v6 = peer.starts_with("ipv6:");
  if (!v6 && !peer.starts_with("ipv4:")) return "";
  peer.remove_prefix(5);
  std::string hostport = PercentDecode(peer);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return "";
  std::string host = hostport.substr(0, colon);
  if (v6) {
    if (host.size() < 3 || host.front() != '[' || host.back() != ']') return "";
    host = host.substr(1, host.size() - 2);
    // A scoped link-local address ("fe80::1%eth0") keeps no zone for CIDRs.
    host = host.substr(0, host.find('%'));
  }
  return IsAddress(v6 ? AF_INET6 : AF_INET, host) ? host : "";
}

std::vector<std::string> CertIdentities(const grpc::AuthContext& auth) {
  std::vector<grpc::string_ref> type =
      auth.FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (type.empty() ||
      ToString(type.front()) != GRPC_SSL_TRANSPORT_SECURITY_TYPE)
    return {};
  std::vector<std::string> identities;
  // peer_uri holds the URI SANs alone; x509_subject_alternative_name mixes
  // every kind untyped, which is how a DNS name or a CN could pass for one.
  for (grpc::string_ref uri :
       auth.FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    // One past the lookup limit is enough for the vault to refuse.
    if (identities.size() > mv::kMaxCertIdentitiesPerCall) break;
    identities.push_back(std::string(mv::kCertIdentityUri) + ToString(uri));
  }
  std::vector<grpc::string_ref> cn =
      auth.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (!cn.empty())
    identities.push_back(std::string(mv::kCertIdentityCn) +
                         ToString(cn.front()));
  return identities;
}

absl::StatusOr<mv::Credentials> CallCredentials(
    const grpc::ServerContextBase& context) {
  mv::Credentials credentials;
  const auto& metadata = context.client_metadata();
  // Several authorization headers fail with the same message as a bad token.
  auto [first, last] = metadata.equal_range("authorization");
  if (first != last) {
    if (std::next(first) != last)
      return absl::UnauthenticatedError(mv::kUnauthenticatedMessage);
    credentials.authorization = ToString(first->second);
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr) credentials.cert_identities = CertIdentities(*auth);
  return credentials;
}

absl::StatusOr<Caller> AuthenticateCall(mv::Vault& vault,
                                        const grpc::ServerContextBase& context,
                                        CallAudit& audit) {
  absl::StatusOr<mv::Credentials> credentials = CallCredentials(context);
  if (!credentials.ok()) return credentials.status();
  credentials->peer_ip = PeerIp(context.peer());
  absl::StatusOr<mv::Principal> who =
      vault.identity().Authenticate(*credentials);
  if (mv::IsThrottled(who.status())) audit.CountedByThrottle();
  if (!who.ok()) return who.status();
  audit.SetCaller(*who);
  return Caller{*std::move(who), PeerIp(context.peer())};
}

absl::StatusOr<mv::Decision> AuthorizeCall(
    const mv::Vault& vault, const Caller& caller, std::string_view method,
    const google::protobuf::Message& request, CallAudit& audit,
    bool fingerprinted) {
  const MethodAccess* access = FindMethodAccess(method);
  if (access == nullptr) {
    return absl::InternalError("no access rule for " + std::string(method));
  }
  if (absl::Status s = CheckRequestLimits(request); !s.ok()) return s;
  if (!access->action || access->source == ArtifactSource::kEachResult) {
    audit.SetAdmitted(access->action);
    mv::Decision admitted;
    admitted.allowed = true;
    return admitted;
  }
  absl::StatusOr<std::string> artifact = ArtifactOf(*access, request);
  if (!artifact.ok()) return artifact.status();
  if (!artifact->empty()) audit.SetResource(*artifact);
  audit.SetAction(*access->action);
  absl::StatusOr<mv::Decision> decision = AuthorizeAction(
      vault, caller, *access->action, *std::move(artifact), fingerprinted);
  if (decision.ok()) audit.SetAdmitted(access->action);
  return decision;
}

absl::StatusOr<mv::Decision> AuthorizeAction(const mv::Vault& vault,
                                             const Caller& caller,
                                             mv::Action action,
                                             std::string artifact,
                                             bool fingerprinted) {
  return vault.identity().Authorize(caller.who, action, artifact,
                                    caller.peer_ip, fingerprinted);
}

absl::StatusOr<AdmittedCall> AdmitCall(mv::Vault& vault,
                                       const grpc::ServerContext& context,
                                       std::string_view method,
                                       const google::protobuf::Message& request,
                                       CallAudit& audit, bool fingerprinted) {
  absl::StatusOr<Caller> caller = AuthenticateCall(vault, context, audit);
  if (!caller.ok()) return caller.status();
  absl::StatusOr<mv::Decision> decision =
      AuthorizeCall(vault, *caller, method, request, audit, fingerprinted);
  if (!decision.ok()) return decision.status();
  return AdmittedCall{*std::move(caller), *std::move(decision)};
}

}  // namespace mvserver
