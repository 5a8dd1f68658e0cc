// `mvault pull REF [DEST] [--force] [--exact]`: downloads REF to DEST
// (default ./<last name segment>; '-' = stdout), verified before it appears.
// The download id and delivery (fingerprinted / unmarked / exact) go to
// stderr, and into the -o json object.
#ifndef MODELVAULT_CLIENT_CLI_PULL_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_PULL_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct PullCommandOptions {
  std::string ref;
  std::string dest;  // "" = default
  bool force = false;
  bool exact = false;  // the original bytes, unmarked (needs read:exact)
};

void SetupPullCommand(CLI::App& app, CommandContext& ctx);
int RunPull(const PullCommandOptions& options, const GlobalOptions& globals);

// DEST as given, or the default derived from REF. REQUIRES: REF is valid.
std::string PullDestination(const PullCommandOptions& options);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_PULL_COMMAND_H_
