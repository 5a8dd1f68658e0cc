// `modelvaultd verify`: an operator's full consistency check of a data dir —
// every chunk of every version is authenticated and hashed, and the catalog
// is cross-checked. Read-only; safe while a server is running on the dir.
// Exit 0 when whole, 5 when anything is wrong (one line per problem).
#include <cstdio>

#include "crypto/master_key.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

constexpr int kExitIntegrity = 5;

int RunVerify(const VaultLocation& location) {
  absl::StatusOr<mv::SecretKey> kek = LoadVaultKey(location);
  if (!kek.ok()) return Fail(kek.status());
  absl::StatusOr<mv::VaultOptions> at = VaultOptionsAt(location);
  if (!at.ok()) return Fail(at.status());
  mv::VaultOptions options = *std::move(at);
  options.collect_pending_on_open = false;  // a live server owns those
  options.migrate = false;                  // verify changes nothing
  options.audit.inspect_only = true;        // and its audit log; a rollback
                                            // shows against the witness
  absl::StatusOr<std::unique_ptr<mv::Vault>> vault =
      mv::Vault::Open(options, *std::move(kek));
  // A record that fails to authenticate (storage/barrier.h) is a problem
  // found, not a failure to check.
  auto integrity = [](const absl::Status& s) {
    std::printf("problem: %s\nFAILED: 1 problem\n",
                std::string(s.message()).c_str());
    return kExitIntegrity;
  };
  if (!vault.ok()) {
    if (vault.status().code() == absl::StatusCode::kDataLoss)
      return integrity(vault.status());
    return Fail(vault.status());
  }
  absl::StatusOr<mv::VerifyReport> report = (*vault)->Verify();
  if (!report.ok()) {
    if (report.status().code() == absl::StatusCode::kDataLoss)
      return integrity(report.status());
    return Fail(report.status());
  }
  for (const std::string& problem : report->problems) {
    std::printf("problem: %s\n", problem.c_str());
  }
  std::printf(
      "%s: %llu versions, %llu chunks, %llu bytes, %llu audit records checked, "
      "%zu problems\n",
      report->problems.empty() ? "ok" : "FAILED",
      static_cast<unsigned long long>(report->versions),
      static_cast<unsigned long long>(report->chunks),
      static_cast<unsigned long long>(report->bytes),
      static_cast<unsigned long long>(report->audit_records),
      report->problems.size());
  return report->problems.empty() ? 0 : kExitIntegrity;
}

}  // namespace

void SetupVerifyCommand(CLI::App& app, int* exit_code) {
  auto location = std::make_shared<VaultLocation>();
  CLI::App* cmd =
      app.add_subcommand("verify",
                         "Check every chunk of every version and the catalog "
                         "(read-only; exit 5 on problems)");
  AddVaultLocationOptions(cmd, location.get());
  AddWitnessOption(cmd, location.get());
  cmd->callback([location, exit_code] { *exit_code = RunVerify(*location); });
}

}  // namespace mvserver
