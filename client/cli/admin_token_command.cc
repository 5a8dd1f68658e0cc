#include "client/cli/admin_token_command.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/cli/access_output.h"
#include "client/cli/duration.h"

namespace mvcli {

void SetupAdminTokenCommand(CLI::App& admin, CommandContext& ctx) {
  CLI::App* group = admin.add_subcommand("token", "Manage tokens");
  group->require_subcommand(1);

  auto create = std::make_shared<TokenCreateOptions>();
  CLI::App* cmd = group->add_subcommand(
      "create", "Create a token (printed once on stdout)");
  cmd->add_option("--principal", create->principal, "Principal it acts as")
      ->required()
      ->type_name("NAME");
  cmd->add_option("--ttl", create->ttl,
                  "Lifetime, e.g. 8h, 30m, 7d, 1h30m (default: no expiry)")
      ->check(DurationValidator())
      ->type_name("DURATION");
  cmd->add_option("--uses", create->uses,
                  "Number of calls it may make (default: unlimited)")
      ->check(CLI::PositiveNumber)
      ->type_name("N");
  cmd->add_option("--policy", create->policies,
                  "Restrict to this policy of the principal (repeatable)")
      ->type_name("POLICY");
  cmd->callback(
      [create, &ctx] { ctx.exit_code = RunTokenCreate(*create, ctx.globals); });

  auto principal = std::make_shared<std::string>();
  cmd =
      group->add_subcommand("ls", "List tokens (never the tokens themselves)");
  cmd->add_option("--principal", *principal, "Only this principal's tokens")
      ->type_name("NAME");
  cmd->callback([principal, &ctx] {
    ctx.exit_code = RunTokenList(*principal, ctx.globals);
  });

  auto accessor = std::make_shared<std::string>();
  cmd = group->add_subcommand("lookup", "Show a token by its accessor");
  cmd->add_option("ACCESSOR", *accessor, "The token's accessor")->required();
  cmd->callback([accessor, &ctx] {
    ctx.exit_code = RunTokenLookup(*accessor, ctx.globals);
  });

  cmd = group->add_subcommand("revoke", "Revoke a token by its accessor");
  cmd->add_option("ACCESSOR", *accessor, "The token's accessor")->required();
  cmd->callback([accessor, &ctx] {
    ctx.exit_code = RunTokenRevoke(*accessor, ctx.globals);
  });
}

int RunTokenCreate(const TokenCreateOptions& options,
                   const GlobalOptions& globals) {
  mvclient::TokenRequest request;
  request.principal = options.principal;
  if (!options.ttl.empty()) {
    absl::StatusOr<absl::Duration> ttl = ParseDuration(options.ttl);
    if (!ttl.ok()) {
      return ReportError(
          UsageError(absl::StrCat("--ttl: ", ttl.status().message())));
    }
    request.ttl = *ttl;
  }
  request.uses = options.uses;
  request.policies = options.policies;

  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto issued = (*access)->CreateToken(request);
  if (!issued.ok()) return ReportError(issued.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(IssuedTokenToJson(*issued)));
  }
  std::fprintf(stderr, "accessor: %s\n", issued->info.accessor.c_str());
  return PrintResult(absl::StrCat(issued->token, "\n"));
}

int RunTokenList(const std::string& principal, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto list = (*access)->ListTokens(principal);
  if (!list.ok()) return ReportError(list.status());
  if (globals.output == OutputFormat::kJson) {
    nlohmann::json items = nlohmann::json::array();
    for (const mvclient::TokenInfo& t : *list) {
      items.push_back(TokenInfoToJson(t));
    }
    return PrintResult(DumpJson({{"tokens", std::move(items)}}));
  }
  return PrintResult(TokensTable(*list));
}

int RunTokenLookup(const std::string& accessor, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto info = (*access)->LookupToken(accessor);
  if (!info.ok()) return ReportError(info.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(TokenInfoToJson(*info)));
  }
  return PrintResult(TokenDetails(*info));
}

int RunTokenRevoke(const std::string& accessor, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  if (absl::Status s = (*access)->RevokeToken(accessor); !s.ok()) {
    return ReportError(s);
  }
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson({{"accessor", accessor}, {"revoked", true}}));
  }
  return PrintResult(absl::StrCat("revoked token ", accessor, "\n"));
}

}  // namespace mvcli
