// `mvault admin key rotate|status`: the keyring (admin:keys).
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/cli/admin_command.h"
#include "client/cli/output.h"

namespace mvcli {
namespace {

nlohmann::json KeyStatusJson(const mvclient::KeyStatus& s) {
  nlohmann::json versions = nlohmann::json::array();
  for (const mvclient::KeyVersion& v : s.versions) {
    versions.push_back({{"version", v.version},
                        {"created_unix_ms", v.created_unix_ms},
                        {"current", v.current},
                        {"records", v.records},
                        {"data_keys", v.data_keys},
                        {"named_keys", v.named_keys}});
  }
  nlohmann::json j = {{"versions", std::move(versions)},
                      {"rotation_running", s.rotation_running},
                      {"rewrapped_data_keys", s.rewrapped_data_keys},
                      {"resealed_records", s.resealed_records},
                      {"retired", s.retired},
                      {"last_error", s.last_error}};
  if (s.rotated_to != 0) j["rotated_to"] = s.rotated_to;
  return j;
}

std::string KeyStatusText(const mvclient::KeyStatus& s) {
  std::string out;
  if (s.rotated_to != 0)
    absl::StrAppend(&out, "rotated to key version ", s.rotated_to, "\n");
  absl::StrAppend(&out,
                  "VERSION  CREATED               RECORDS  DATA KEYS  "
                  "NAMED KEYS\n");
  for (const mvclient::KeyVersion& v : s.versions) {
    absl::StrAppend(
        &out, absl::StrFormat(
                  "%-8s %-21s %8u %10u %11u\n",
                  absl::StrCat(v.version, v.current ? "*" : ""),
                  absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                   absl::FromUnixMillis(v.created_unix_ms),
                                   absl::UTCTimeZone()),
                  v.records, v.data_keys, v.named_keys));
  }
  absl::StrAppend(
      &out,
      "* current; rotation job: ", s.rotation_running ? "running" : "idle",
      " (", s.rewrapped_data_keys, " data keys rewrapped, ", s.resealed_records,
      " records resealed since start",
      s.retired.empty()
          ? std::string()
          : absl::StrCat("; retired ", absl::StrJoin(s.retired, ", ")),
      ")\n");
  if (!s.last_error.empty())
    absl::StrAppend(&out, "last error: ", s.last_error, "\n");
  return out;
}

int PrintKeyStatus(const absl::StatusOr<mvclient::KeyStatus>& status,
                   const GlobalOptions& globals) {
  if (!status.ok()) return ReportError(status.status());
  if (globals.output == OutputFormat::kJson)
    return PrintResult(DumpJson(KeyStatusJson(*status)));
  return PrintResult(KeyStatusText(*status));
}

}  // namespace

void SetupAdminKeyCommand(CLI::App& admin, CommandContext& ctx) {
  CLI::App* group = admin.add_subcommand(
      "key", "Rotate the keyring and see what each key version protects");
  group->require_subcommand(1);
  CLI::App* cmd = group->add_subcommand(
      "rotate",
      "Add a keyring version (new writes use it at once) and start moving "
      "everything onto it in the background.\n"
      "  example: mvault admin key rotate && mvault admin key status");
  cmd->callback([&ctx] {
    auto access = ConnectAccess(ctx.globals);
    ctx.exit_code = access.ok()
                        ? PrintKeyStatus((*access)->RotateKey(), ctx.globals)
                        : ReportError(access.status());
  });
  cmd = group->add_subcommand(
      "status",
      "Show the keyring's versions, what each protects, and the rotation "
      "job.\n  example: mvault admin key status -o json");
  cmd->callback([&ctx] {
    auto access = ConnectAccess(ctx.globals);
    ctx.exit_code = access.ok()
                        ? PrintKeyStatus((*access)->GetKeyStatus(), ctx.globals)
                        : ReportError(access.status());
  });
}

}  // namespace mvcli
