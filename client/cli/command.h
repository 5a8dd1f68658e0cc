// State shared by mvault's subcommands: the parsed global options and the
// exit code the chosen command's callback leaves for main(). Each command
// lives in its own <name>_command.{h,cc} with an options struct, a
// Setup<Name>Command(CLI::App&, CommandContext&) that binds it, and a
// Run<Name>(const Options&, const GlobalOptions&) that calls the client
// library and prints the result. Not thread-safe; main's thread only.
#ifndef MODELVAULT_CLIENT_CLI_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_COMMAND_H_

#include "client/cli/exit_codes.h"
#include "client/cli/global_options.h"

namespace mvcli {

struct CommandContext {
  GlobalOptions globals;
  int exit_code = kExitOk;
};

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_COMMAND_H_
