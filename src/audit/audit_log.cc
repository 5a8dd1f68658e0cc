#include "audit/audit_log.h"

#include <filesystem>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "audit/audit_export.h"
#include "audit/chain_check.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {
namespace {

constexpr std::string_view kHeadKey = "head";
// The newest checkpoint the witness confirmed receiving (u64 BE), so that a
// witness cut back to fewer lines is told apart from one that missed the
// last appends in a crash.
constexpr std::string_view kWitnessedKey = "witnessed";
constexpr size_t kHeadSize = 1 + 8 + kAuditHashSize + 8 + 8;
// The archive anchor (AuditLog::Anchor): u8 1 ‖ sequence u64 BE ‖ hash[32].
constexpr std::string_view kAnchorKey = "archived";
constexpr size_t kAnchorSize = 1 + 8 + kAuditHashSize;

std::string SequenceKey(uint64_t sequence) {
  std::string key;
  AppendBigEndian64(&key, sequence);
  return key;
}

std::string EncodeHead(const AuditLog::Head& h) {
  std::string out(1, '\x01');
  AppendBigEndian64(&out, h.sequence);
  out.append(h.hash);
  AppendBigEndian64(&out, h.checkpoint_sequence);
  AppendBigEndian64(&out, static_cast<uint64_t>(h.checkpoint_time_unix_ms));
  return out;
}

absl::StatusOr<AuditLog::Head> DecodeHead(std::string_view in) {
  if (in.size() != kHeadSize || in[0] != 1)
    return absl::DataLossError("corrupt audit head entry");
  const uint8_t* p = AsBytes(in).data();
  AuditLog::Head h;
  h.sequence = GetBigEndian64(p + 1);
  h.hash = std::string(in.substr(9, kAuditHashSize));
  h.checkpoint_sequence = GetBigEndian64(p + 41);
  h.checkpoint_time_unix_ms = static_cast<int64_t>(GetBigEndian64(p + 49));
  return h;
}

absl::StatusOr<AuditLog::Head> ReadHeadIn(const Txn& txn, MDB_dbi meta) {
  MV_ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                      txn.Get(meta, kHeadKey));
  if (!v)
    return absl::FailedPreconditionError("the audit log has no head entry");
  return DecodeHead(*v);
}

absl::StatusOr<AuditLog::Anchor> ReadAnchorIn(const Txn& txn, MDB_dbi meta) {
  MV_ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                      txn.Get(meta, kAnchorKey));
  AuditLog::Anchor anchor{0, GenesisHash()};
  if (!v) return anchor;
  if (v->size() != kAnchorSize || (*v)[0] != 1)
    return absl::DataLossError("corrupt audit archive anchor");
  anchor.sequence = GetBigEndian64(AsBytes(*v).data() + 1);
  anchor.hash = std::string(v->substr(9));
  return anchor;
}

std::string EncodeAnchor(const AuditLog::Anchor& a) {
  std::string out(1, '\x01');
  AppendBigEndian64(&out, a.sequence);
  out.append(a.hash);
  return out;
}

// A stored value: canonical record ‖ hash.
absl::Status SplitStored(std::string_view v, AuditRecord* record,
                         std::string* hash) {
  if (v.size() < kAuditHashSize)
    return absl::DataLossError("stored audit record is too short");
  MV_ASSIGN_OR_RETURN(
      *record, DecodeAuditRecord(v.substr(0, v.size() - kAuditHashSize)));
  *hash = std::string(v.substr(v.size() - kAuditHashSize));
  return absl::OkStatus();
}

absl::Status SplitCheckpoint(std::string_view v, Checkpoint* c,
                             std::string* sig) {
  if (v.size() < kSignatureSize)
    return absl::DataLossError("stored checkpoint is too short");
  MV_ASSIGN_OR_RETURN(*c,
                      DecodeCheckpoint(v.substr(0, v.size() - kSignatureSize)));
  *sig = std::string(v.substr(v.size() - kSignatureSize));
  return absl::OkStatus();
}

