#include "client/cli/trace_command.h"

#include "client/cli/args.h"
#include "client/cli/progress_bar.h"
#include "client/cli/trace_output.h"

namespace mvcli {

void SetupTraceCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<TraceCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "trace",
      "Find which download a leaked copy of a model came from (signed report)");
  cmd->add_option("FILE", opts->file, "The suspect file (safetensors or GGUF)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--artifact", opts->artifact,
                  "Trace against this version (NAME@N) instead of letting the "
                  "server find it")
      ->check(ReferenceValidator());
  cmd->callback([opts, &ctx] { ctx.exit_code = RunTrace(*opts, ctx.globals); });
}

int RunTrace(const TraceCommandOptions& options, const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  ProgressBar bar("trace", StderrIsTerminal());
  absl::StatusOr<mvclient::TraceResult> result =
      (*client)->Trace(options.file, options.artifact, bar.Callback());
  bar.Finish();
  if (!result.ok()) return ReportError(result.status());
  absl::StatusOr<std::string> text = globals.output == OutputFormat::kJson
                                         ? TraceReportJson(*result)
                                         : TraceReportText(*result);
  if (!text.ok()) return ReportError(text.status());
  return PrintResult(*text);
}

}  // namespace mvcli
