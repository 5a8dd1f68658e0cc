// `mvault rm REF [--certificate FILE]`: deletes the version REF resolves to
// (its data key is destroyed, so the bytes become unrecoverable) and keeps
// the server's signed shred certificate (audit/shred_certificate.h).
#ifndef MODELVAULT_CLIENT_CLI_RM_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_RM_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct RmCommandOptions {
  std::string ref;
  std::string certificate;  // "" = not written
};

void SetupRmCommand(CLI::App& app, CommandContext& ctx);
int RunRm(const RmCommandOptions& options, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_RM_COMMAND_H_
