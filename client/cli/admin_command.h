// `mvault admin principal|token|policy|audit|key ...`: administration of
// identities and access (AdminService) and the audit log (AuditService).
// Each group lives in its own admin_<group>_command.{h,cc}; this file adds
// the `admin` parent and the connection they share. Each call needs the
// matching admin:* action.
#ifndef MODELVAULT_CLIENT_CLI_ADMIN_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_ADMIN_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>

#include "absl/status/statusor.h"
#include "client/cli/command.h"
#include "client/lib/access_client.h"

namespace mvcli {

void SetupAdminCommand(CLI::App& app, CommandContext& ctx);

void SetupAdminPrincipalCommand(CLI::App& admin, CommandContext& ctx);
void SetupAdminTokenCommand(CLI::App& admin, CommandContext& ctx);
void SetupAdminPolicyCommand(CLI::App& admin, CommandContext& ctx);
void SetupAdminAuditCommand(CLI::App& admin, CommandContext& ctx);
void SetupAdminKeyCommand(CLI::App& admin, CommandContext& ctx);

// ConnectClient() wrapped for the access calls.
absl::StatusOr<std::unique_ptr<mvclient::AccessClient>> ConnectAccess(
    const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ADMIN_COMMAND_H_
