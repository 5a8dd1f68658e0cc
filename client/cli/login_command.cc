#include "client/cli/login_command.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/cli/token_prompt.h"
#include "client/lib/access_client.h"
#include "client/lib/token_store.h"

namespace mvcli {

void SetupLoginCommand(CLI::App& app, CommandContext& ctx) {
  auto opts = std::make_shared<LoginCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "login", "Check a token with the server and save it for later commands");
  cmd->add_flag("--token-stdin", opts->token_stdin,
                "Read the token from stdin instead of prompting");
  cmd->callback([opts, &ctx] { ctx.exit_code = RunLogin(*opts, ctx.globals); });
}

void SetupLogoutCommand(CLI::App& app, CommandContext& ctx) {
  CLI::App* cmd = app.add_subcommand("logout", "Remove the saved token");
  cmd->callback([&ctx] { ctx.exit_code = RunLogout(ctx.globals); });
}

std::string LoginTokenPath(const GlobalOptions& globals,
                           const mvclient::EnvLookup& env) {
  if (!globals.token_file.empty()) return globals.token_file;
  return mvclient::DefaultTokenPath(env);
}

int RunLogin(const LoginCommandOptions& options, const GlobalOptions& globals) {
  mvclient::EnvLookup env = mvclient::ProcessEnv();
  std::string path = LoginTokenPath(globals, env);
  if (path.empty()) {
    return ReportError(UsageError(
        "nowhere to save the token: set XDG_CONFIG_HOME or HOME, or give "
        "--token-file"));
  }
  auto conn = ResolveEndpoint(globals, env);
  if (!conn.ok()) return ReportError(conn.status());
  absl::StatusOr<std::string> token =
      options.token_stdin ? ReadTokenFromFd(STDIN_FILENO) : PromptForToken();
  if (!token.ok()) return ReportError(token.status());
  conn->token = *std::move(token);

  auto client = Connect(*conn);
  if (!client.ok()) return ReportError(client.status());
  auto identity = mvclient::AccessClient(*client).WhoAmI();
  if (!identity.ok()) return ReportError(identity.status());
  if (absl::Status s = mvclient::WriteTokenFile(path, conn->token); !s.ok()) {
    return ReportError(s);
  }
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(
        DumpJson({{"principal", identity->principal}, {"token_file", path}}));
  }
  std::fprintf(stderr, "token saved to %s\n", path.c_str());
  return PrintResult(absl::StrCat("logged in as ", identity->principal, "\n"));
}

int RunLogout(const GlobalOptions& globals) {
  std::string path = LoginTokenPath(globals, mvclient::ProcessEnv());
  absl::StatusOr<bool> removed = mvclient::RemoveTokenFile(path);
  if (!removed.ok()) return ReportError(removed.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson({{"token_file", path}, {"removed", *removed}}));
  }
  return PrintResult(
      *removed ? absl::StrCat("logged out: removed ", path, "\n")
               : absl::StrCat("not logged in: no token at ", path, "\n"));
}

}  // namespace mvcli
