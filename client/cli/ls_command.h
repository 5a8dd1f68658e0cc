// `mvault ls [PREFIX]`: lists every version whose name starts with PREFIX,
// as a table or {"versions": [...]}.
#ifndef MODELVAULT_CLIENT_CLI_LS_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_LS_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct LsCommandOptions {
  std::string prefix;
};

void SetupLsCommand(CLI::App& app, CommandContext& ctx);
int RunLs(const LsCommandOptions& options, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_LS_COMMAND_H_
