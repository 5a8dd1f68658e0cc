// modelvaultd: the modelvault server. `init` creates a vault, `serve` runs it.
#include "server/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"modelvaultd — encrypted, audited vault for model weights"};
  app.require_subcommand(1);
  int exit_code = 0;
  mvserver::SetupInitCommand(app, &exit_code);
  mvserver::SetupServeCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
