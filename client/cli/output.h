// How mvault prints results: stable JSON (`-o json`) or human text.
//
// JSON field names are a public interface; scripts parse them. A version is
//   {"name": "acme/llama", "version": 3, "ref": "acme/llama@3",
//    "size": 123, "sha256": "<64 hex>", "format": "blob"|"safetensors"|
//    "gguf"|"unspecified", "labels": {"k": "v"}, "aliases": ["prod"],
//    "created_by": "root", "created_at": "2024-05-01T12:00:00.000Z",
//    "chunk_size": 1048576, "cipher_suite": "...", "key_version": 1,
//    "fingerprint": {"markable": true, "positions": 8192, "tensors": 3,
//                    "unmarked_reason": ""}}
// and `ls` prints {"versions": [<version>...]}. Keys are emitted sorted.
// Add fields freely; never rename or retype one.
//
// Results go to stdout; errors are one line on stderr (ErrorLine). Pure
// functions; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_OUTPUT_H_
#define MODELVAULT_CLIENT_CLI_OUTPUT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "modelvault/v1/artifact.pb.h"

namespace mvcli {

enum class OutputFormat { kText, kJson };

std::string FormatName(modelvault::v1::Format format);
// "fingerprinted" | "unmarked" | "exact" | "unspecified".
std::string DeliveryName(modelvault::v1::Delivery delivery);
// "marked, 8192 positions in 3 tensors" / "unmarked (stored as a blob)".
std::string FingerprintText(const modelvault::v1::Fingerprint& f);
std::string VersionRef(const modelvault::v1::Version& v);  // "NAME@N"
std::string Rfc3339Utc(int64_t unix_ms);  // "2024-05-01T12:00:00.000Z"
std::string HumanBytes(uint64_t bytes);   // "1.5 GiB", "999 B"

nlohmann::json VersionToJson(const modelvault::v1::Version& v);
nlohmann::json VersionsToJson(
    const std::vector<modelvault::v1::Version>& versions);
// Pretty-printed with a final newline; invalid UTF-8 is replaced, not thrown.
std::string DumpJson(const nlohmann::json& j);

// `mvault info`: one "key: value" line per field.
std::string VersionDetails(const modelvault::v1::Version& v);
// Rows of cells -> left-aligned columns separated by two spaces.
std::string AlignedTable(const std::vector<std::vector<std::string>>& rows);
// `mvault ls`: a header row and one aligned row per version.
std::string VersionsTable(const std::vector<modelvault::v1::Version>& versions);

// "mvault: error: <message>" without a trailing newline. Adds a short label
// ("not found: ", "permission denied: "...) unless the message already says
// so, so the line reads well whichever layer wrote the message.
std::string ErrorLine(const absl::Status& status);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_OUTPUT_H_
