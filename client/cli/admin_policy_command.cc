#include "client/cli/admin_policy_command.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace mvcli {
namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;

// The server's canonical text as a JSON value; the raw text as a string if
// it does not parse (it always should).
nlohmann::json DocumentJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return text;
  return j;
}

int PrintPolicy(const mvclient::PolicyDocument& doc,
                const GlobalOptions& globals) {
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(
        DumpJson({{"name", doc.name}, {"policy", DocumentJson(doc.json)}}));
  }
  nlohmann::json j = DocumentJson(doc.json);
  return PrintResult(j.is_string() ? doc.json + "\n" : DumpJson(j));
}

}  // namespace

void SetupAdminPolicyCommand(CLI::App& admin, CommandContext& ctx) {
  CLI::App* group = admin.add_subcommand("policy", "Manage policies");
  group->require_subcommand(1);

  auto put = std::make_shared<PolicyPutOptions>();
  CLI::App* cmd =
      group->add_subcommand("put", "Create or replace a policy from JSON");
  cmd->add_option("NAME", put->name, "Policy name")->required();
  cmd->add_option("FILE", put->file, "Policy document ('-' = stdin)")
      ->required();
  cmd->callback(
      [put, &ctx] { ctx.exit_code = RunPolicyPut(*put, ctx.globals); });

  auto name = std::make_shared<std::string>();
  cmd = group->add_subcommand("get", "Print a policy document");
  cmd->add_option("NAME", *name, "Policy name")->required();
  cmd->callback(
      [name, &ctx] { ctx.exit_code = RunPolicyGet(*name, ctx.globals); });

  cmd = group->add_subcommand("ls", "List policy names");
  cmd->callback([&ctx] { ctx.exit_code = RunPolicyList(ctx.globals); });

  cmd = group->add_subcommand("rm", "Delete a policy");
  cmd->add_option("NAME", *name, "Policy name")->required();
  cmd->callback(
      [name, &ctx] { ctx.exit_code = RunPolicyRemove(*name, ctx.globals); });
}

absl::StatusOr<std::string> ReadPolicyFile(const std::string& file) {
  std::string shown = file == "-" ? "stdin" : file;
  std::stringstream buf;
  if (file == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return UsageError(
          absl::StrCat("cannot read ", file, ": ", std::strerror(errno)));
    }
    buf << in.rdbuf();
  }
  std::string text = buf.str();
  if (text.size() > kMaxPolicyBytes) {
    return UsageError(absl::StrCat(shown, ": policy larger than 1 MiB"));
  }
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object()) {
      return UsageError(
          absl::StrCat(shown, ": a policy must be a JSON object"));
    }
  } catch (const nlohmann::json::parse_error& e) {
    return UsageError(absl::StrCat(shown, " is not valid JSON: ", e.what()));
  }
  return text;
}

int RunPolicyPut(const PolicyPutOptions& options,
                 const GlobalOptions& globals) {
  absl::StatusOr<std::string> text = ReadPolicyFile(options.file);
  if (!text.ok()) return ReportError(text.status());
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto doc = (*access)->PutPolicy(options.name, *text);
  if (!doc.ok()) return ReportError(doc.status());
  if (globals.output == OutputFormat::kJson) return PrintPolicy(*doc, globals);
  return PrintResult(absl::StrCat("saved policy ", doc->name, "\n"));
}

int RunPolicyGet(const std::string& name, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto doc = (*access)->GetPolicy(name);
  if (!doc.ok()) return ReportError(doc.status());
  return PrintPolicy(*doc, globals);
}

int RunPolicyList(const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  auto names = (*access)->ListPolicies();
  if (!names.ok()) return ReportError(names.status());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson({{"policies", *names}}));
  }
  std::string out;
  for (const std::string& n : *names) absl::StrAppend(&out, n, "\n");
  return PrintResult(out);
}

int RunPolicyRemove(const std::string& name, const GlobalOptions& globals) {
  auto access = ConnectAccess(globals);
  if (!access.ok()) return ReportError(access.status());
  if (absl::Status s = (*access)->DeletePolicy(name); !s.ok()) {
    return ReportError(s);
  }
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson({{"name", name}, {"deleted", true}}));
  }
  return PrintResult(absl::StrCat("deleted policy ", name, "\n"));
}

}  // namespace mvcli
