#include "client/cli/pull_command.h"

#include "absl/strings/str_cat.h"
#include "client/cli/args.h"
#include "client/cli/progress_bar.h"
#include "client/lib/reference.h"
#include "common/bytes.h"
#include "crypto/sha256.h"

namespace mvcli {

void SetupPullCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<PullCommandOptions>();
  CLI::App* cmd = app.add_subcommand("pull", "Download a version");
  cmd->add_option("REF", opts->ref,
                  "NAME, NAME@N, NAME@ALIAS or NAME@sha256:HEX")
      ->required()
      ->check(ReferenceValidator());
  cmd->add_option("DEST", opts->dest,
                  "Output file ('-' = stdout; default ./<last name segment>)");
  cmd->add_flag("-f,--force", opts->force, "Overwrite DEST if it exists");
  cmd->callback([opts, &ctx] { ctx.exit_code = RunPull(*opts, ctx.globals); });
}

std::string PullDestination(const PullCommandOptions& options) {
  if (!options.dest.empty()) return options.dest;
  auto ref = mv::ParseReference(options.ref);
  return ref.ok() ? mvclient::DefaultDestination(*ref) : "";
}

int RunPull(const PullCommandOptions& options, const GlobalOptions& globals) {
  const std::string dest = PullDestination(options);
  if (dest.empty()) {
    return ReportError(absl::InvalidArgumentError("no destination"));
  }
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  ProgressBar bar("pull", StderrIsTerminal());
  mvclient::PullOptions pull;
  pull.overwrite = options.force;
  absl::StatusOr<modelvault::v1::Version> version =
      (*client)->Pull(options.ref, dest, pull, bar.Callback());
  bar.Finish();
  if (!version.ok()) return ReportError(version.status());
  if (dest == "-") return kExitOk;  // stdout carries the artifact itself.
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(VersionToJson(*version)));
  }
  return PrintResult(absl::StrCat(
      "pulled ", VersionRef(*version), " to ", dest, " (",
      HumanBytes(version->size()),
      ") sha256:", mv::ToHex(mv::AsBytes(version->sha256())), "\n"));
}

}  // namespace mvcli
