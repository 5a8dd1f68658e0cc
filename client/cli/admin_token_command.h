// `mvault admin token create|ls|lookup|revoke`: scoped tokens.
//
// `create --principal NAME [--ttl 8h] [--uses N] [--policy P]...` prints the
// token — shown this once only — alone on one line on stdout, so that
// `T=$(mvault admin token create ...)` captures it, and its accessor on
// stderr; with -o json it prints the new-token object of access_output.h.
// Tokens are later named only by their accessor.
#ifndef MODELVAULT_CLIENT_CLI_ADMIN_TOKEN_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_ADMIN_TOKEN_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client/cli/admin_command.h"

namespace mvcli {

struct TokenCreateOptions {
  std::string principal;
  std::string ttl;   // "" = no expiry; else a duration (duration.h)
  int64_t uses = 0;  // 0 = unlimited
  std::vector<std::string> policies;
};

int RunTokenCreate(const TokenCreateOptions& options,
                   const GlobalOptions& globals);
int RunTokenList(const std::string& principal, const GlobalOptions& globals);
int RunTokenLookup(const std::string& accessor, const GlobalOptions& globals);
int RunTokenRevoke(const std::string& accessor, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ADMIN_TOKEN_COMMAND_H_
