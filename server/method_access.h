// The one table that says what each modelvault.v1 RPC needs: the policy
// action and which request field names the artifact it acts on. A method
// missing here is refused (INTERNAL) by AuthorizeCall, and the authorization
// matrix test fails for any RPC of the service descriptors without a row.
//
// clang-format off
//   ArtifactService.Upload         write    header.name (+ alias when it sets
//                                           aliases)
//   ArtifactService.Download       read     ref (+ read:exact when exact);
//                                           StartDownload charges the budget
//                                           before byte 1
//   ArtifactService.GetVersion     read     ref (resolved like a pull)
//   ArtifactService.ListVersions   list     each result (filtered, never
//                                           denied)
//   ArtifactService.DeleteVersion  delete   ref
//   ArtifactService.SetAlias       alias    ref
//   ArtifactService.DeleteAlias    alias    name
//   AuthService.WhoAmI             —        authenticated only
//   AdminService principal RPCs    admin:principals
//   AdminService token RPCs        admin:tokens
//   AdminService policy RPCs       admin:policies
//   AuditService RPCs              admin:audit
//   AuditService.Archive           admin:audit:archive
//   OperatorService.Unseal         —        no credentials while sealed;
//   OperatorService.SealStatus              authenticated only once unsealed
//   OperatorService.Seal           admin:seal
//   TraceService.Trace             trace    header.artifact when given, else
//                                           the version the trace finds
//                                           (checked after)
// clang-format on
//
// Pure; thread-safe.
#ifndef MODELVAULT_SERVER_METHOD_ACCESS_H_
#define MODELVAULT_SERVER_METHOD_ACCESS_H_

#include <google/protobuf/message.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "access/policy.h"

namespace mvserver {

// Where the artifact a request acts on comes from.
enum class ArtifactSource {
  kNone,        // admin actions and authenticated-only methods
  kReference,   // a NAME[@...] reference in `field`; the artifact is NAME
  kName,        // a bare artifact name in `field`
  kEachResult,  // the handler filters each result with IdentityStore::MayList
};

struct MethodAccess {
  std::string_view method;           // "modelvault.v1.ArtifactService.Download"
  std::optional<mv::Action> action;  // nullopt: any authenticated caller
  ArtifactSource source = ArtifactSource::kNone;
  std::string_view field;  // dotted path in the request, "header.name"
};

// Every row, in service then method order.
std::span<const MethodAccess> AllMethodAccess();
// The row for `method` (full name), or nullptr.
const MethodAccess* FindMethodAccess(std::string_view method);

// The artifact name `request` acts on according to `access` ("" for kNone
// and kEachResult). INVALID_ARGUMENT naming the defect for a malformed name
// or reference; INTERNAL if `field` is not a string field of `request`.
absl::StatusOr<std::string> ArtifactOf(
    const MethodAccess& access, const google::protobuf::Message& request);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_METHOD_ACCESS_H_
