// `mvault whoami`: the caller's principal, kind, effective policies, token
// accessor, TLS identity, token expiry and uses left, as the server sees
// them (AuthService.WhoAmI). Text is `key: value` lines; -o json is the
// identity object of access_output.h.
#ifndef MODELVAULT_CLIENT_CLI_WHOAMI_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_WHOAMI_COMMAND_H_

#include <CLI/CLI.hpp>

#include "client/cli/command.h"

namespace mvcli {

void SetupWhoamiCommand(CLI::App& app, CommandContext& ctx);
int RunWhoami(const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_WHOAMI_COMMAND_H_
