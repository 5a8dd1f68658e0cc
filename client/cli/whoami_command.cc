#include "client/cli/whoami_command.h"

#include "client/cli/access_output.h"
#include "client/lib/access_client.h"

namespace mvcli {

void SetupWhoamiCommand(CLI::App& app, CommandContext& ctx) {
  CLI::App* cmd =
      app.add_subcommand("whoami", "Show who the server thinks you are");
  cmd->callback([&ctx] { ctx.exit_code = RunWhoami(ctx.globals); });
}

int RunWhoami(const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  auto identity = mvclient::AccessClient(*client).WhoAmI();
  if (!identity.ok()) return ReportError(identity.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(IdentityToJson(*identity)));
  }
  return PrintResult(IdentityDetails(*identity));
}

}  // namespace mvcli
