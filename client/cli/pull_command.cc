#include "client/cli/pull_command.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
  cmd->add_flag("--exact", opts->exact,
                "Download the original bytes without a fingerprint (needs "
                "action read:exact; "
                "audited as such)");
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
  pull.download.exact = options.exact;
  absl::StatusOr<mvclient::Client::Pulled> pulled =
      (*client)->PullDownload(options.ref, dest, pull, bar.Callback());
  bar.Finish();
  if (!pulled.ok()) return ReportError(pulled.status());
  const modelvault::v1::DownloadHeader& header = pulled->header;
  const std::string delivery = DeliveryName(header.delivery());
  const std::string id = absl::StrFormat("%016x", header.download_id());
  std::fprintf(stderr, "download id: %s (%s)\n", id.c_str(), delivery.c_str());
  if (dest == "-") return kExitOk;  // stdout carries the artifact itself.
  const std::string delivered =
      mv::ToHex(mv::AsBytes(pulled->delivered_sha256));
  if (globals.output == OutputFormat::kJson) {
    nlohmann::json j = VersionToJson(header.version());
    j["download_id"] = id;
    j["delivery"] = delivery;
    j["delivered_sha256"] = delivered;
    return PrintResult(DumpJson(j));
  }
  std::string line =
      absl::StrCat("pulled ", VersionRef(header.version()), " to ", dest, " (",
                   HumanBytes(header.version().size()), ") sha256:", delivered);
  if (header.delivery() == modelvault::v1::DELIVERY_FINGERPRINTED) {
    absl::StrAppend(&line, " (fingerprinted; original sha256:",
                    mv::ToHex(mv::AsBytes(header.version().sha256())), ")");
  }
  return PrintResult(line + "\n");
}

}  // namespace mvcli
