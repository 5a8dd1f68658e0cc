// How mvault prints audit records (`mvault admin audit tail`).
//
// JSON (-o json): one object per line with the field names of the export's
// record lines (src/audit/audit_export.h) minus "prev" and "hash":
//   {"action", "bytes", "decision", "download_id": "<16 hex>", "method",
//    "peer", "principal", "reason", "request_id", "resource", "sequence",
//    "status_code", "time_unix_ms", "tls_identity", "token_accessor",
//    "type": "record", "v": 1}
// Keys are emitted sorted. Add fields freely; never rename or retype one.
//
// Text: aligned columns TIME (RFC 3339 UTC), SEQ, PRINCIPAL, DECISION, CODE
// (gRPC code name), METHOD (RPC name without its service), RESOURCE, BYTES,
// REASON.
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_AUDIT_OUTPUT_H_
#define MODELVAULT_CLIENT_CLI_AUDIT_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/lib/audit_client.h"

namespace mvcli {

nlohmann::json AuditEntryToJson(const mvclient::AuditEntry& e);
// One compact line with a final newline.
std::string AuditEntryJsonLine(const mvclient::AuditEntry& e);

std::vector<std::string> AuditHeaderRow();
std::vector<std::string> AuditEntryRow(const mvclient::AuditEntry& e);

// "OK", "PERMISSION_DENIED", ... ("CODE_N" for a number absl does not know).
std::string StatusCodeName(uint32_t code);
// "/modelvault.v1.ArtifactService/Download" -> "Download".
std::string MethodShortName(const std::string& method);

// Grows `widths` so that each of `cells` fits its column.
void FitWidths(const std::vector<std::string>& cells,
               std::vector<size_t>& widths);
// Cells padded to `widths` (grown to fit), two spaces apart, no trailing
// blanks, a final newline: the rows that `tail -f` adds under a table keep
// its columns as long as they fit.
std::string PaddedRow(const std::vector<std::string>& cells,
                      std::vector<size_t>& widths);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_AUDIT_OUTPUT_H_
