#include "client/cli/trace_output.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/output.h"
#include "common/bytes.h"
#include "crypto/sha256.h"

namespace mvcli {
namespace {

using nlohmann::json;

absl::StatusOr<json> ParseReport(const mvclient::TraceResult& result) {
  json report =
      json::parse(result.report_json, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object()) {
    return absl::InternalError(
        "the server's trace report is not a JSON object");
  }
  return report;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string Number(const json& j, const char* key,
                   const absl::FormatSpec<double>& format) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "-";
  return absl::StrFormat(format, it->get<double>());
}

// P as "%.3g", or from log10_p when it underflows a double ("<1e-412").
std::string PValue(const json& c) {
  auto p = c.find("p");
  auto log10_p = c.find("log10_p");
  if (p != c.end() && p->is_number() && p->get<double>() == 0 &&
      log10_p != c.end() && log10_p->is_number()) {
    return absl::StrFormat("<1e%d",
                           static_cast<int>(std::ceil(log10_p->get<double>())));
  }
  return Number(c, "p", "%.3g");
}

std::string CandidatesTable(const json& candidates) {
  std::vector<std::vector<std::string>> rows = {
      {"PRINCIPAL", "DOWNLOAD ID", "Z", "P", "TIME", "PEER", "VERDICT"}};
  for (const json& c : candidates) {
    rows.push_back({Str(c, "principal"), Str(c, "download_id"),
                    Number(c, "z", "%.2f"), PValue(c), Str(c, "time"),
                    Str(c, "peer"), Str(c, "verdict")});
  }
  return AlignedTable(rows);
}

}  // namespace

absl::StatusOr<std::string> TraceReportJson(
    const mvclient::TraceResult& result) {
  absl::StatusOr<json> report = ParseReport(result);
  if (!report.ok()) return report.status();
  const json signature = {
      {"algorithm", "ed25519"},
      {"public_key", mv::ToHex(mv::AsBytes(result.public_key))},
      {"value", mv::ToHex(mv::AsBytes(result.signature))},
      {"signed", kSignedDescription},
  };
  // The signed text itself, not a re-serialisation (see the header).
  std::string out = result.report_json;
  absl::StripTrailingAsciiWhitespace(&out);
  out.pop_back();  // the closing '}' of an object (ParseReport checked)
  absl::StrAppend(&out, report->empty() ? "" : ",",
                  "\"signature\":", signature.dump(), "}\n");
  return out;
}

absl::StatusOr<std::string> TraceReportText(
    const mvclient::TraceResult& result) {
  absl::StatusOr<json> report = ParseReport(result);
  if (!report.ok()) return report.status();
  const json& r = *report;
  std::string out = absl::StrCat(
      "verdict:    ", Str(r, "verdict"),
      r.value("abstained", false) ? " (abstained: decoys misbehaved)" : "",
      "\n", "artifact:   ", Str(r, "artifact"), "\n",
      "matched by: ", Str(r, "matched_by"), "\n");
  if (r.contains("mode"))
    absl::StrAppend(&out, "mode:       ", Str(r, "mode"), "\n");
  if (r.contains("downloads_scored")) {
    absl::StrAppend(&out, "scored:     ", Str(r, "downloads_scored"),
                    " logged downloads\n");
  }
  auto candidates = r.find("candidates");
  if (candidates != r.end() && candidates->is_array() && !candidates->empty()) {
    absl::StrAppend(&out, "\n", CandidatesTable(*candidates), "\n");
  } else {
    absl::StrAppend(&out, "candidates: none\n");
  }
  auto decoys = r.find("decoys");
  if (decoys != r.end() && decoys->is_object()) {
    absl::StrAppend(&out, "decoys:     ", Str(*decoys, "count"),
                    " never-issued ids, max z ",
                    Number(*decoys, "max_z", "%.2f"), " (mean ",
                    Number(*decoys, "mean_z", "%.2f"), ", sd ",
                    Number(*decoys, "stddev_z", "%.2f"), ")\n");
  }
  absl::StrAppend(&out, "signed:     ed25519 by ",
                  mv::ToHex(mv::AsBytes(result.public_key)),
                  " (the audit key: mvault admin audit pubkey)\n");
  return out;
}

}  // namespace mvcli
