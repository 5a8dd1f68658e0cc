#include "client/cli/rm_command.h"

#include "absl/strings/str_cat.h"
#include "client/cli/args.h"

namespace mvcli {

void SetupRmCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<RmCommandOptions>();
  CLI::App* cmd = app.add_subcommand("rm", "Delete a version");
  cmd->add_option("REF", opts->ref, "NAME@N, NAME@ALIAS or NAME@sha256:HEX")
      ->required()
      ->check(ReferenceValidator());
  cmd->callback([opts, &ctx] { ctx.exit_code = RunRm(*opts, ctx.globals); });
}

int RunRm(const RmCommandOptions& options, const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  auto deleted = (*client)->Delete(options.ref);
  if (!deleted.ok()) return ReportError(deleted.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(VersionToJson(*deleted)));
  }
  return PrintResult(absl::StrCat("deleted ", VersionRef(*deleted), "\n"));
}

}  // namespace mvcli
