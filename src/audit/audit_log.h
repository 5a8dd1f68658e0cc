// AuditLog: the append-only, hash-chained, checkpointed audit log in LMDB
// (DESIGN.md §6), in three named databases the caller opens in its LmdbEnv:
//
// clang-format off
//   records      sequence u64 BE → canonical record (audit_record.h) ‖ hash[32]
//   checkpoints  sequence u64 BE → canonical checkpoint (checkpoint.h) ‖ sig[64]
//   meta         "head"      → u8 1 ‖ sequence u64 BE ‖ hash[32] ‖
//                              last checkpoint sequence u64 BE ‖ its time i64 BE
//                "witnessed" → u64 BE: the newest checkpoint the witness file
//                              confirmed receiving (absent: none)
//                "archived"  → u8 1 ‖ sequence u64 BE ‖ hash[32]: records
//                              through `sequence` were archived (absent:
//                              none); the chain goes on from `hash`
// clang-format on
//
// Archiving (`mvault admin audit archive`) removes the records up to a
// signed checkpoint once the caller holds their export; checkpoints are
// kept, and the anchor names the last record removed and its hash, which
// the checkpoint at that sequence signs. The remaining records chain from
// the anchor, and the archive's export ends where they begin.
//
// The head entry is read and written inside each write transaction, so the
// chain is exactly as durable as the transaction: an aborted transaction
// leaves no record, no sequence gap and no half-advanced head.
//
// Writes: Append() inside a caller's write transaction (an upload publishes
// and audits atomically), or Commit() for standalone records: a committer
// thread writes whatever records are queued in one transaction (group
// commit) and wakes each caller once the transaction is durable. A failed
// transaction fails every record in it with UNAVAILABLE and writes nothing.
// A checkpoint is written (in the same transaction) after the record that
// makes `checkpoint_every_records` records since the last one, or once
// `checkpoint_interval` has passed since it; MaybeCheckpoint() covers an
// idle log and Close() writes a final one.
//
// Thread safety: all methods are thread-safe. REQUIRES: env and key outlive
// the log; nothing else writes the three databases.
#ifndef MODELVAULT_AUDIT_AUDIT_LOG_H_
#define MODELVAULT_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_record.h"
#include "audit/checkpoint.h"
#include "audit/witness.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "storage/lmdb_env.h"

namespace mv {

class AuditLog {
 public:
  struct Options {
    std::string records_db = "audit";
    std::string checkpoints_db = "audit_checkpoints";
    std::string meta_db = "audit_meta";
    uint64_t checkpoint_every_records = 1000;
    absl::Duration checkpoint_interval = absl::Seconds(60);
    Clock* clock = Clock::Real();
    // How often the committer calls MaybeCheckpoint() while idle (real
    // time); absl::InfiniteDuration() disables it (tests drive it).
    absl::Duration idle_tick = absl::Seconds(1);
    // Test seam: called in each group-commit transaction before it commits;
    // an error aborts the transaction.
    std::function<absl::Status()> before_commit;
    // Fault-injection seam (fail-closed tests): called before every record
    // is appended, in any transaction; an error fails that transaction.
    std::function<absl::Status()> fault;
    // An inspecting process (modelvaultd verify, beside a live server):
    // writes no checkpoints (idle or at Close) and only checks the witness.
    bool inspect_only = false;
    // The witness file (witness.h); "" = none. Every checkpoint is appended
    // to it after its transaction commits. Open refuses a witness that is
    // missing while the log has checkpoints, holds a line that is not a
    // signed, increasing checkpoint of this vault, or shows a rollback.
    std::string witness_path;
    // A deliberate reset (`modelvaultd serve --reset-audit-witness`): instead
    // of refusing, moves a refused witness aside ("<path>.reset-<unix ms>"),
    // starts a new one from the log's checkpoints and records the reset in
    // the log. Ignored by an inspecting process.
    bool reset_witness = false;
  };

  // Creates the head entry of an empty log and starts the committer
  // thread. REQUIRES: the three databases were opened in `env`. With a
  // witness: FAILED_PRECONDITION (a rollback) if the witness holds a
  // checkpoint past the log's head or one that disagrees with the log.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(
      LmdbEnv* env, const AuditSigningKey* key, Options options);
  ~AuditLog();  // Close()s, ignoring its status

  // Assigns the next sequence (and time, if 0) to `record`, chains it and
  // stores it in `txn`, plus a checkpoint when one is due. Returns the
  // sequence. INVALID_ARGUMENT for a non-canonical record (sanitize first).
  absl::StatusOr<uint64_t> Append(WriteTxn& txn, AuditRecord record);

  // Sanitizes `record` and appends it in `txn`; any failure is UNAVAILABLE
  // ("audit log write failed: ..."), the fail-closed status of a mutation.
  absl::Status AppendSanitized(WriteTxn& txn, AuditRecord record);
  // The same, returning the record's sequence.
  absl::StatusOr<uint64_t> SanitizeAndAppend(WriteTxn& txn, AuditRecord record);

  // Sanitizes and appends `record` in a shared transaction; returns its
  // sequence once durable. UNAVAILABLE if it could not be committed or the
  // log is closed.
  absl::StatusOr<uint64_t> Commit(AuditRecord record);

  // Records waiting for the next group-commit transaction (a gauge).
  size_t queued() const;

