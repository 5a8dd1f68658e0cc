#include "client/cli/info_command.h"

#include "client/cli/args.h"

namespace mvcli {

void SetupInfoCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<InfoCommandOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show a version's metadata");
  cmd->add_option("REF", opts->ref,
                  "NAME, NAME@N, NAME@ALIAS or NAME@sha256:HEX")
      ->required()
      ->check(ReferenceValidator());
  cmd->callback([opts, &ctx] { ctx.exit_code = RunInfo(*opts, ctx.globals); });
}

int RunInfo(const InfoCommandOptions& options, const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  auto version = (*client)->Get(options.ref);
  if (!version.ok()) return ReportError(version.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(VersionToJson(*version)));
  }
  return PrintResult(VersionDetails(*version));
}

}  // namespace mvcli
