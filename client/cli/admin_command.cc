#include "client/cli/admin_command.h"

namespace mvcli {

void SetupAdminCommand(CLI::App& app, CommandContext& ctx) {
  CLI::App* admin = app.add_subcommand(
      "admin",
      "Manage principals, tokens, policies, the audit log and the keyring "
      "(needs admin:*)");
  admin->require_subcommand(1);
  SetupAdminPrincipalCommand(*admin, ctx);
  SetupAdminTokenCommand(*admin, ctx);
  SetupAdminPolicyCommand(*admin, ctx);
  SetupAdminAuditCommand(*admin, ctx);
  SetupAdminKeyCommand(*admin, ctx);
}

absl::StatusOr<std::unique_ptr<mvclient::AccessClient>> ConnectAccess(
    const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return client.status();
  return std::make_unique<mvclient::AccessClient>(*std::move(client));
}

}  // namespace mvcli