// A Txn::Scan callback that decodes each stored record for `fn`; a record
// that does not decode stops the scan with its error in *status.
auto DecodingVisitor(
    const std::function<bool(const AuditRecord&, std::string_view)>& fn,
    absl::Status* status) {
  return [&fn, status](std::string_view, std::string_view v) {
    AuditRecord record;
    std::string hash;
    *status = SplitStored(v, &record, &hash);
    return status->ok() && fn(record, hash);
  };
}

absl::Status ScanRecordsIn(
    const Txn& txn, MDB_dbi db, uint64_t from,
    const std::function<bool(const AuditRecord&, std::string_view)>& fn) {
  absl::Status status;
  MV_RETURN_IF_ERROR(
      txn.Scan(db, SequenceKey(from), "", DecodingVisitor(fn, &status)));
  return status;
}

absl::Status ScanCheckpointsIn(
    const Txn& txn, MDB_dbi db, uint64_t from,
    const std::function<bool(const Checkpoint&, std::string_view)>& fn) {
  absl::Status status;
  MV_RETURN_IF_ERROR(txn.Scan(db, SequenceKey(from), "",
                              [&](std::string_view, std::string_view v) {
                                Checkpoint c;
                                std::string sig;
                                status = SplitCheckpoint(v, &c, &sig);
                                return status.ok() && fn(c, sig);
                              }));
  return status;
}

}  // namespace

struct AuditLog::Pending {
  AuditRecord record;
  absl::Status status;
  uint64_t sequence = 0;
  bool done = false;
};

AuditLog::AuditLog(LmdbEnv* env, const AuditSigningKey* key, Options options)
    : env_(env),
      key_(key),
      options_(std::move(options)),
      records_(env->Db(options_.records_db)),
      checkpoints_(env->Db(options_.checkpoints_db)),
      meta_(env->Db(options_.meta_db)) {}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(
    LmdbEnv* env, const AuditSigningKey* key, Options options) {
  std::unique_ptr<AuditLog> log(new AuditLog(env, key, std::move(options)));
  MV_RETURN_IF_ERROR(env->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(std::optional<std::string_view> v,
                        txn.Get(log->meta_, kHeadKey));
    if (v) return DecodeHead(*v).status();
    Head head{0, GenesisHash(), 0,
              absl::ToUnixMillis(log->options_.clock->Now())};
    return txn.Put(log->meta_, kHeadKey, EncodeHead(head));
  }));
  MV_RETURN_IF_ERROR(log->OpenWitness());
  log->committer_ = std::thread([raw = log.get()] { raw->CommitterLoop(); });
  return log;
}

absl::Status AuditLog::OpenWitness() {
  if (options_.witness_path.empty()) return absl::OkStatus();
  const std::string& path = options_.witness_path;
  MV_ASSIGN_OR_RETURN(Head head, ReadHead());
  // A log that has signed nothing yet may start its witness; one that has
  // must find the witness that received those checkpoints.
  const bool may_create = head.checkpoint_sequence == 0;
  using Mode = AuditWitness::Mode;
  absl::StatusOr<std::unique_ptr<AuditWitness>> witness =
      AuditWitness::Open(path, key_->public_key(),
                         options_.inspect_only ? Mode::kReadOnly
                         : may_create          ? Mode::kCreate
                                               : Mode::kExisting);
  if (options_.inspect_only && may_create && absl::IsNotFound(witness.status()))
    return absl::OkStatus();  // nothing to check, and verify creates nothing
  absl::Status refusal = witness.status();
  if (absl::IsNotFound(refusal)) {
    refusal = absl::FailedPreconditionError(absl::StrCat(
        "the audit witness ", path,
        " is missing, but the audit log has checkpoints up to sequence ",
        head.checkpoint_sequence,
        " (it guards against a restored older data dir)"));
  }
  if (refusal.ok()) refusal = CheckWitness(**witness);
  if (!refusal.ok()) {
    if (options_.inspect_only || !options_.reset_witness) {
      return absl::FailedPreconditionError(absl::StrCat(
          refusal.message(),
          options_.inspect_only
              ? ""
              : "; restore the witness, or start a new one from the log "
                "with: modelvaultd serve --reset-audit-witness (audited)"));
    }
    MV_ASSIGN_OR_RETURN(witness, ResetWitness(refusal));
  }
  if (options_.inspect_only) return absl::OkStatus();  // checked, not written
  MutexLock lock(&witness_mu_);
  witnessed_ = (*witness)->last() ? (*witness)->last()->sequence : 0;
  witness_ = *std::move(witness);
  return SyncWitnessLocked();
}

