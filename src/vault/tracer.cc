// Tracer (vault/tracer.h): tier 0 by hash, else find the version the leak
// came from, vote and score its fingerprinted downloads; and the audit key
// that signs the report.
#include "vault/tracer.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "trace/element_codec.h"
#include "trace/leak_reader.h"
#include "vault/catalog.h"
#include "vault/download_index.h"
#include "vault/identity_store.h"
#include "vault/mark_store.h"
#include "vault/reference.h"
#include "vault/stored_version_file.h"

namespace mv {
namespace {

constexpr size_t kTopCandidates = 10;
constexpr char kNoMatch[] = "no stored version matches this file";

std::string RefOf(const VersionRecord& v) {
  return absl::StrCat(v.name, "@", v.number);
}

// How closely the leak's values at the table's reference positions follow
// the originals (|Pearson correlation|, pooled: a negated copy follows
// them too), and how many Tardos
// positions it has: which stored version it was made from.
struct VersionFit {
  size_t present = 0;
  double correlation = 0;
};

VersionFit FitOf(const MarkTable& table, const LeakValues& values) {
  VersionFit fit;
  double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const MarkEntry& e = table.entries[i];
    const LeakSample& s = values.samples[i];
    if (!s.present) continue;
    if (e.channel == MarkChannel::kTardos) ++fit.present;
    if (e.channel != MarkChannel::kReference) continue;
    const double x = DecodeElement(e.dtype, e.original_bits), y = s.value;
    if (!std::isfinite(y)) continue;
    n += 1, sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
  }
  const double vx = sxx - sx * sx / std::max(n, 1.0),
               vy = syy - sy * sy / std::max(n, 1.0);
  if (n >= 2 && vx > 0 && vy > 0)
    fit.correlation = std::fabs(sxy - sx * sy / n) / std::sqrt(vx * vy);
  return fit;
}

// A version's mark table and the leak's values at its positions.
struct TableAndValues {
  MarkTable table;
  LeakValues values;
};

// Every stored version (a scan of `versions`).
absl::StatusOr<std::vector<VersionRecord>> AllVersions(const Txn& txn,
                                                       const Dbs& dbs) {
  std::vector<VersionRecord> out;
  absl::Status decode;
  MV_RETURN_IF_ERROR(
      txn.Scan(dbs.versions, "", "", [&](std::string_view, std::string_view v) {
        absl::StatusOr<VersionRecord> r = DecodeVersion(v);
        if (!r.ok()) return decode = r.status(), false;
        out.push_back(*std::move(r));
        return true;
      }));
  MV_RETURN_IF_ERROR(decode);
  return out;
}

// The indexed download of one of `versions` whose whole delivered bytes
// hash to `sha256`.
absl::StatusOr<std::optional<DownloadRecord>> DeliveredAs(
    const Txn& txn, const Dbs& dbs, std::string_view sha256,
    const std::vector<VersionRecord>& versions) {
  std::optional<DownloadRecord> found;
  absl::Status decode;
  MV_RETURN_IF_ERROR(txn.Scan(
      dbs.downloads, "", "", [&](std::string_view k, std::string_view v) {
        absl::StatusOr<DownloadRecord> r = DecodeDownload(k, v);
        if (!r.ok()) return decode = r.status(), false;
        if (r->delivered_sha256 != sha256) return true;
        if (std::none_of(versions.begin(), versions.end(), [&](auto& version) {
              return version.version_id == r->serial;
            })) {
          return true;  // out of scope
        }
        found = *std::move(r);
        return false;
      }));
  MV_RETURN_IF_ERROR(decode);
  return found;
}

// The version `artifact_ref` names; NOT_FOUND unless it exists and is
// markable.
absl::StatusOr<const VersionRecord*> ToldVersion(
    const LmdbEnv& env, const Dbs& dbs,
    const std::vector<VersionRecord>& versions, std::string_view artifact_ref) {
  MV_ASSIGN_OR_RETURN(Reference parsed, ParseReference(artifact_ref));
  const VersionRecord* target = nullptr;
  MV_RETURN_IF_ERROR(env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(VersionRecord r, Resolve(txn, dbs, parsed));
    for (const VersionRecord& v : versions) {
      if (v.version_id == r.version_id) target = &v;
    }
    return absl::OkStatus();
  }));
  if (target == nullptr) return absl::NotFoundError(kNoMatch);
  if (!target->fingerprint.markable()) {
    return absl::NotFoundError(
        absl::StrCat(RefOf(*target), " is not markable (",
                     target->fingerprint.unmarked_reason, ")"));
  }
  return target;
}

// A version's table, loaded in a read transaction of its own.
absl::StatusOr<MarkTable> TableOf(const LmdbEnv& env, const Dbs& dbs,
                                  const KeyStore& keys, const VersionRecord& v) {
  std::optional<MarkTable> table;
  MV_RETURN_IF_ERROR(env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(table, LoadMarkTable(txn, dbs, keys, v));
    return absl::OkStatus();
  }));
  return *std::move(table);
}

