#include "client/cli/ls_command.h"

namespace mvcli {

void SetupLsCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<LsCommandOptions>();
  CLI::App* cmd = app.add_subcommand("ls", "List versions");
  cmd->add_option("PREFIX", opts->prefix, "Only names starting with PREFIX");
  cmd->callback([opts, &ctx] { ctx.exit_code = RunLs(*opts, ctx.globals); });
}

int RunLs(const LsCommandOptions& options, const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  auto versions = (*client)->ListAll(options.prefix);
  if (!versions.ok()) return ReportError(versions.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(VersionsToJson(*versions)));
  }
  return PrintResult(VersionsTable(*versions));
}

}  // namespace mvcli
