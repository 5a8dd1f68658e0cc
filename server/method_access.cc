#include "server/method_access.h"

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_split.h"
#include "vault/reference.h"

namespace mvserver {
namespace {

using mv::Action;

constexpr MethodAccess kTable[] = {
    {"modelvault.v1.ArtifactService.Upload", Action::kWrite,
     ArtifactSource::kName, "header.name"},
    {"modelvault.v1.ArtifactService.Download", Action::kRead,
     ArtifactSource::kReference, "ref"},
    // read, not list: GetVersion resolves any reference (alias, digest,
    // latest) the way a pull does, and is the first step of one.
    {"modelvault.v1.ArtifactService.GetVersion", Action::kRead,
     ArtifactSource::kReference, "ref"},
    {"modelvault.v1.ArtifactService.ListVersions", Action::kList,
     ArtifactSource::kEachResult, ""},
    {"modelvault.v1.ArtifactService.DeleteVersion", Action::kDelete,
     ArtifactSource::kReference, "ref"},
    {"modelvault.v1.ArtifactService.SetAlias", Action::kAlias,
     ArtifactSource::kReference, "ref"},
    {"modelvault.v1.ArtifactService.DeleteAlias", Action::kAlias,
     ArtifactSource::kName, "name"},

    {"modelvault.v1.AuthService.WhoAmI", std::nullopt, ArtifactSource::kNone,
     ""},

    {"modelvault.v1.AdminService.CreatePrincipal", Action::kAdminPrincipals,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.ListPrincipals", Action::kAdminPrincipals,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.GetPrincipal", Action::kAdminPrincipals,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.DeletePrincipal", Action::kAdminPrincipals,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.AttachPolicy", Action::kAdminPrincipals,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.DetachPolicy", Action::kAdminPrincipals,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.CreateToken", Action::kAdminTokens,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.ListTokens", Action::kAdminTokens,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.LookupToken", Action::kAdminTokens,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.RevokeToken", Action::kAdminTokens,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.PutPolicy", Action::kAdminPolicies,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.GetPolicy", Action::kAdminPolicies,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.ListPolicies", Action::kAdminPolicies,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.DeletePolicy", Action::kAdminPolicies,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.RotateKey", Action::kAdminKeys,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AdminService.GetKeyStatus", Action::kAdminKeys,
     ArtifactSource::kNone, ""},

    {"modelvault.v1.AuditService.QueryRecords", Action::kAdminAudit,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AuditService.FollowRecords", Action::kAdminAudit,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AuditService.Export", Action::kAdminAudit,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AuditService.GetPublicKey", Action::kAdminAudit,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AuditService.Verify", Action::kAdminAudit,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.AuditService.Archive", Action::kAdminAuditArchive,
     ArtifactSource::kNone, ""},

    // While sealed, Unseal and SealStatus never get here: they answer
    // without credentials (server/operator_service.h). Unsealed, any
    // authenticated caller may ask.
    {"modelvault.v1.OperatorService.Unseal", std::nullopt,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.OperatorService.Seal", Action::kAdminSeal,
     ArtifactSource::kNone, ""},
    {"modelvault.v1.OperatorService.SealStatus", std::nullopt,
     ArtifactSource::kNone, ""},

    // An empty artifact is allowed by the handler (not by AuthorizeCall): the
    // trace finds the version, and `trace` on it is checked before answering.
    {"modelvault.v1.TraceService.Trace", Action::kTrace,
     ArtifactSource::kReference, "header.artifact"},
};

// The string at dotted `path` in `message`, or nullopt if the path does not
// name a singular string field (through singular message fields).
std::optional<std::string> StringAt(const google::protobuf::Message& message,
                                    std::string_view path) {
  const google::protobuf::Message* at = &message;
  std::vector<std::string> parts = absl::StrSplit(std::string(path), '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const google::protobuf::FieldDescriptor* field =
        at->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr || field->is_repeated()) return std::nullopt;
    const bool last = i + 1 == parts.size();
    if (last) {
      if (field->type() != google::protobuf::FieldDescriptor::TYPE_STRING)
        return std::nullopt;
      return at->GetReflection()->GetString(*at, field);
    }
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE)
      return std::nullopt;
    at = &at->GetReflection()->GetMessage(*at, field);
  }
  return std::nullopt;
}

}  // namespace

std::span<const MethodAccess> AllMethodAccess() { return kTable; }

const MethodAccess* FindMethodAccess(std::string_view method) {
  for (const MethodAccess& row : kTable) {
    if (row.method == method) return &row;
  }
  return nullptr;
}

absl::StatusOr<std::string> ArtifactOf(
    const MethodAccess& access, const google::protobuf::Message& request) {
  if (access.source == ArtifactSource::kNone ||
      access.source == ArtifactSource::kEachResult) {
    return std::string();
  }
  std::optional<std::string> value = StringAt(request, access.field);
  if (!value) {
    return absl::InternalError("access table: no string field " +
                               std::string(access.field) + " in " +
                               std::string(access.method));
  }
  if (access.source == ArtifactSource::kName) {
    if (absl::Status s = mv::ValidateName(*value); !s.ok()) return s;
    return *std::move(value);
  }
  absl::StatusOr<mv::Reference> ref = mv::ParseReference(*value);
  if (!ref.ok()) return ref.status();
  return std::move(ref->name);
}

}  // namespace mvserver