// The leak's values at `table`'s positions; by content too (pass 4,
// trace/align.h) when `align`, reading `v`'s stored plaintext.
absl::StatusOr<LeakValues> ValuesOf(const LmdbEnv& env, const KeyStore& keys,
                                    const VersionRecord& v,
                                    const MarkTable& table,
                                    const std::vector<TraceTensor>& tensors,
                                    const LeakFile& leak, bool align) {
  if (!align) return ReadLeakValues(table, tensors, leak);
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StoredVersionFile> original,
                      StoredVersionFile::Open(env, keys, v));
  return ReadLeakValues(table, tensors, leak, original.get());
}

// Some table tensor that has positions was not found in the leak.
bool SomeTensorUnmapped(const MarkTable& table, const LeakValues& values) {
  std::vector<bool> has_entries(table.tensors.size(), false);
  for (const MarkEntry& e : table.entries) has_entries[e.tensor] = true;
  for (size_t t = 0; t < table.tensors.size(); ++t) {
    if (has_entries[t] && (t >= values.matches.size() ||
                           values.matches[t].by == MatchedBy::kNone))
      return true;
  }
  return false;
}

// Some table tensor's shape (or its transpose) is a leak tensor's: the
// only versions alignment could find anything of.
bool SomeShapeShared(const MarkTable& table,
                     const std::vector<TraceTensor>& tensors) {
  for (const TraceTensor& t : table.tensors) {
    std::vector<uint64_t> transposed(t.shape.rbegin(), t.shape.rend());
    for (const TraceTensor& l : tensors) {
      if (l.shape == t.shape || (t.shape.size() == 2 && l.shape == transposed))
        return true;
    }
  }
  return false;
}

// The markable version whose reference values the leak follows
// (correlation >= kMinMappingCorrelation), preferring the one with the most
// positions present; its table and the leak's values at its positions in
// *found. With `align`, tensors are also found by content (reading each
// candidate version's plaintext: only versions with a tensor of a shape
// the leak has). NOT_FOUND if there is none.
absl::StatusOr<const VersionRecord*> BestVersion(
    const LmdbEnv& env, const Dbs& dbs, const KeyStore& keys,
    const std::vector<VersionRecord>& versions,
    const std::vector<TraceTensor>& tensors, const LeakFile& leak, bool align,
    std::optional<TableAndValues>* found) {
  const VersionRecord* best = nullptr;
  double best_score = 0;
  for (const VersionRecord& v : versions) {
    if (!v.fingerprint.markable()) continue;
    MV_ASSIGN_OR_RETURN(MarkTable t, TableOf(env, dbs, keys, v));
    if (align && !SomeShapeShared(t, tensors)) continue;
    MV_ASSIGN_OR_RETURN(LeakValues values,
                        ValuesOf(env, keys, v, t, tensors, leak, align));
    const VersionFit fit = FitOf(t, values);
    const double score = fit.present * fit.correlation;
    if (fit.present == 0 || fit.correlation < kMinMappingCorrelation ||
        score <= best_score) {
      continue;
    }
    best_score = score, best = &v;
    *found = TableAndValues{std::move(t), std::move(values)};
  }
  if (best == nullptr) return absl::NotFoundError(kNoMatch);
  return best;
}

std::vector<LeakReport::TensorFinding> TensorFindings(const MarkTable& table,
                                                      const LeakValues& values,
                                                      const Votes& votes) {
  std::vector<LeakReport::TensorFinding> out;
  for (uint32_t t = 0; t < table.tensors.size(); ++t) {
    out.push_back({.name = table.tensors[t].name});
    if (t < votes.tensor_present.size()) {
      out.back().present = votes.tensor_present[t];
      out.back().mode = votes.tensor_modes[t];
    }
    if (t < values.matches.size()) out.back().match = values.matches[t];
  }
  for (const MarkEntry& e : table.entries) {
    out[e.tensor].positions += e.channel == MarkChannel::kTardos;
  }
  return out;
}

// The candidate a byte copy of its delivery names, with its statistical
// score when there is one (else z 0 and P exactly 0).
TracedDownload ExactCopyCandidate(const TraceResult& result,
                                  const DownloadRecord& copied) {
  CandidateScore score{
      .download_id = copied.download_id,
      .log10_p = -std::numeric_limits<double>::infinity(),
      .log10_p_family = -std::numeric_limits<double>::infinity()};
  for (const CandidateScore& c : result.candidates) {
    if (c.download_id == copied.download_id) score = c;
  }
  score.verdict = Verdict::kAttributed;
  return {score, copied};
}

