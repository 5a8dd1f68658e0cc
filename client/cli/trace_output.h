// How `mvault trace` prints the server's signed report (trace.proto).
//
// -o json: one line, the report exactly as the server signed it
// (vault/trace_report.h: compact, sorted keys) with a last member appended:
//   "signature": {"algorithm": "ed25519", "public_key": hex, "value": hex,
//                 "signed": kSignedDescription}
// The signed bytes are the line up to `,"signature":`, then `}`. The report
// is never re-serialised: JSON libraries disagree on how to write some
// doubles (nlohmann's digits are not always the shortest; Python's are), so
// "remove the member and dump again" failed verification for ~1 report in
// 20 when done in Python.
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
    "the bytes of this line before ,\"signature\": followed by }";

// INTERNAL if the server's report is not a JSON object.
absl::StatusOr<std::string> TraceReportJson(
    const mvclient::TraceResult& result);
absl::StatusOr<std::string> TraceReportText(
    const mvclient::TraceResult& result);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_TRACE_OUTPUT_H_
