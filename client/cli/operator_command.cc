#include "client/cli/operator_command.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/cli/output.h"
#include "client/cli/token_prompt.h"

namespace mvcli {
namespace {

constexpr size_t kMaxKeyInput = 4096;

struct UnsealOptions {
  bool reset = false;
};

nlohmann::json StateToJson(const mvclient::SealState& s) {
  nlohmann::json j = {{"sealed", s.sealed},
                      {"unlock", s.unlock},
                      {"threshold", s.threshold},
                      {"shares", s.shares},
                      {"progress", s.progress}};
  j["progress_expires_at"] =
      s.progress_expires_at_unix_ms == 0
          ? nlohmann::json(nullptr)
          : nlohmann::json(absl::FormatTime(
                absl::RFC3339_sec,
                absl::FromUnixMillis(s.progress_expires_at_unix_ms),
                absl::UTCTimeZone()));
  return j;
}

int PrintState(const mvclient::SealState& state, const GlobalOptions& globals,
               const std::string& text) {
  if (globals.output == OutputFormat::kJson)
    return PrintResult(DumpJson(StateToJson(state)));
  return PrintResult(text);
}

// One line from stdin (at most kMaxKeyInput bytes), or the terminal.
absl::StatusOr<std::string> ReadUnsealKey() {
  if (::isatty(STDIN_FILENO)) {
    return PromptHiddenLine(
        "Unseal key (will be hidden): ",
        "no terminal to prompt for the unseal key on: pipe it to stdin");
  }
  std::string text;
  char c;
  while (text.size() <= kMaxKeyInput) {
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError("cannot read stdin");
    if (n == 0 || c == '\n') break;
    text.push_back(c);
  }
  if (text.size() > kMaxKeyInput) {
    OPENSSL_cleanse(text.data(), text.size());
    return UsageError("stdin holds more than one unseal key");
  }
  return text;
}

int RunUnseal(const UnsealOptions& options, const GlobalOptions& globals) {
  auto conn = ResolveConnectionTokenOptional(globals, mvclient::ProcessEnv());
  if (!conn.ok()) return ReportError(conn.status());
  absl::StatusOr<std::string> key;
  if (!options.reset) {
    key = ReadUnsealKey();
    if (!key.ok()) return ReportError(key.status());
    if (key->find_first_not_of(" \t\r") == std::string::npos)
      return ReportError(UsageError("no unseal key given"));
  }
  auto client = Connect(*conn);
  if (!client.ok()) return ReportError(client.status());
  mvclient::OperatorClient op(*client);
  absl::StatusOr<mvclient::SealState> state =
      options.reset ? op.ResetUnseal() : op.Unseal(*key);
  if (key.ok()) OPENSSL_cleanse(key->data(), key->size());
  if (!state.ok()) return ReportError(state.status());
  if (!state->sealed) return PrintState(*state, globals, "vault unsealed\n");
  return PrintState(*state, globals,
                    absl::StrCat("unseal progress: ", state->progress, " of ",
                                 state->threshold, "\n"));
}

int RunSeal(const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return ReportError(client.status());
  absl::StatusOr<mvclient::SealState> state =
      mvclient::OperatorClient(*client).Seal();
  if (!state.ok()) return ReportError(state.status());
  return PrintState(*state, globals, "vault sealed\n");
}

int RunStatus(const GlobalOptions& globals) {
  auto conn = ResolveConnectionTokenOptional(globals, mvclient::ProcessEnv());
  if (!conn.ok()) return ReportError(conn.status());
  auto client = Connect(*conn);
  if (!client.ok()) return ReportError(client.status());
  absl::StatusOr<mvclient::SealState> state =
      mvclient::OperatorClient(*client).Status();
  if (!state.ok()) return ReportError(state.status());
  return PrintState(*state, globals, SealStateText(*state));
}

}  // namespace

std::string SealStateText(const mvclient::SealState& s) {
  std::string out = absl::StrCat("sealed: ", s.sealed ? "yes" : "no", "\n",
                                 "unlock: ", s.unlock, "\n");
  if (s.unlock == "shares") {
    absl::StrAppend(&out, "unseal keys: ", s.threshold, " of ", s.shares,
                    " needed\n");
  }
  if (s.sealed) {
    absl::StrAppend(&out, "unseal progress: ", s.progress, " of ", s.threshold,
                    "\n");
  }
  return out;
}

absl::Status RejectUnsealKeyInArgv(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).find("mvshare1-") != std::string_view::npos) {
      return absl::InvalidArgumentError(
          "unseal keys are not accepted on the command line (other users can "
          "read it); run `mvault operator unseal` and type or pipe the key");
    }
  }
  return absl::OkStatus();
}

void SetupOperatorCommand(CLI::App& app, CommandContext& ctx) {
  CLI::App* op = app.add_subcommand(
      "operator", "Seal state of the server: unseal, seal, status");
  op->require_subcommand(1);
  auto unseal_options = std::make_shared<UnsealOptions>();
  CLI::App* unseal = op->add_subcommand(
      "unseal",
      "Give one unseal key, read from the terminal (hidden) or stdin");
  unseal->add_flag("--reset", unseal_options->reset,
                   "Discard the unseal keys given so far instead");
  unseal->callback([unseal_options, &ctx] {
    ctx.exit_code = RunUnseal(*unseal_options, ctx.globals);
  });
  CLI::App* seal = op->add_subcommand(
      "seal", "Seal the vault: the server forgets every key (admin:seal)");
  seal->callback([&ctx] { ctx.exit_code = RunSeal(ctx.globals); });
  CLI::App* status =
      op->add_subcommand("status", "Show whether the vault is sealed");
  status->callback([&ctx] { ctx.exit_code = RunStatus(ctx.globals); });
}

}  // namespace mvcli