// The audit record at `sequence`, if the log still has it.
absl::StatusOr<std::optional<AuditRecord>> AuditRecordAt(const AuditLog& log,
                                                         uint64_t sequence) {
  std::optional<AuditRecord> found;
  MV_RETURN_IF_ERROR(
      log.ScanRecords(sequence, [&](const AuditRecord& r, std::string_view) {
        if (r.sequence == sequence) found = r;
        return false;
      }));
  return found;
}

// Before a report names a downloader, its downloads-index entry must agree
// with the "download started" record it points to: the same principal,
// version, download id and peer, within a minute of the entry's time. The
// index is behind the storage barrier, but an older value of an entry could
// be put back; the audit chain is hash-linked and checkpointed. DATA_LOSS
// naming the entry otherwise. Entries from before the audit log (sequence
// 0) and entries whose record was archived (`mvault admin audit archive`:
// the archive, offline, holds it) have nothing to check against here.
absl::Status CheckAgainstAudit(const AuditLog& log, const std::string& version,
                               const DownloadRecord& d) {
  if (d.audit_sequence == 0) return absl::OkStatus();
  MV_ASSIGN_OR_RETURN(const AuditLog::Anchor anchor, log.ReadAnchor());
  if (d.audit_sequence <= anchor.sequence) return absl::OkStatus();
  MV_ASSIGN_OR_RETURN(std::optional<AuditRecord> r,
                      AuditRecordAt(log, d.audit_sequence));
  const bool agrees = r && r->principal == d.principal &&
                      r->resource == version &&
                      r->download_id == d.download_id && r->peer == d.peer &&
                      std::abs(r->time_unix_ms - d.started_unix_ms) <= 60'000;
  if (agrees) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "downloads index entry ", DownloadIdHex(d.download_id), " of ", version,
      " does not match audit record ", d.audit_sequence, r ? "" : " (missing)",
      "; refusing to name a downloader"));
}

Verdict Strongest(const std::vector<TracedDownload>& candidates) {
  Verdict v = Verdict::kNone;
  for (const TracedDownload& c : candidates) {
    if (c.score.verdict == Verdict::kAttributed) return Verdict::kAttributed;
    if (c.score.verdict == Verdict::kSuspect) v = Verdict::kSuspect;
  }
  return v;
}

}  // namespace

Tracer::Tracer(const VaultOptions& options, const LmdbEnv& env,
               const KeyStore& keys, const AuditLog& audit,
               const AuditSigningKey& audit_key,
               const SecretKey& fingerprint_key, const IdentityStore& identity,
               const DownloadIndex& downloads)
    : options_(options),
      env_(&env),
      keys_(keys),
      audit_(&audit),
      audit_key_(audit_key),
      fingerprint_key_(fingerprint_key),
      identity_(&identity),
      downloads_(&downloads) {}

std::string Tracer::SignWithAuditKey(std::string_view bytes) const {
  return audit_key_.SignBytes(bytes);
}

const std::string& Tracer::audit_public_key() const {
  return audit_key_.public_key();
}

TraceScope Tracer::TraceScopeFor(const Principal& who, std::string peer_ip,
                                 std::string only_artifact) const {
  return TraceScope{[this, who, peer = std::move(peer_ip),
                     only = std::move(only_artifact)](std::string_view name) {
    if (!only.empty() && name != only) return false;
    return identity_->Authorize(who, Action::kTrace, name, peer).ok();
  }};
}

absl::StatusOr<LeakReport> Tracer::TraceLeak(
    std::string_view leak, std::string_view artifact_ref,
    const TraceScope& scope, const DetectOptions& options) const {
  return TraceLeak(MemoryLeakFile(leak), artifact_ref, scope, options);
}

