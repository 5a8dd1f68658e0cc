#include "client/cli/push_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "client/cli/args.h"
#include "client/cli/progress_bar.h"
#include "common/bytes.h"
#include "crypto/sha256.h"

namespace mvcli {
namespace {

// stdin redirected from a file has a size worth telling the server.
uint64_t StdinSizeHint() {
  struct stat st;
  if (::fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
      ::lseek(STDIN_FILENO, 0, SEEK_CUR) == 0) {
    return static_cast<uint64_t>(st.st_size);
  }
  return 0;
}

}  // namespace

void SetupPushCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<PushCommandOptions>();
  CLI::App* cmd = app.add_subcommand("push", "Upload a file as a new version");
  cmd->add_option("FILE", opts->file, "File to upload ('-' = stdin)")
      ->required();
  cmd->add_option("NAME", opts->name, "Artifact name, e.g. acme/llama-3-8b")
      ->required()
      ->check(NameValidator());
  cmd->add_option("--label", opts->labels, "Label KEY=VALUE (repeatable)")
      ->check(LabelValidator())
      ->type_name("K=V");
  cmd->add_option("--alias", opts->aliases,
                  "Point ALIAS at the new version (repeatable)")
      ->check(AliasValidator())
      ->type_name("ALIAS");
  cmd->add_option("--format", opts->format,
                  "How the server treats the bytes: auto (detect; a malformed "
                  "safetensors/GGUF "
                  "file is refused), blob (store unparsed, never "
                  "fingerprinted), safetensors, gguf")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "blob", "safetensors", "gguf"}));
  cmd->callback([opts, &ctx] { ctx.exit_code = RunPush(*opts, ctx.globals); });
}

int RunPush(const PushCommandOptions& options, const GlobalOptions& globals) {
  auto labels = ParseLabels(options.labels);
  if (!labels.ok()) {
    ReportError(labels.status());
    return kExitUsage;
  }
  mvclient::PushOptions push;
  push.labels = *std::move(labels);
  push.aliases = options.aliases;
  if (options.format == "blob") push.format = modelvault::v1::FORMAT_BLOB;
  if (options.format == "safetensors")
    push.format = modelvault::v1::FORMAT_SAFETENSORS;
  if (options.format == "gguf") push.format = modelvault::v1::FORMAT_GGUF;

  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  ProgressBar bar("push", StderrIsTerminal());
  absl::StatusOr<modelvault::v1::Version> version =
      options.file == "-"
          ? (*client)->PushFd(STDIN_FILENO, StdinSizeHint(), options.name, push,
                              bar.Callback())
          : (*client)->Push(options.file, options.name, push, bar.Callback());
  bar.Finish();
  if (!version.ok()) return ReportError(version.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(VersionToJson(*version)));
  }
  return PrintResult(absl::StrCat(
      "pushed ", VersionRef(*version),
      " sha256:", mv::ToHex(mv::AsBytes(version->sha256())), "\n",
      "fingerprint: ", FingerprintText(version->fingerprint()), "\n"));
}

}  // namespace mvcli
