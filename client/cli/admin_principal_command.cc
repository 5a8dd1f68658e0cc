#include "client/cli/admin_principal_command.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/access_output.h"

namespace mvcli {
namespace {

std::string PoliciesText(const mvclient::Principal& p) {
  return p.policies.empty() ? "none" : absl::StrJoin(p.policies, ",");
}

int PrintPrincipal(const absl::StatusOr<mvclient::Principal>& p,
                   const GlobalOptions& globals, absl::string_view verb) {
  if (!p.ok()) return ReportError(p.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(PrincipalToJson(*p)));
  }
  return PrintResult(absl::StrCat(verb, " principal ", p->name, " (",
                                  KindName(p->kind),
                                  ", policies: ", PoliciesText(*p), ")\n"));
}

void AddPolicyArgs(CLI::App* cmd, PrincipalPolicyOptions& opts) {
  cmd->add_option("NAME", opts.name, "Principal")->required();
  cmd->add_option("POLICY", opts.policy, "Policy name")->required();
}

// The server checks the rest; the kind is what users forget.
CLI::Validator CertIdentityKind() {
  return CLI::Validator(
      [](std::string& id) -> std::string {
        if (id.rfind("uri:", 0) == 0 || id.rfind("cn:", 0) == 0) return "";
        return "say which kind of certificate identity " + id +
               " is: uri:" + id + " (a URI SAN) or cn:" + id +
               " (the subject CN)";
      },
      "");
}

}  // namespace

void SetupAdminPrincipalCommand(CLI::App& admin, CommandContext& ctx) {
  CLI::App* group = admin.add_subcommand("principal", "Manage principals");
  group->require_subcommand(1);

  auto create = std::make_shared<PrincipalCreateOptions>();
  CLI::App* cmd = group->add_subcommand("create", "Create a principal");
  cmd->add_option("NAME", create->name, "Principal name")->required();
  cmd->add_option("--kind", create->kind, "user (default) or service")
      ->check(CLI::IsMember({"user", "service"}));
  cmd->add_option("--policy", create->policies,
                  "Attach this policy (repeatable)")
      ->type_name("POLICY");
  cmd->add_option("--cert-identity", create->cert_identity,
                  "The client certificate identity that authenticates as it, "
                  "with its kind: uri:SAN-URI or cn:COMMON-NAME")
      ->type_name("KIND:ID")
      ->check(CertIdentityKind());
  cmd->callback([create, &ctx] {
    ctx.exit_code = RunPrincipalCreate(*create, ctx.globals);
  });

  cmd = group->add_subcommand("ls", "List principals");
  cmd->callback([&ctx] { ctx.exit_code = RunPrincipalList(ctx.globals); });

  auto name = std::make_shared<std::string>();
  cmd = group->add_subcommand("show", "Show a principal");
  cmd->add_option("NAME", *name, "Principal name")->required();
  cmd->callback(
      [name, &ctx] { ctx.exit_code = RunPrincipalShow(*name, ctx.globals); });

  cmd = group->add_subcommand("rm", "Delete a principal and its tokens");
  cmd->add_option("NAME", *name, "Principal name")->required();
  cmd->callback(
      [name, &ctx] { ctx.exit_code = RunPrincipalRemove(*name, ctx.globals); });

  auto policy = std::make_shared<PrincipalPolicyOptions>();
  cmd = group->add_subcommand("attach", "Attach POLICY to principal NAME");
  AddPolicyArgs(cmd, *policy);
  cmd->callback([policy, &ctx] {
    ctx.exit_code = RunPrincipalAttach(*policy, true, ctx.globals);
  });
  cmd = group->add_subcommand("detach", "Detach POLICY from principal NAME");
  AddPolicyArgs(cmd, *policy);
  cmd->callback([policy, &ctx] {
    ctx.exit_code = RunPrincipalAttach(*policy, false, ctx.globals);
  });
}

int RunPrincipalCreate(const PrincipalCreateOptions& options,
                       const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  mvclient::NewPrincipal p;
  p.name = options.name;
  p.kind = options.kind == "service" ? mvclient::PrincipalKind::kService
                                     : mvclient::PrincipalKind::kUser;
  p.policies = options.policies;
  p.cert_identity = options.cert_identity;
  return PrintPrincipal((*access)->CreatePrincipal(p), globals, "created");
}

int RunPrincipalList(const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto list = (*access)->ListPrincipals();
  if (!list.ok()) return ReportError(list.status());
  if (globals.output == OutputFormat::kJson) {
    nlohmann::json items = nlohmann::json::array();
    for (const mvclient::Principal& p : *list) {
      items.push_back(PrincipalToJson(p));
    }
    return PrintResult(DumpJson({{"principals", std::move(items)}}));
  }
  return PrintResult(PrincipalsTable(*list));
}

int RunPrincipalShow(const std::string& name, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto p = (*access)->GetPrincipal(name);
  if (!p.ok()) return ReportError(p.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson(PrincipalToJson(*p)));
  }
  return PrintResult(PrincipalDetails(*p));
}

int RunPrincipalRemove(const std::string& name, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto revoked = (*access)->DeletePrincipal(name);
  if (!revoked.ok()) return ReportError(revoked.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(
        DumpJson({{"name", name}, {"revoked_tokens", *revoked}}));
  }
  return PrintResult(absl::StrCat("deleted principal ", name, " (revoked ",
                                  *revoked,
                                  *revoked == 1 ? " token" : " tokens", ")\n"));
}

int RunPrincipalAttach(const PrincipalPolicyOptions& options, bool attach,
                       const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto p = attach ? (*access)->AttachPolicy(options.name, options.policy)
                  : (*access)->DetachPolicy(options.name, options.policy);
  if (!p.ok() || globals.output == OutputFormat::kJson) {
    return PrintPrincipal(p, globals, "");
  }
  return PrintResult(absl::StrCat(attach ? "attached " : "detached ",
                                  options.policy, attach ? " to " : " from ",
                                  p->name, " (policies: ", PoliciesText(*p),
                                  ")\n"));
}

}  // namespace mvcli
