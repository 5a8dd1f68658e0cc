// The leak-tracing report as JSON (README "Leak tracing"): compact, keys
// sorted, so that the bytes the server signs are exactly the bytes a
// client re-serialises from the parsed object (nlohmann::json::dump()).
//
//   {"scheme": "MVFP-1", "verdict": "attributed"|"suspect"|"none",
//    "artifact": "NAME@N", "matched_by": ..., "leak": {"sha256", "size"},
//    "mode": "lossless"|"soft"|"no data", "abstained": bool,
//    "votes": {"present", "nonzero"}, "downloads_scored": J,
//    "original_downloads": N (tier 0 original: its unmarked/exact downloads),
//    "candidates": [{"principal", "download_id" (16 hex digits), "z", "p",
//                    "log10_p", "time" (RFC 3339 UTC), "peer", "verdict",
//                    "delivery", "audit_sequence"}, ...]   (z descending;
//                    p = family-wise P; log10_p = log10 P, null when P is
//                    exactly 0: an exact copy without statistics),
//    "decoys": {"count", "mean_z", "stddev_z", "max_z"},
//    "tensors": [{"name", "positions", "present", "mode"}],
//    "parameters": {"tardos_positions", "reference_positions", "mark_ulps",
//                   "tardos_t", "attribute_p", "suspect_p", "decoy_abstain_z"},
//    "generated_at": RFC 3339}
// Pure; thread-safe.
#ifndef MODELVAULT_VAULT_TRACE_REPORT_H_
#define MODELVAULT_VAULT_TRACE_REPORT_H_

#include <string>

#include "trace/detect.h"
#include "vault/tracer.h"

namespace mv {

std::string LeakReportJson(const LeakReport& report,
                           const DetectOptions& options = {});

}  // namespace mv

#endif  // MODELVAULT_VAULT_TRACE_REPORT_H_
