#include "server/call_auth.h"

#include <string_view>

namespace mvserver {

absl::StatusOr<mv::Principal> AuthenticateCall(const mv::Vault& vault,
                                               const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  // Exactly one authorization header; zero or several are both failures
  // with the same message as a bad token.
  if (it == metadata.end() || metadata.count("authorization") != 1) {
    return absl::UnauthenticatedError(mv::kUnauthenticatedMessage);
  }
  return vault.Authenticate(std::string_view(it->second.data(), it->second.size()));
}

}  // namespace mvserver