  // Writes a checkpoint if the interval has passed and records are unsigned.
  absl::Status MaybeCheckpoint();
  // Writes a checkpoint of the head now unless it is signed already, and
  // returns the head's checkpoint (sequence 0 for an empty log). An export
  // ends with it, so that truncating the export is detectable.
  absl::StatusOr<Checkpoint> ForceCheckpoint();
  // Stops the committer after the queued records and writes a checkpoint of
  // any unsigned records. Later Commit()s fail. Idempotent.
  absl::Status Close();

  struct Head {
    uint64_t sequence = 0;  // 0 = empty log
    std::string hash;       // of `sequence`, or GenesisHash()
    uint64_t checkpoint_sequence = 0;
    int64_t checkpoint_time_unix_ms = 0;
  };
  absl::StatusOr<Head> ReadHead() const;

  // Calls fn(record, hash) for records from `from` on while it returns true.
  absl::Status ScanRecords(
      uint64_t from,
      const std::function<bool(const AuditRecord&, std::string_view hash)>& fn)
      const;
  // The same, newest first, from `from` (0 = the newest record) down.
  absl::Status ScanRecordsBackward(
      uint64_t from,
      const std::function<bool(const AuditRecord&, std::string_view hash)>& fn)
      const;
  absl::Status ScanCheckpoints(
      uint64_t from,
      const std::function<bool(const Checkpoint&, std::string_view sig)>& fn)
      const;

  // JSON lines (audit_export.h) of records from `from` on, each checkpoint
  // after the record it covers; every line ends in '\n'. One read
  // transaction (a consistent snapshot); `sink` runs inside it, so it must
  // not block for long.
  absl::Status Export(
      uint64_t from,
      const std::function<void(std::string_view line)>& sink) const;
  // The same, only through sequence `through` (0 = to the end); the sink
  // may stop the export by returning false.
  absl::Status Export(
      uint64_t from, uint64_t through,
      const std::function<bool(std::string_view line)>& sink) const;

  // The signed last line of an export of records `from`..`through.sequence`
  // (audit_export.h "export_end"), stamped now; ends in '\n'.
  std::string ExportEndLine(uint64_t from, const Checkpoint& through) const;

  // The checkpoint-signing public key (32 bytes).
  const std::string& public_key() const { return key_->public_key(); }

  // Archiving. The anchor: records through `sequence` were archived and
  // the chain goes on from `hash` (sequence 0 and the genesis hash: none).
  struct Anchor {
    uint64_t sequence = 0;
    std::string hash;
  };
  absl::StatusOr<Anchor> ReadAnchor() const;
  // What an archive of the records before `before_unix_ms` holds: the
  // stored records from the first through the newest checkpoint written
  // before that time (its records are all older). FAILED_PRECONDITION
  // naming the time if no such checkpoint covers a stored record.
  struct ArchivePlan {
    uint64_t first = 0, through = 0;  // sequences, inclusive
  };
  absl::StatusOr<ArchivePlan> PlanArchive(int64_t before_unix_ms) const;
  // Removes the stored records through `through`, which must be a
  // checkpoint past the anchor, makes that checkpoint the anchor and
  // appends `record` (the archive's own audit record), all in one
  // transaction. FAILED_PRECONDITION if `through` is not such a checkpoint;
  // UNAVAILABLE (nothing removed) if the record cannot be appended.
  absl::Status Archive(uint64_t through, AuditRecord record);

  // Server-side verification of the whole stored chain in one snapshot
  // (records from the anchor on, checkpoint signatures and heads, the
  // anchor against its checkpoint, the head entry): OK, or
  // DATA_LOSS "audit sequence S: why" for the first bad sequence.
  absl::Status VerifyStored() const;

 private:
  struct Pending;
  AuditLog(LmdbEnv* env, const AuditSigningKey* key, Options options);
  // Appends a checkpoint of `head` to txn and updates head (not stored).
  absl::Status WriteCheckpoint(WriteTxn& txn, Head* head);
  void CommitterLoop();
  // witness.h: refuses a log behind its witness, or a witness missing or
  // invalid (unless reset_witness); then opens it for appends.
  absl::Status OpenWitness();
  // The witness refusal, or OK: the witness and the log agree.
  absl::Status CheckWitness(const AuditWitness& witness) const;
  // reset_witness: moves the refused witness aside, records why, and opens
  // a new, empty one.
  absl::StatusOr<std::unique_ptr<AuditWitness>> ResetWitness(
      const absl::Status& refusal);
  // Appends checkpoints newer than the witness's to it (no-op without one).
  absl::Status SyncWitness();
  absl::Status SyncWitnessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(witness_mu_);

  LmdbEnv* const env_;
  const AuditSigningKey* const key_;
  const Options options_;
  const MDB_dbi records_, checkpoints_, meta_;

  Mutex close_mu_;  // serialises Close()
  mutable Mutex mu_;
  CondVar work_cv_;   // queue non-empty or closing
  CondVar done_cv_;   // a batch finished
  Mutex witness_mu_;  // serialises SyncWitness()
  std::unique_ptr<AuditWitness> witness_ ABSL_GUARDED_BY(witness_mu_);
  uint64_t witnessed_ ABSL_GUARDED_BY(witness_mu_) = 0;  // newest in witness
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread committer_;
};

}  // namespace mv

#endif  // MODELVAULT_AUDIT_AUDIT_LOG_H_
