// `mvault alias set REF ALIAS` points ALIAS at the version REF resolves to;
// `mvault alias rm NAME ALIAS` removes the alias from NAME.
#ifndef MODELVAULT_CLIENT_CLI_ALIAS_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_ALIAS_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct AliasSetCommandOptions {
  std::string ref;
  std::string alias;
};

struct AliasRmCommandOptions {
  std::string name;
  std::string alias;
};

void SetupAliasCommand(CLI::App& app, CommandContext& ctx);
int RunAliasSet(const AliasSetCommandOptions& options,
                const GlobalOptions& globals);
int RunAliasRm(const AliasRmCommandOptions& options,
               const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ALIAS_COMMAND_H_