absl::Status AuditLog::CheckWitness(const AuditWitness& witness) const {
  const std::optional<Checkpoint>& last = witness.last();
  uint64_t confirmed = 0;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto v, txn.Get(meta_, kWitnessedKey));
    if (v && v->size() == 8)
      confirmed = GetBigEndian64(reinterpret_cast<const uint8_t*>(v->data()));
    return absl::OkStatus();
  }));
  if ((last ? last->sequence : 0) < confirmed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the audit witness ", witness.path(), " ends at sequence ",
        last ? last->sequence : 0,
        " but it had received the checkpoint at sequence ", confirmed,
        ": it was truncated or replaced by an older copy"));
  }
  if (!last) return absl::OkStatus();
  MV_ASSIGN_OR_RETURN(Head head, ReadHead());
  if (last->sequence > head.sequence) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit rollback detected: the witness ", witness.path(),
        " holds a checkpoint at audit sequence ", last->sequence,
        " but the database ends at sequence ", head.sequence,
        "; the data dir was restored from an older copy. Refusing to serve"));
  }
  // The chain hash there: a stored record's, or for archived records the
  // checkpoint's (checkpoints are kept; the anchor's was checked against
  // it by VerifyStored).
  std::string hash;
  MV_ASSIGN_OR_RETURN(const Anchor anchor, ReadAnchor());
  if (last->sequence <= anchor.sequence) {
    MV_RETURN_IF_ERROR(ScanCheckpoints(
        last->sequence, [&](const Checkpoint& c, std::string_view) {
          if (c.sequence == last->sequence) hash = c.head;
          return false;
        }));
  } else {
    MV_RETURN_IF_ERROR(ScanRecords(
        last->sequence, [&](const AuditRecord& r, std::string_view h) {
          if (r.sequence == last->sequence) hash = std::string(h);
          return false;
        }));
  }
  if (hash != last->head) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit rollback detected: the witness ", witness.path(),
        " disagrees with the database at audit sequence ", last->sequence,
        " (a different history was restored). Refusing to serve"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AuditWitness>> AuditLog::ResetWitness(
    const absl::Status& refusal) {
  const std::string& path = options_.witness_path;
  const std::string aside =
      absl::StrCat(path, ".reset-", absl::ToUnixMillis(options_.clock->Now()));
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  if (existed) {
    std::filesystem::rename(path, aside, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot move the audit witness ", path, " aside: ", ec.message()));
    }
  }
  AuditRecord record;
  record.method = "modelvaultd serve --reset-audit-witness";
  record.decision = AuditDecision::kAllowed;
  record.resource = "audit-witness";
  record.reason =
      absl::StrCat("witness reset: ", std::string(refusal.message()),
                   existed ? absl::StrCat("; the old witness is ", aside) : "");
  MV_RETURN_IF_ERROR(env_->Write(
      [&](WriteTxn& txn) { return AppendSanitized(txn, std::move(record)); }));
  return AuditWitness::Open(path, key_->public_key(),
                            AuditWitness::Mode::kCreate);
}

absl::Status AuditLog::SyncWitness() {
  MutexLock lock(&witness_mu_);
  return SyncWitnessLocked();
}

absl::Status AuditLog::SyncWitnessLocked() {
  if (witness_ == nullptr) return absl::OkStatus();
  MV_ASSIGN_OR_RETURN(Head head, ReadHead());
  if (head.checkpoint_sequence <= witnessed_) return absl::OkStatus();
  std::vector<std::pair<Checkpoint, std::string>> fresh;
  MV_RETURN_IF_ERROR(ScanCheckpoints(
      witnessed_ + 1, [&](const Checkpoint& c, std::string_view sig) {
        fresh.emplace_back(c, std::string(sig));
        return true;
      }));
  for (const auto& [c, sig] : fresh) {
    MV_RETURN_IF_ERROR(witness_->Append(c, sig));
    witnessed_ = c.sequence;
  }
  std::string confirmed;
  AppendBigEndian64(&confirmed, witnessed_);
  return env_->Write(
      [&](WriteTxn& txn) { return txn.Put(meta_, kWitnessedKey, confirmed); });
}

