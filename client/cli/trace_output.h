// How `mvault trace` prints the server's signed report (trace.proto).
//
// -o json: the report object (vault/trace_report.h) plus
//   "signature": {"algorithm": "ed25519", "public_key": hex, "value": hex,
//                 "signed": "this object without \"signature\", as compact
//                            JSON with sorted keys"}
// so that removing "signature" and dumping compactly (nlohmann dump())
// gives back exactly the bytes that were signed.
// Text: verdict, artifact, how it was matched, a table of the top
// candidates and the decoy statistics.
// Pure; thread-safe.
#ifndef MODELVAULT_CLIENT_CLI_TRACE_OUTPUT_H_
#define MODELVAULT_CLIENT_CLI_TRACE_OUTPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/lib/client.h"

namespace mvcli {

inline constexpr char kSignedDescription[] =
    "this object without \"signature\", as compact JSON with sorted keys";

// INTERNAL if the server's report is not a JSON object.
absl::StatusOr<std::string> TraceReportJson(
    const mvclient::TraceResult& result);
absl::StatusOr<std::string> TraceReportText(
    const mvclient::TraceResult& result);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_TRACE_OUTPUT_H_
