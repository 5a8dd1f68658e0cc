#include "client/cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "client/cli/admin_command.h"
#include "client/cli/alias_command.h"
#include "client/cli/command.h"
#include "client/cli/info_command.h"
#include "client/cli/login_command.h"
#include "client/cli/ls_command.h"
#include "client/cli/operator_command.h"
#include "client/cli/pull_command.h"
#include "client/cli/push_command.h"
#include "client/cli/rm_command.h"
#include "client/cli/trace_command.h"
#include "client/cli/whoami_command.h"

namespace mvcli {

int RunMvault(int argc, char** argv) {
  CLI::App app("mvault: client for the modelvault encrypted model store",
               "mvault");
  app.footer(ExitCodeHelp());
  app.require_subcommand(1);
  // Lets global options follow the subcommand: `mvault ls -o json`.
  app.fallthrough();
  CommandContext ctx;
  SetupGlobalOptions(app, ctx.globals);
  SetupPushCommand(app, ctx);
  SetupPullCommand(app, ctx);
  SetupLsCommand(app, ctx);
  SetupInfoCommand(app, ctx);
  SetupRmCommand(app, ctx);
  SetupTraceCommand(app, ctx);
  SetupAliasCommand(app, ctx);
  SetupLoginCommand(app, ctx);
  SetupWhoamiCommand(app, ctx);
  SetupLogoutCommand(app, ctx);
  SetupAdminCommand(app, ctx);
  SetupOperatorCommand(app, ctx);
  absl::Status in_argv = RejectTokenInArgv(argc, argv);
  if (in_argv.ok()) in_argv = RejectUnsealKeyInArgv(argc, argv);
  if (absl::Status s = in_argv; !s.ok()) {
    std::fprintf(stderr, "mvault: error: %s\n",
                 std::string(s.message()).c_str());
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help
    }
    std::fprintf(stderr, "mvault: error: %s (see --help)\n", e.what());
    return kExitUsage;
  }
  return ctx.exit_code;
}

}  // namespace mvcli