AuditLog::~AuditLog() { (void)Close(); }

absl::Status AuditLog::WriteCheckpoint(WriteTxn& txn, Head* head) {
  Checkpoint c{head->sequence, head->hash,
               absl::ToUnixMillis(options_.clock->Now())};
  MV_RETURN_IF_ERROR(txn.Put(checkpoints_, SequenceKey(c.sequence),
                             EncodeCheckpoint(c) + key_->Sign(c)));
  head->checkpoint_sequence = c.sequence;
  head->checkpoint_time_unix_ms = c.time_unix_ms;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::Append(WriteTxn& txn, AuditRecord record) {
  MV_RETURN_IF_ERROR(IsCanonical(record));
  if (options_.fault) {
    if (absl::Status s = options_.fault(); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("audit log write failed: ", s.message()));
    }
  }
  MV_ASSIGN_OR_RETURN(Head head, ReadHeadIn(txn, meta_));
  const int64_t now = absl::ToUnixMillis(options_.clock->Now());
  record.sequence = head.sequence + 1;
  if (record.time_unix_ms == 0) record.time_unix_ms = now;
  const std::string canonical = EncodeAuditRecord(record);
  const std::string hash = ChainHash(head.hash, canonical);
  MV_RETURN_IF_ERROR(
      txn.Put(records_, SequenceKey(record.sequence), canonical + hash));
  head.sequence = record.sequence;
  head.hash = hash;
  if (head.sequence - head.checkpoint_sequence >=
          options_.checkpoint_every_records ||
      now - head.checkpoint_time_unix_ms >=
          absl::ToInt64Milliseconds(options_.checkpoint_interval)) {
    MV_RETURN_IF_ERROR(WriteCheckpoint(txn, &head));
  }
  MV_RETURN_IF_ERROR(txn.Put(meta_, kHeadKey, EncodeHead(head)));
  return record.sequence;
}

absl::Status AuditLog::AppendSanitized(WriteTxn& txn, AuditRecord record) {
  return SanitizeAndAppend(txn, std::move(record)).status();
}

absl::StatusOr<uint64_t> AuditLog::SanitizeAndAppend(WriteTxn& txn,
                                                     AuditRecord record) {
  SanitizeAuditRecord(&record);
  absl::StatusOr<uint64_t> appended = Append(txn, std::move(record));
  if (appended.ok() || absl::IsUnavailable(appended.status())) {
    return appended;
  }
  return absl::UnavailableError(
      absl::StrCat("audit log write failed: ", appended.status().message()));
}

absl::StatusOr<uint64_t> AuditLog::Commit(AuditRecord record) {
  SanitizeAuditRecord(&record);
  Pending pending;
  pending.record = std::move(record);
  MutexLock lock(&mu_);
  if (closing_) return absl::UnavailableError("the audit log is closed");
  queue_.push_back(&pending);
  work_cv_.Signal();
  while (!pending.done) done_cv_.Wait(mu_);
  if (!pending.status.ok()) return pending.status;
  return pending.sequence;
}

size_t AuditLog::queued() const {
  MutexLock lock(&mu_);
  return queue_.size();
}