absl::StatusOr<LeakReport> Tracer::TraceLeak(
    const LeakFile& leak, std::string_view artifact_ref,
    const TraceScope& scope, const DetectOptions& options) const {
  LeakReport report;
  const Sha256Digest digest = leak.sha256();
  report.leak_sha256 = std::string(AsChars(digest));
  report.leak_size = leak.size();
  report.generated_unix_ms = absl::ToUnixMillis(options_.clock->Now());
  const Dbs dbs = Dbs::Of(*env_);

  // Tier 0: the leak is byte for byte an original or a recorded delivery.
  std::vector<VersionRecord> versions;
  std::optional<DownloadRecord> copied;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(versions, AllVersions(txn, dbs));
    std::erase_if(versions, [&](const VersionRecord& v) {
      return !scope.allows(v.name);
    });
    MV_ASSIGN_OR_RETURN(copied,
                        DeliveredAs(txn, dbs, report.leak_sha256, versions));
    return absl::OkStatus();
  }));
  for (const VersionRecord& v : versions) {
    if (v.sha256 != report.leak_sha256) continue;
    report.artifact = RefOf(v);
    report.fingerprint = v.fingerprint;
    report.matched_by = "exact copy of the original";
    MV_ASSIGN_OR_RETURN(std::vector<DownloadRecord> downloads,
                        downloads_->ListDownloads(v.version_id));
    report.original_downloads = std::count_if(
        downloads.begin(), downloads.end(),
        [](auto& d) { return d.delivery != Delivery::kFingerprinted; });
    return report;
  }
  const VersionRecord* target = nullptr;
  for (const VersionRecord& v : versions) {
    if (copied && v.version_id == copied->serial) target = &v;
  }
  const bool exact_copy = target != nullptr;  // of a version still stored

  // Else which version: as told, or the one the leak's tensors fit.
  std::optional<TableAndValues> fit;  // loaded while searching, else below
  absl::StatusOr<std::vector<TraceTensor>> tensors = ParseLeakTensors(leak);
  if (exact_copy) {
    report.matched_by = absl::StrCat("exact copy of download ",
                                     DownloadIdHex(copied->download_id));
  } else if (!tensors.ok()) {
    return tensors.status();
  } else if (!artifact_ref.empty()) {
    MV_ASSIGN_OR_RETURN(target,
                        ToldVersion(*env_, dbs, versions, artifact_ref));
    report.matched_by = "as told";
  } else {
    // By names, shapes and values first; by content (pass 4) only when
    // nothing matched that way, since it reads each candidate's plaintext.
    absl::StatusOr<const VersionRecord*> best =
        BestVersion(*env_, dbs, keys_, versions, *tensors, leak,
                    /*align=*/false, &fit);
    report.matched_by = "tensor names and shapes";
    if (absl::IsNotFound(best.status())) {
      best = BestVersion(*env_, dbs, keys_, versions, *tensors, leak,
                         /*align=*/true, &fit);
      report.matched_by = "tensor contents";
    }
    MV_ASSIGN_OR_RETURN(target, std::move(best));
  }
  report.artifact = RefOf(*target);
  report.fingerprint = target->fingerprint;

  // Detection steps 2-5 against the version's fingerprinted downloads.
  // The tensors not found by name, values or a known rewrite are looked for
  // by content (trace/align.h), reading the version's plaintext.
  // (A version told or copied is read with its original at hand at once:
  // pass 4 runs only for what passes 1-3 leave, and running those twice
  // cost a second over a spooled 1 GiB leak.)
  if (!fit && target->fingerprint.markable()) {
    MV_ASSIGN_OR_RETURN(MarkTable table, TableOf(*env_, dbs, keys_, *target));
    LeakValues values;
    if (tensors.ok()) {
      MV_ASSIGN_OR_RETURN(values, ValuesOf(*env_, keys_, *target, table,
                                           *tensors, leak, /*align=*/true));
    }
    fit = TableAndValues{std::move(table), std::move(values)};
  } else if (fit && tensors.ok() && fit->values.tensors_aligned == 0 &&
             SomeTensorUnmapped(fit->table, fit->values)) {
    MV_ASSIGN_OR_RETURN(fit->values, ValuesOf(*env_, keys_, *target, fit->table,
                                              *tensors, leak, /*align=*/true));
  }
  MV_ASSIGN_OR_RETURN(std::vector<DownloadRecord> downloads,
                      downloads_->ListDownloads(target->version_id));
  std::erase_if(downloads,
                [](auto& d) { return d.delivery != Delivery::kFingerprinted; });
  std::map<uint64_t, const DownloadRecord*> by_id;
  std::vector<uint64_t> ids;
  for (const DownloadRecord& d : downloads)
    by_id[d.download_id] = &d, ids.push_back(d.download_id);
  report.downloads_scored = ids.size();
  if (fit) {
    MV_ASSIGN_OR_RETURN(TraceKeys keys,
                        VersionTraceKeys(fingerprint_key_, *target));
    const Votes votes = ComputeVotes(fit->table, fit->values);
    report.result = ScoreDownloads(keys, fit->table, votes, ids, options);
    report.tensors = TensorFindings(fit->table, fit->values, votes);
  }
  if (exact_copy) {  // attribution outright
    MV_RETURN_IF_ERROR(CheckAgainstAudit(*audit_, report.artifact, *copied));
    report.candidates.push_back(ExactCopyCandidate(report.result, *copied));
    report.verdict = Verdict::kAttributed;
    return report;
  }
  for (const CandidateScore& c : report.result.candidates) {  // sorted by Z
    if (c.verdict == Verdict::kNone &&
        report.candidates.size() >= kTopCandidates)
      continue;
    const DownloadRecord& d = *by_id.at(c.download_id);
    MV_RETURN_IF_ERROR(CheckAgainstAudit(*audit_, report.artifact, d));
    report.candidates.push_back({c, d});
  }
  report.verdict = Strongest(report.candidates);
  return report;
}

}  // namespace mv
