// `mvault login [--token-stdin]` reads a token (from stdin, or prompted for
// on the terminal with echo off — never from argv), checks it with WhoAmI
// and saves it, mode 0600, where every command looks by default:
// --token-file if given, else $XDG_CONFIG_HOME/modelvault/token
// (~/.config/modelvault/token). Prints "logged in as NAME".
// `mvault logout` removes that file (and says so when there was none); the
// token itself stays valid until it expires or is revoked.
#ifndef MODELVAULT_CLIENT_CLI_LOGIN_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_LOGIN_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct LoginCommandOptions {
  bool token_stdin = false;
};

void SetupLoginCommand(CLI::App& app, CommandContext& ctx);
void SetupLogoutCommand(CLI::App& app, CommandContext& ctx);
int RunLogin(const LoginCommandOptions& options, const GlobalOptions& globals);
int RunLogout(const GlobalOptions& globals);

// Where login writes and logout removes: --token-file, else the default
// path of config.h ("" when neither XDG_CONFIG_HOME nor HOME is set).
std::string LoginTokenPath(const GlobalOptions& globals,
                           const mvclient::EnvLookup& env);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_LOGIN_COMMAND_H_
