#include "client/cli/alias_command.h"

#include "absl/strings/str_cat.h"
#include "client/cli/args.h"

namespace mvcli {

void SetupAliasCommand(CLI::App& app, CommandContext& ctx) {
  CLI::App* alias = app.add_subcommand("alias", "Manage aliases");
  alias->require_subcommand(1);

  auto set = std::make_shared<AliasSetCommandOptions>();
  CLI::App* set_cmd = alias->add_subcommand("set", "Point ALIAS at REF");
  set_cmd->add_option("REF", set->ref, "Version, e.g. acme/llama@3")
      ->required()
      ->check(ReferenceValidator());
  set_cmd->add_option("ALIAS", set->alias, "Alias, e.g. prod")
      ->required()
      ->check(AliasValidator());
  set_cmd->callback(
      [set, &ctx] { ctx.exit_code = RunAliasSet(*set, ctx.globals); });

  auto rm = std::make_shared<AliasRmCommandOptions>();
  CLI::App* rm_cmd = alias->add_subcommand("rm", "Remove ALIAS from NAME");
  rm_cmd->add_option("NAME", rm->name, "Artifact name")
      ->required()
      ->check(NameValidator());
  rm_cmd->add_option("ALIAS", rm->alias, "Alias to remove")
      ->required()
      ->check(AliasValidator());
  rm_cmd->callback(
      [rm, &ctx] { ctx.exit_code = RunAliasRm(*rm, ctx.globals); });
}

int RunAliasSet(const AliasSetCommandOptions& options,
                const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  auto version = (*client)->SetAlias(options.ref, options.alias);
  if (!version.ok()) return ReportError(version.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(VersionToJson(*version)));
  }
  return PrintResult(absl::StrCat(version->name(), "@", options.alias, " -> ",
                                  VersionRef(*version), "\n"));
}

int RunAliasRm(const AliasRmCommandOptions& options,
               const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  absl::Status status = (*client)->DeleteAlias(options.name, options.alias);
  if (!status.ok()) return ReportError(status);
  if (globals.output == OutputFormat::kJson) {
    nlohmann::json j = {{"name", options.name}, {"alias", options.alias}};
    return PrintResult(DumpJson(j));
  }
  return PrintResult(absl::StrCat("removed alias ", options.alias, " from ",
                                  options.name, "\n"));
}

}  // namespace mvcli
