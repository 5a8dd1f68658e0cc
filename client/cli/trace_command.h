// `mvault trace FILE [--artifact NAME@N] [-o json]`: asks the server which
// download a suspected leaked copy of a model came from (LEAK_TRACING.md).
// The file is streamed to TraceService.Trace (action `trace`); the server
// returns a report signed with its audit key.
//
// Exit codes: 0 with a verdict (attributed, suspect or none), 3 when no
// stored version matches the file (or none the caller may trace), 4 when
// denied, 2 for usage errors, as every command otherwise.
#ifndef MODELVAULT_CLIENT_CLI_TRACE_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_TRACE_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/cli/command.h"

namespace mvcli {

struct TraceCommandOptions {
  std::string file;
  std::string artifact;  // "" = let the server find the version
};

void SetupTraceCommand(CLI::App& app, CommandContext& ctx);
int RunTrace(const TraceCommandOptions& options, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_TRACE_COMMAND_H_
