#include "client/cli/rm_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "audit/shred_certificate.h"
#include "client/cli/args.h"

namespace mvcli {
namespace {

// Writes the certificate file; never over an existing file.
absl::Status WriteCertificate(const std::string& path,
                              const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--certificate ", path, ": ", std::strerror(errno),
                     errno == EEXIST ? " (it is never overwritten)" : ""));
  }
  const bool ok = write(fd, text.data(), text.size()) ==
                      static_cast<ssize_t>(text.size()) &&
                  fsync(fd) == 0;
  const int err = errno;
  close(fd);
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("--certificate ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace

void SetupRmCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<RmCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "rm",
      "Delete a version: its data key is destroyed at once (crypto-shredding) "
      "and the server signs a shred certificate.\n"
      "  example: mvault rm acme/llm@3 --certificate llm-3.shred.json");
  cmd->add_option("REF", opts->ref, "NAME@N, NAME@ALIAS or NAME@sha256:HEX")
      ->required()
      ->check(ReferenceValidator());
  cmd->add_option("--certificate", opts->certificate,
                  "Write the signed shred certificate (JSON) to FILE; check it "
                  "with `mvault admin audit verify-certificate`")
      ->type_name("FILE");
  cmd->callback([opts, &ctx] { ctx.exit_code = RunRm(*opts, ctx.globals); });
}

int RunRm(const RmCommandOptions& options, const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  auto deleted = (*client)->Delete(options.ref);
  if (!deleted.ok()) return ReportError(deleted.status());
  const std::string file = mv::ShredCertificateFile(
      {deleted->certificate_json(), deleted->certificate_signature()});
  if (!options.certificate.empty()) {
    if (absl::Status s = WriteCertificate(options.certificate, file); !s.ok())
      return ReportError(s);
  }
  if (globals.output == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::parse(file);
    out["deleted"] = VersionToJson(deleted->deleted());
    return PrintResult(DumpJson(out));
  }
  return PrintResult(absl::StrCat(
      "deleted ", VersionRef(deleted->deleted()), " (data key destroyed)\n",
      options.certificate.empty()
          ? ""
          : absl::StrCat("shred certificate: ", options.certificate, "\n")));
}

}  // namespace mvcli
