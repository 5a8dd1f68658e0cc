// `mvault admin principal create|ls|show|rm|attach|detach`: principals (users
// and services) and the policies attached to them. A principal with
// --cert-identity uri:SAN-URI (or cn:COMMON-NAME) is who a client certificate
// with that URI SAN (or subject CN) authenticates as; the kind is required,
// so a CN spelled like a URI is never taken for one. `rm` also revokes every
// token of the principal.
#ifndef MODELVAULT_CLIENT_CLI_ADMIN_PRINCIPAL_COMMAND_H_
#define MODELVAULT_CLIENT_CLI_ADMIN_PRINCIPAL_COMMAND_H_

#include <string>
#include <vector>

#include "client/cli/admin_command.h"

namespace mvcli {

struct PrincipalCreateOptions {
  std::string name;
  std::string kind = "user";  // "user" | "service"
  std::vector<std::string> policies;
  std::string cert_identity;
};

struct PrincipalPolicyOptions {  // attach / detach
  std::string name;
  std::string policy;
};

int RunPrincipalCreate(const PrincipalCreateOptions& options,
                       const GlobalOptions& globals);
int RunPrincipalList(const GlobalOptions& globals);
int RunPrincipalShow(const std::string& name, const GlobalOptions& globals);
int RunPrincipalRemove(const std::string& name, const GlobalOptions& globals);
int RunPrincipalAttach(const PrincipalPolicyOptions& options, bool attach,
                       const GlobalOptions& globals);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_ADMIN_PRINCIPAL_COMMAND_H_
