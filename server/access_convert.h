// Translation between the core identity types (vault/identity.h) and the
// modelvault.v1 access messages. Pure; thread-safe.
#ifndef MODELVAULT_SERVER_ACCESS_CONVERT_H_
#define MODELVAULT_SERVER_ACCESS_CONVERT_H_

#include "absl/status/statusor.h"
#include "modelvault/v1/access.pb.h"
#include "vault/identity.h"

namespace mvserver {

void ToProto(const mv::PrincipalInfo& info, modelvault::v1::Principal* out);
void ToProto(const mv::TokenInfo& info, modelvault::v1::TokenInfo* out);
void ToProto(const mv::Principal& who, modelvault::v1::WhoAmIResponse* out);

// INVALID_ARGUMENT for an unknown principal kind.
absl::StatusOr<mv::PrincipalInfo> FromProto(
    const modelvault::v1::CreatePrincipalRequest& request);
// INVALID_ARGUMENT for a negative TTL or use count.
absl::StatusOr<mv::TokenSpec> FromProto(
    const modelvault::v1::CreateTokenRequest& request);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_ACCESS_CONVERT_H_
