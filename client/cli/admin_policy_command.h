// `mvault admin policy put NAME FILE|- | get NAME | ls | rm NAME`: policy
// documents (the JSON of README.md's "Access control"). `put` checks that
// FILE is JSON before sending it; the server validates the rules and names
// the bad field. `get` prints the server's canonical document, pretty-printed,
// so that `get NAME > f.json` and `put NAME f.json` round-trip.
#ifndef MODELVAULT_CLIENT_CLI_ADMIN_POLICY_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_ADMIN_POLICY_COMMAND_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/cli/admin_command.h"

namespace mvcli {

struct PolicyPutOptions {
  std::string name;
  std::string file;  // "-" = stdin
};

// Reads a policy document from `file` ("-" = stdin) and checks it is one
// JSON object. Usage errors (exit 2) naming the file otherwise.
absl::StatusOr<std::string> ReadPolicyFile(const std::string& file);

int RunPolicyPut(const PolicyPutOptions& options, const GlobalOptions& globals);
int RunPolicyGet(const std::string& name, const GlobalOptions& globals);
int RunPolicyList(const GlobalOptions& globals);
int RunPolicyRemove(const std::string& name, const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ADMIN_POLICY_COMMAND_H_