void AuditLog::CommitterLoop() {
  const absl::Duration tick =
      options_.idle_tick == absl::InfiniteDuration()
          ? options_.idle_tick
          : std::min(options_.checkpoint_interval, options_.idle_tick);
  MutexLock lock(&mu_);
  for (;;) {
    const CondVar::Deadline next_tick = CondVar::After(tick);
    while (queue_.empty() && !closing_ && work_cv_.WaitUntil(mu_, next_tick)) {
    }
    if (queue_.empty()) {
      if (closing_) return;
      if (options_.inspect_only) continue;
      lock.Release();
      // Both are retried on the next tick if they fail.
      (void)MaybeCheckpoint();
      (void)SyncWitness();
      lock.Reacquire();
      continue;
    }
    std::vector<Pending*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lock.Release();
    std::vector<uint64_t> sequences;
    const absl::Status written =
        env_->Write([&](WriteTxn& txn) -> absl::Status {
          sequences.clear();
          for (Pending* p : batch) {
            MV_ASSIGN_OR_RETURN(uint64_t sequence, Append(txn, p->record));
            sequences.push_back(sequence);
          }
          if (options_.before_commit)
            MV_RETURN_IF_ERROR(options_.before_commit());
          return absl::OkStatus();
        });
    if (written.ok()) (void)SyncWitness();  // retried on the next tick
    lock.Reacquire();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (written.ok()) {
        batch[i]->sequence = sequences[i];
      } else {
        // A fresh message per waiter: see CopyForAnotherThread.
        batch[i]->status = absl::UnavailableError(absl::StrCat(
            "audit log write failed: ", std::string(written.message())));
      }
      batch[i]->done = true;
    }
    done_cv_.SignalAll();
  }
}

absl::Status AuditLog::MaybeCheckpoint() {
  MV_ASSIGN_OR_RETURN(Head head, ReadHead());
  const int64_t now = absl::ToUnixMillis(options_.clock->Now());
  const auto due = [&](const Head& h) {
    return h.sequence > h.checkpoint_sequence &&
           now - h.checkpoint_time_unix_ms >=
               absl::ToInt64Milliseconds(options_.checkpoint_interval);
  };
  if (!due(head)) return absl::OkStatus();
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(Head current, ReadHeadIn(txn, meta_));
    if (!due(current))
      return absl::OkStatus();  // another writer got there first
    MV_RETURN_IF_ERROR(WriteCheckpoint(txn, &current));
    return txn.Put(meta_, kHeadKey, EncodeHead(current));
  });
}

absl::Status AuditLog::Close() {
  MutexLock close_lock(&close_mu_);
  {
    MutexLock lock(&mu_);
    if (closed_) return absl::OkStatus();
    closing_ = true;
    work_cv_.SignalAll();
  }
  if (committer_.joinable()) committer_.join();
  absl::Status status =
      options_.inspect_only
          ? absl::OkStatus()
          : env_->Write([&](WriteTxn& txn) -> absl::Status {
              MV_ASSIGN_OR_RETURN(Head head, ReadHeadIn(txn, meta_));
              if (head.sequence == head.checkpoint_sequence)
                return absl::OkStatus();
              MV_RETURN_IF_ERROR(WriteCheckpoint(txn, &head));
              return txn.Put(meta_, kHeadKey, EncodeHead(head));
            });
  if (status.ok()) status = SyncWitness();
  MutexLock lock(&mu_);
  closed_ = true;
  return status;
}

absl::StatusOr<Checkpoint> AuditLog::ForceCheckpoint() {
  Checkpoint signed_head;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(Head head, ReadHeadIn(txn, meta_));
    if (head.sequence > head.checkpoint_sequence) {
      MV_RETURN_IF_ERROR(WriteCheckpoint(txn, &head));
      MV_RETURN_IF_ERROR(txn.Put(meta_, kHeadKey, EncodeHead(head)));
    }
    signed_head.sequence = head.checkpoint_sequence;
    if (head.checkpoint_sequence == 0) {
      signed_head.head = GenesisHash();
      return absl::OkStatus();
    }
    MV_ASSIGN_OR_RETURN(
        std::optional<std::string_view> v,
        txn.Get(checkpoints_, SequenceKey(head.checkpoint_sequence)));
    if (!v) return absl::DataLossError("the head's checkpoint is missing");
    std::string sig;
    return SplitCheckpoint(*v, &signed_head, &sig);
  }));
  MV_RETURN_IF_ERROR(SyncWitness());
  return signed_head;
}

absl::StatusOr<AuditLog::Head> AuditLog::ReadHead() const {
  Head head;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(head, ReadHeadIn(txn, meta_));
    return absl::OkStatus();
  }));
  return head;
}

