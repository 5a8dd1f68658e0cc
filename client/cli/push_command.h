// `mvault push FILE NAME [--label K=V]... [--alias A]...`: uploads FILE
// ('-' = stdin) as the next version of NAME and prints
// "pushed NAME@N sha256:HEX" (or the version as JSON).
#ifndef MODELVAULT_CLIENT_CLI_PUSH_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_PUSH_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "client/cli/command.h"

namespace mvcli {

struct PushCommandOptions {
  std::string file;
  std::string name;
  std::vector<std::string> labels;  // "k=v"
  std::vector<std::string> aliases;
  std::string format = "auto";  // auto | blob | safetensors | gguf
};

void SetupPushCommand(CLI::App& app, CommandContext& ctx);
int RunPush(const PushCommandOptions& options, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_PUSH_COMMAND_H_
