#include "vault/verify_audit.h"

#include <map>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace mv {
namespace {

enum class Change { kCreated, kRemoved };

// The audited changes that create or remove a stored object, by the method
// of the allowed record (the gRPC path, or an offline modelvaultd command).
std::optional<Change> ChangeOf(std::string_view method) {
  static const auto* kChanges = new std::map<std::string_view, Change>{
      {"/modelvault.v1.ArtifactService/Upload", Change::kCreated},
      {"/modelvault.v1.ArtifactService/DeleteVersion", Change::kRemoved},
      {"/modelvault.v1.AdminService/CreateToken", Change::kCreated},
      {"/modelvault.v1.AdminService/RevokeToken", Change::kRemoved},
      {"/modelvault.v1.AdminService/CreatePrincipal", Change::kCreated},
      {"/modelvault.v1.AdminService/DeletePrincipal", Change::kRemoved},
      {"/modelvault.v1.AdminService/PutPolicy", Change::kCreated},
      {"/modelvault.v1.AdminService/DeletePolicy", Change::kRemoved},
  };
  if (auto it = kChanges->find(method); it != kChanges->end())
    return it->second;
  // Offline root-token recovery mints its token like CreateToken.
  if (method.starts_with("modelvaultd ")) return Change::kCreated;
  return std::nullopt;
}

struct LastChange {
  Change change;
  uint64_t sequence;
};

// The stored log's story: per resource ("org/m@3", "token:ACC",
// "principal:P", "policy:N"), its last audited change; and when the stored
// records begin.
struct History {
  std::map<std::string, LastChange> last;
  int64_t first_time_unix_ms = 0;  // 0: no records stored
};

absl::StatusOr<History> ReadHistory(const AuditLog& log) {
  History h;
  MV_RETURN_IF_ERROR(log.ScanRecords(1, [&](const AuditRecord& r, auto) {
    if (h.first_time_unix_ms == 0) h.first_time_unix_ms = r.time_unix_ms;
    if (r.decision != AuditDecision::kAllowed || r.resource.empty())
      return true;
    if (std::optional<Change> c = ChangeOf(r.method))
      h.last[r.resource] = {*c, r.sequence};
    return true;
  }));
  return h;
}

// A problem if `resource` is stored although its last audited change
// removed it, or (when `created_unix_ms` falls inside the stored log) has
// no audited creation at all.
void CheckStored(const History& h, const std::string& resource,
                 const std::string& what,
                 std::optional<int64_t> created_unix_ms,
                 std::vector<std::string>* problems) {
  auto it = h.last.find(resource);
  if (it != h.last.end() && it->second.change == Change::kRemoved) {
    problems->push_back(
        absl::StrCat(what, ": removed by audit record ", it->second.sequence,
                     " but stored (an older copy of its record was put back)"));
  } else if (it == h.last.end() && created_unix_ms &&
             h.first_time_unix_ms != 0 &&
             *created_unix_ms > h.first_time_unix_ms) {
    problems->push_back(absl::StrCat(
        what, ": stored, but the audit log has no record of its creation"));
  }
}

}  // namespace

absl::Status CrossCheckAudit(const LmdbEnv& env, const AuditLog& log,
                             const std::vector<VersionRecord>& versions,
                             std::vector<std::string>* problems) {
  absl::StatusOr<History> read = ReadHistory(log);
  // A log that does not read is the audit chain check's finding (one line
  // naming the sequence); nothing can be cross-checked against it.
  if (absl::IsDataLoss(read.status())) return absl::OkStatus();
  MV_RETURN_IF_ERROR(read.status());
  const History& history = *read;
  for (const VersionRecord& v : versions) {
    const std::string ref = absl::StrCat(v.name, "@", v.number);
    CheckStored(history, ref, ref, v.created_at_unix_ms, problems);
  }
  const Dbs dbs = Dbs::Of(env);
  return env.Read([&](const Txn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(txn.Scan(
        dbs.tokens, "", "", [&](std::string_view, std::string_view value) {
          absl::StatusOr<TokenRecord> t = DecodeToken(value);
          if (!t.ok()) return true;  // CheckIdentityRecords names it
          CheckStored(history, "token:" + t->accessor,
                      absl::StrCat("token ", t->accessor, " of ", t->principal),
                      t->created_at_unix_ms, problems);
          return true;
        }));
    MV_RETURN_IF_ERROR(txn.Scan(
        dbs.principals, "", "", [&](std::string_view key, std::string_view) {
          const std::string name(key);
          CheckStored(history, "principal:" + name, "principal " + name,
                      std::nullopt, problems);
          return true;
        }));
    return txn.Scan(dbs.policies, "", "",
                    [&](std::string_view key, std::string_view) {
                      const std::string name(key);
                      CheckStored(history, "policy:" + name, "policy " + name,
                                  std::nullopt, problems);
                      return true;
                    });
  });
}

}  // namespace mv
