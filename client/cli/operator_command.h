// `mvault operator unseal|seal|status`: the seal state of a server whose
// vault is sealed by unseal keys (OperatorService).
//
//   unseal [--reset]  reads ONE unseal key — from the terminal with echo off
//                     when stdin is one, else from stdin — never from argv,
//                     and prints "unseal progress: K of M" or "vault
//                     unsealed". --reset discards the keys given so far.
//   seal              seals the vault (admin:seal); every key leaves the
//                     server's memory once in-flight calls end.
//   status            "sealed: yes|no", the unlock kind and the progress.
//
// -o json prints the seal state object. Exit codes are exit_codes.h's; a
// sealed vault's status is still exit 0 (it answered).
#ifndef MODELVAULT_CLIENT_CLI_OPERATOR_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_OPERATOR_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/status.h"
#include "client/cli/command.h"
#include "client/lib/operator_client.h"

namespace mvcli {

void SetupOperatorCommand(CLI::App& app, CommandContext& ctx);

// INVALID_ARGUMENT if an argument looks like an unseal key ("mvshare1-"):
// keys are read from the terminal or stdin only (argv is visible to other
// users in ps and lands in shell history).
absl::Status RejectUnsealKeyInArgv(int argc, const char* const* argv);

// The text `mvault operator status` prints.
std::string SealStateText(const mvclient::SealState& state);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_OPERATOR_COMMAND_H_
