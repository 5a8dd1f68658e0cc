#include "client/cli/audit_output.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/output.h"

namespace mvcli {

nlohmann::json AuditEntryToJson(const mvclient::AuditEntry& e) {
  nlohmann::json j = {
      {"type", "record"},
      {"v", 1},
      {"sequence", e.sequence},
      {"time_unix_ms", e.time_unix_ms},
      {"principal", e.principal},
      {"token_accessor", e.token_accessor},
      {"peer", e.peer},
      {"tls_identity", e.tls_identity},
      {"method", e.method},
      {"resource", e.resource},
      {"action", e.action},
      {"decision", e.decision},
      {"status_code", e.status_code},
      {"bytes", e.bytes},
      {"request_id", e.request_id},
      // As in the export: SIEMs parse JSON numbers as doubles.
      {"download_id", absl::StrFormat("%016x", e.download_id)},
      {"reason", e.reason},
  };
  // Omitted when empty, as in the export (layout 1 records have neither).
  if (!e.delivery.empty()) j["delivery"] = e.delivery;
  if (!e.delivered_sha256.empty()) j["delivered_sha256"] = e.delivered_sha256;
  if (j.contains("delivery") || j.contains("delivered_sha256"))
    j["v"] = 2;  // layout 2
  return j;
}

std::string AuditEntryJsonLine(const mvclient::AuditEntry& e) {
  return AuditEntryToJson(e).dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::vector<std::string> AuditHeaderRow() {
  return {"TIME",   "SEQ",      "PRINCIPAL", "DECISION", "CODE",
          "METHOD", "RESOURCE", "BYTES",     "REASON"};
}

std::vector<std::string> AuditEntryRow(const mvclient::AuditEntry& e) {
  return {Rfc3339Utc(e.time_unix_ms),
          absl::StrCat(e.sequence),
          e.principal.empty() ? "-" : e.principal,
          e.decision,
          StatusCodeName(e.status_code),
          MethodShortName(e.method),
          e.resource.empty() ? "-" : e.resource,
          absl::StrCat(e.bytes),
          e.reason};
}

std::string StatusCodeName(uint32_t code) {
  if (code > 16) return absl::StrCat("CODE_", code);
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string MethodShortName(const std::string& method) {
  size_t slash = method.rfind('/');
  return slash == std::string::npos ? method : method.substr(slash + 1);
}

void FitWidths(const std::vector<std::string>& cells,
               std::vector<size_t>& widths) {
  widths.resize(std::max(widths.size(), cells.size()), 0);
  for (size_t i = 0; i < cells.size(); ++i) {
    widths[i] = std::max(widths[i], cells[i].size());
  }
}

std::string PaddedRow(const std::vector<std::string>& cells,
                      std::vector<size_t>& widths) {
  FitWidths(cells, widths);
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    absl::StrAppend(&line, cells[i],
                    std::string(widths[i] - cells[i].size(), ' '), "  ");
  }
  absl::StripTrailingAsciiWhitespace(&line);
  return line + "\n";
}

}  // namespace mvcli
