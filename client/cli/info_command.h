// `mvault info REF`: prints one version's metadata.
#ifndef MODELVAULT_CLIENT_CLI_INFO_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_INFO_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct InfoCommandOptions {
  std::string ref;
};

void SetupInfoCommand(CLI::App& app, CommandContext& ctx);
int RunInfo(const InfoCommandOptions& options, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_INFO_COMMAND_H_
