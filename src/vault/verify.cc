// Vault::Verify: the full consistency pass behind `modelvaultd verify`.
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "vault/catalog.h"
#include "vault/mark_store.h"
#include "vault/vault.h"
#include "vault/verify_audit.h"

namespace mv {
namespace {

uint64_t IdOf(std::string_view key) {
  return GetBigEndian64(reinterpret_cast<const uint8_t*>(key.data()));
}

// Every version record, in key order, plus the set of version ids that may
// own chunks (published versions and pending uploads).
struct StoredCatalog {
  std::vector<VersionRecord> versions;
  std::map<std::string, ArtifactRecord> artifacts;
  std::set<uint64_t> owners;
  std::map<uint64_t, uint64_t> chunk_counts;  // version id → chunks stored
  std::set<uint64_t> tables;                  // version ids with a mark table
};

absl::Status LoadCatalog(const Txn& txn, const Dbs& dbs, StoredCatalog* c,
                         VerifyReport* report) {
  absl::Status scan = txn.Scan(
      dbs.versions, "", "", [&](std::string_view k, std::string_view v) {
        absl::StatusOr<VersionRecord> r = DecodeVersion(v);
        if (!r.ok()) {
          report->problems.push_back(absl::StrCat(
              "undecodable version record (", r.status().message(), ")"));
        } else if (k != VersionKey(r->name, r->number)) {
          report->problems.push_back(absl::StrCat(
              r->name, "@", r->number, ": record stored under another key"));
        } else {
          c->owners.insert(r->version_id);
          c->versions.push_back(*std::move(r));
        }
        return true;
      });
  MV_RETURN_IF_ERROR(scan);
  MV_RETURN_IF_ERROR(txn.Scan(
      dbs.artifacts, "", "", [&](std::string_view k, std::string_view v) {
        absl::StatusOr<ArtifactRecord> r = DecodeArtifact(v);
        if (r.ok())
          c->artifacts[std::string(k)] = *std::move(r);
        else
          report->problems.push_back(
              absl::StrCat(std::string(k), ": undecodable artifact record"));
        return true;
      }));
  MV_RETURN_IF_ERROR(
      txn.Scan(dbs.pending, "", "", [&](std::string_view k, auto) {
        if (k.size() == 8) c->owners.insert(IdOf(k));
        return true;
      }));
  MV_RETURN_IF_ERROR(txn.Scan(dbs.marks, "", "", [&](std::string_view k, auto) {
    if (k.size() == 8)
      c->tables.insert(IdOf(k));
    else
      report->problems.push_back("mark table with a malformed key");
    return true;
  }));
  return txn.Scan(dbs.chunks, "", "", [&](std::string_view k, auto) {
    if (k.size() == 16)
      ++c->chunk_counts[IdOf(k)];
    else
      report->problems.push_back("chunk with a malformed key");
    return true;
  });
}

// Opens the version's mark table (if it should have one, or has one) and
// checks it against the version: one problem line per defect.
void CheckMarkTable(const Txn& txn, const Dbs& dbs, const KeyStore& keys,
                    const VersionRecord& v, bool stored, VerifyReport* report) {
  const std::string ref = absl::StrCat(v.name, "@", v.number);
  if (!stored) {
    if (v.fingerprint.markable()) {
      report->problems.push_back(
          absl::StrCat(ref, ": markable but its mark table is missing"));
    }
    return;
  }
  if (!v.fingerprint.markable()) {
    report->problems.push_back(
        absl::StrCat(ref, ": has a mark table but is recorded unmarked (",
                     v.fingerprint.unmarked_reason, ")"));
  }
  absl::StatusOr<MarkTable> table = LoadMarkTable(txn, dbs, keys, v);
  if (!table.ok()) {
    report->problems.push_back(
        absl::StrCat(ref, ": ", table.status().message()));
    return;
  }
  if (table->file_size != v.size ||
      table->CountChannel(MarkChannel::kTardos) !=
          v.fingerprint.tardos_positions ||
      table->CountChannel(MarkChannel::kReference) !=
          v.fingerprint.reference_positions) {
    report->problems.push_back(absl::StrCat(
        ref,
        ": mark table does not match the version (size or position counts)"));
  }
}

void CheckCatalog(const StoredCatalog& c, VerifyReport* report) {
  for (const auto& [id, count] : c.chunk_counts) {
    if (!c.owners.contains(id)) {
      report->problems.push_back(
          absl::StrCat(count, " chunk(s) of version id ", id,
                       " belong to no version or upload"));
    }
  }
  for (const VersionRecord& v : c.versions) {
    auto stored = c.chunk_counts.find(v.version_id);
    uint64_t n = stored == c.chunk_counts.end() ? 0 : stored->second;
    if (n != v.chunk_count) {
      report->problems.push_back(absl::StrCat(v.name, "@", v.number, ": ", n,
                                              " chunks stored, manifest says ",
                                              v.chunk_count));
    }
    auto artifact = c.artifacts.find(v.name);
    if (artifact == c.artifacts.end() ||
        artifact->second.last_number < v.number) {
      report->problems.push_back(absl::StrCat(
          v.name, "@", v.number, ": artifact record missing or behind"));
    }
  }
  std::set<uint64_t> ids;
  for (const VersionRecord& v : c.versions) ids.insert(v.version_id);
  for (uint64_t id : c.tables) {
    if (!ids.contains(id)) {
      report->problems.push_back(absl::StrCat("mark table of version id ", id,
                                              " belongs to no version"));
    }
  }
  std::set<std::pair<std::string, uint64_t>> published;
  for (const VersionRecord& v : c.versions) published.emplace(v.name, v.number);
  for (const auto& [name, artifact] : c.artifacts) {
    for (const auto& [alias, number] : artifact.aliases) {
      if (!published.contains({name, number})) {
        report->problems.push_back(absl::StrCat(
            name, "@", alias, " points to missing version ", number));
      }
    }
  }
}

// Opens every value behind the storage barrier: a record that fails to
// authenticate is a problem naming it (and the first in each database is
// all a scan can pass). Chunks are authenticated as versions are read.
void CheckBarrier(const LmdbEnv& env, VerifyReport* report) {
  for (const char* name : Dbs::kNames) {
    absl::Status scan = env.Read([&](const Txn& txn) {
      return txn.Scan(env.Db(name), "", "", [](auto, auto) { return true; });
    });
    if (!scan.ok()) report->problems.emplace_back(scan.message());
  }
}

// Every identity record decodes: a token or principal that does not would
// make DeletePrincipal and DeletePolicy fail on it later.
void CheckIdentityRecords(const LmdbEnv& env, VerifyReport* report) {
  const Dbs dbs = Dbs::Of(env);
  auto check = [&](MDB_dbi db, const char* what, auto decode) {
    absl::Status read = env.Read([&](const Txn& txn) {
      return txn.Scan(db, "", "", [&](std::string_view k, std::string_view v) {
        if (absl::Status s = decode(v).status(); !s.ok()) {
          report->problems.push_back(
              absl::StrCat(what, " record ", absl::CHexEscape(std::string(k)),
                           ": ", std::string(s.message())));
        }
        return true;
      });
    });
    if (!read.ok()) report->problems.emplace_back(read.message());
  };
  check(dbs.tokens, "token", DecodeToken);
  check(dbs.principals, "principal", DecodePrincipal);
}

}  // namespace

absl::StatusOr<VerifyReport> Vault::Verify() const {
  VerifyReport report;
  CheckBarrier(*env_, &report);
  // Nothing past an unauthenticated record can be trusted (or read).
  if (!report.problems.empty()) return report;
  CheckIdentityRecords(*env_, &report);
  StoredCatalog stored;
  const Dbs dbs = Dbs::Of(*env_);
  MV_RETURN_IF_ERROR(env_->Read(
      [&](const Txn& txn) { return LoadCatalog(txn, dbs, &stored, &report); }));
  CheckCatalog(stored, &report);
  // What the barrier cannot tell: a record put back from an older copy.
  MV_RETURN_IF_ERROR(
      CrossCheckAudit(*env_, *audit_, stored.versions, &report.problems));
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    for (const VersionRecord& v : stored.versions) {
      CheckMarkTable(txn, dbs, *keys_, v, stored.tables.contains(v.version_id),
                     &report);
    }
    return absl::OkStatus();
  }));
  for (const VersionRecord& v : stored.versions) {
    const std::string ref = absl::StrCat(v.name, "@", v.number);
    absl::StatusOr<std::unique_ptr<ArtifactReader>> reader =
        catalog_->OpenDownload(ref, 0, 0);
    Sha256 sha;
    std::string piece;
    absl::StatusOr<bool> more =
        reader.ok() ? absl::StatusOr<bool>(true) : reader.status();
    while (more.ok() && (more = (*reader)->Next(&piece)).ok() && *more) {
      sha.Update(piece);
      report.bytes += piece.size();
    }
    if (!more.ok()) {
      report.problems.push_back(
          absl::StrCat(ref, ": ", more.status().message()));
    } else if (AsChars(sha.Finish()) != v.sha256) {
      report.problems.push_back(
          absl::StrCat(ref, ": content does not match its SHA-256"));
    }
    ++report.versions;
    report.chunks += v.chunk_count;
  }
  if (absl::Status chain = audit_->VerifyStored(); !chain.ok()) {
    report.problems.push_back(absl::StrCat("audit log: ", chain.message()));
  }
  MV_ASSIGN_OR_RETURN(AuditLog::Head head, audit_->ReadHead());
  MV_ASSIGN_OR_RETURN(AuditLog::Anchor anchor, audit_->ReadAnchor());
  report.audit_records = head.sequence - anchor.sequence;  // stored ones
  return report;
}

}  // namespace mv