absl::Status AuditLog::ScanRecords(
    uint64_t from,
    const std::function<bool(const AuditRecord&, std::string_view)>& fn) const {
  return env_->Read(
      [&](const Txn& txn) { return ScanRecordsIn(txn, records_, from, fn); });
}

absl::Status AuditLog::ScanRecordsBackward(
    uint64_t from,
    const std::function<bool(const AuditRecord&, std::string_view)>& fn) const {
  return env_->Read([&](const Txn& txn) {
    absl::Status status;
    MV_RETURN_IF_ERROR(txn.ScanBackward(records_,
                                        from == 0 ? "" : SequenceKey(from),
                                        DecodingVisitor(fn, &status)));
    return status;
  });
}

absl::Status AuditLog::ScanCheckpoints(
    uint64_t from,
    const std::function<bool(const Checkpoint&, std::string_view)>& fn) const {
  return env_->Read([&](const Txn& txn) {
    return ScanCheckpointsIn(txn, checkpoints_, from, fn);
  });
}

absl::Status AuditLog::Export(
    uint64_t from, const std::function<void(std::string_view)>& sink) const {
  return Export(from, 0, [&](std::string_view line) {
    sink(line);
    return true;
  });
}

absl::Status AuditLog::Export(
    uint64_t from, uint64_t through,
    const std::function<bool(std::string_view)>& sink) const {
  from = std::max<uint64_t>(from, 1);
  if (through == 0) through = UINT64_MAX;
  // One read transaction: a consistent snapshot while writers go on.
  return env_->Read([&](const Txn& txn) -> absl::Status {
    // Checkpoints are few (one per N records): gather them, then interleave.
    std::map<uint64_t, std::string> checkpoint_lines;
    MV_RETURN_IF_ERROR(ScanCheckpointsIn(
        txn, checkpoints_, from,
        [&](const Checkpoint& c, std::string_view sig) {
          if (c.sequence > through) return false;
          checkpoint_lines[c.sequence] = CheckpointToJsonLine(c, sig) + "\n";
          return true;
        }));
    // Archived records are gone: the export starts after the anchor, from
    // its hash.
    MV_ASSIGN_OR_RETURN(const Anchor anchor, ReadAnchorIn(txn, meta_));
    std::string prev = anchor.hash;
    if (from <= anchor.sequence + 1) {
      from = anchor.sequence + 1;
    } else {
      MV_RETURN_IF_ERROR(
          ScanRecordsIn(txn, records_, from - 1,
                        [&](const AuditRecord&, std::string_view hash) {
                          prev = std::string(hash);
                          return false;
                        }));
    }
    return ScanRecordsIn(
        txn, records_, from, [&](const AuditRecord& r, std::string_view hash) {
          if (r.sequence > through) return false;
          bool more = sink(RecordToJsonLine(r, prev, hash) + "\n");
          prev = std::string(hash);
          auto it = checkpoint_lines.find(r.sequence);
          if (it != checkpoint_lines.end()) more = sink(it->second) && more;
          return more;
        });
  });
}

absl::StatusOr<AuditLog::Anchor> AuditLog::ReadAnchor() const {
  Anchor anchor;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(anchor, ReadAnchorIn(txn, meta_));
    return absl::OkStatus();
  }));
  return anchor;
}

absl::StatusOr<AuditLog::ArchivePlan> AuditLog::PlanArchive(
    int64_t before_unix_ms) const {
  ArchivePlan plan;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(const Anchor anchor, ReadAnchorIn(txn, meta_));
    plan.first = anchor.sequence + 1;
    return ScanCheckpointsIn(txn, checkpoints_, plan.first,
                             [&](const Checkpoint& c, std::string_view) {
                               if (c.time_unix_ms >= before_unix_ms)
                                 return false;
                               plan.through = c.sequence;
                               return true;
                             });
  }));
  if (plan.through < plan.first) {
    return absl::FailedPreconditionError(
        absl::StrCat("nothing to archive: no signed checkpoint before ",
                     absl::FormatTime(absl::RFC3339_sec,
                                      absl::FromUnixMillis(before_unix_ms),
                                      absl::UTCTimeZone()),
                     " covers a stored record (the log starts at sequence ",
                     plan.first, ")"));
  }
  return plan;
}

