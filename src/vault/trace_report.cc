#include "vault/trace_report.h"

#include <sodium.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "common/bytes.h"
#include "trace/element_codec.h"

namespace mv {
namespace {

using Json = nlohmann::json;  // std::map objects: keys sorted

constexpr double kTardosT = 0.01;  // plan.h, TardosWeight

std::string Hex(std::string_view bin) {
  std::string out(bin.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), AsBytes(bin).data(), bin.size());
  out.pop_back();
  return out;
}

std::string Rfc3339(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

// JSON has no infinities: a non-finite number becomes null.
Json Number(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json CandidateJson(const TracedDownload& c) {
  const double log10_p = c.score.log10_p_family;
  return {{"principal", c.download.principal},
          {"download_id", DownloadIdHex(c.score.download_id)},
          {"z", Number(c.score.z)},
          {"p", std::isfinite(log10_p) ? std::pow(10.0, log10_p) : 0.0},
          {"log10_p", Number(log10_p)},
          {"time", Rfc3339(c.download.started_unix_ms)},
          {"peer", c.download.peer},
          {"verdict", VerdictName(c.score.verdict)},
          {"delivery", std::string(DeliveryName(c.download.delivery))},
          {"audit_sequence", c.download.audit_sequence}};
}

// Where the leak holds a tensor and which rewrites were undone to read it.
Json FoundJson(const TensorMatch& m) {
  if (m.by == MatchedBy::kNone) return nullptr;
  Json rows = "as stored";
  if (m.map.heads != 0) {
    rows = {{"order", m.map.inverse ? "llama.cpp q/k undone" : "llama.cpp q/k"},
            {"heads", m.map.heads}};
  }
  Json aligned = nullptr;
  if (m.alignment.axis != AlignedAxis::kNone) {
    const Sha256Digest pairs = m.alignment.PairsSha256();
    aligned = {{"axis", AlignedAxisName(m.alignment.axis)},
               {"needed", m.alignment.needed},
               {"aligned", m.alignment.pairs.size()},
               {"pairing_correlation", Number(m.alignment.pairing_correlation)},
               {"pairs_sha256", Hex(std::string(AsChars(pairs)))}};
  }
  return {{"by", MatchedByName(m.by)},
          {"leak_name", m.leak_name},
          {"rows", std::move(rows)},
          {"transposed", m.map.transposed},
          {"aligned", std::move(aligned)}};
}

}  // namespace

std::string LeakReportJson(const LeakReport& report,
                           const DetectOptions& options) {
  Json candidates = Json::array();
  for (const TracedDownload& c : report.candidates)
    candidates.push_back(CandidateJson(c));
  Json tensors = Json::array();
  for (const LeakReport::TensorFinding& t : report.tensors) {
    tensors.push_back({{"name", t.name},
                       {"positions", t.positions},
                       {"present", t.present},
                       {"mode", TraceModeName(t.mode)},
                       {"found", FoundJson(t.match)}});
  }
  const TraceResult& r = report.result;
  const Json j = {
      {"scheme", "MVFP-1"},
      {"verdict", VerdictName(report.verdict)},
      {"artifact", report.artifact},
      {"matched_by", report.matched_by},
      {"leak",
       {{"sha256", Hex(report.leak_sha256)}, {"size", report.leak_size}}},
      {"mode", TraceModeName(r.mode)},
      {"abstained", r.abstained},
      {"votes", {{"present", r.votes_present}, {"nonzero", r.votes_nonzero}}},
      {"downloads_scored", report.downloads_scored},
      {"original_downloads", report.original_downloads},
      {"candidates", std::move(candidates)},
      {"decoys",
       {{"count", r.decoys.count},
        {"mean_z", Number(r.decoys.mean_z)},
        {"stddev_z", Number(r.decoys.stddev_z)},
        {"max_z", Number(r.decoys.max_z)}}},
      {"tensors", std::move(tensors)},
      {"parameters",
       {{"tardos_positions", report.fingerprint.tardos_positions},
        {"reference_positions", report.fingerprint.reference_positions},
        {"mark_ulps", kMarkUlps},
        {"tardos_t", kTardosT},
        {"attribute_p", options.attribute_p},
        {"suspect_p", options.suspect_p},
        {"decoy_abstain_z", options.decoy_abstain_z}}},
      {"generated_at", Rfc3339(report.generated_unix_ms)}};
  // Strings are ours or valid UTF-8 from the index; replace, never throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace mv