absl::Status AuditLog::Archive(uint64_t through, AuditRecord record) {
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(const Anchor anchor, ReadAnchorIn(txn, meta_));
    MV_ASSIGN_OR_RETURN(auto stored,
                        txn.Get(checkpoints_, SequenceKey(through)));
    if (through <= anchor.sequence || !stored) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot archive through audit sequence ", through,
          ": it is not a signed checkpoint after the archived records (",
          anchor.sequence, ")"));
    }
    Checkpoint c;
    std::string sig;
    MV_RETURN_IF_ERROR(SplitCheckpoint(*stored, &c, &sig));
    const std::string last = SequenceKey(through);
    std::vector<std::string> keys;
    MV_RETURN_IF_ERROR(txn.Scan(records_, SequenceKey(anchor.sequence + 1), "",
                                [&](std::string_view key, std::string_view) {
                                  if (key > last) return false;
                                  keys.emplace_back(key);
                                  return true;
                                }));
    for (const std::string& key : keys)
      MV_RETURN_IF_ERROR(txn.Delete(records_, key));
    MV_RETURN_IF_ERROR(
        txn.Put(meta_, kAnchorKey, EncodeAnchor({through, c.head})));
    return AppendSanitized(txn, std::move(record));
  });
}

std::string AuditLog::ExportEndLine(uint64_t from,
                                    const Checkpoint& through) const {
  ExportEnd end{from, through};
  end.through.time_unix_ms = absl::ToUnixMillis(options_.clock->Now());
  return ExportEndToJsonLine(end, key_->Sign(end)) + "\n";
}

absl::Status AuditLog::VerifyStored() const {
  absl::Status bad;
  auto fail = [&](uint64_t sequence, std::string_view why) {
    if (bad.ok()) {
      bad = absl::DataLossError(
          absl::StrCat("audit sequence ", sequence, ": ", std::string(why)));
    }
    return false;
  };
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(const Anchor anchor, ReadAnchorIn(txn, meta_));
    ChainCheck chain(key_->public_key(), anchor.sequence, anchor.hash);
    absl::Status scanned = ScanRecordsIn(
        txn, records_, 1, [&](const AuditRecord& r, std::string_view hash) {
          switch (chain.AddRecord(r, chain.head(), hash)) {
            case ChainCheck::kOk:
              return true;
            case ChainCheck::kOutOfPlace:
              return fail(chain.next_sequence(),
                          "record missing or out of place");
            default:
              return fail(r.sequence, "hash mismatch");
          }
        });
    // A record that does not even decode is the first bad one.
    if (!scanned.ok() && bad.ok())
      fail(chain.next_sequence(), std::string(scanned.message()));
    if (!bad.ok()) return absl::OkStatus();
    MV_RETURN_IF_ERROR(ScanCheckpointsIn(
        txn, checkpoints_, 1, [&](const Checkpoint& c, std::string_view sig) {
          switch (chain.AddCheckpoint(c, sig)) {
            case ChainCheck::kOk:
              return true;
            case ChainCheck::kBadSignature:
              return fail(c.sequence, "bad checkpoint signature");
            case ChainCheck::kNotCovered:
              // Signed, and its records were archived.
              if (c.sequence < anchor.sequence) return true;
              [[fallthrough]];
            default:
              return fail(c.sequence, "checkpoint head mismatch");
          }
        }));
    if (!bad.ok()) return absl::OkStatus();
    if (anchor.sequence != 0) {
      MV_ASSIGN_OR_RETURN(auto signed_anchor,
                          txn.Get(checkpoints_, SequenceKey(anchor.sequence)));
      if (!signed_anchor) {
        fail(anchor.sequence, "the archive anchor has no signed checkpoint");
        return absl::OkStatus();
      }
    }
    MV_ASSIGN_OR_RETURN(Head head, ReadHeadIn(txn, meta_));
    if (head.sequence != chain.next_sequence() - 1 ||
        head.hash != chain.head()) {
      fail(head.sequence, "the head entry does not match the last record");
    }
    return absl::OkStatus();
  }));
  return bad;
}

}  // namespace mv
