// ChunkUpload: the ArtifactWriter behind Catalog::BeginUpload.
//
// Pipeline per upload, up to four stages on four threads: the caller's
// thread seals each full chunk; a hasher thread folds the same plaintext
// into the SHA-256; a planner thread (model files only) feeds the same
// plaintext to the leak-tracing MarkPlanner (trace/plan.h); a committer
// thread writes sealed chunks under the pending version id in short write
// transactions, taking everything queued at once (so a slow fsync batches
// more chunks instead of stalling the stream). Memory is bounded by the
// queues (3 × kQueueChunks × chunk size) plus, while a model file's header
// is being parsed, the header's bytes and the chunks sealed meanwhile.
//
// Ingest (LEAK_TRACING.md): UploadSpec::store_as kBlob stores the bytes
// unparsed; otherwise the format is detected from the first bytes
// (format_detect.h) or forced, and a safetensors/GGUF file is parsed
// strictly from the streamed prefix. A malformed file is refused
// INVALID_ARGUMENT as soon as the prefix shows it ("not a valid safetensors
// file: <defect> (push it with --format blob ...)"): the upload is dead,
// its pending chunks are freed and nothing is published. With a declared
// size the planner runs as the upload streams in; with an unknown size
// (expected_size 0) the header prefix is kept (bounded) and parsed at
// Commit, and the planner reads the stored chunks back. The sealed mark
// table goes into db `marks` and the FingerprintSummary into the version
// record, in the publish transaction.
//
// A chunk is sealed only when the next byte arrives or at Commit, so the
// final-chunk flag in its associated data is always right. Commit publishes
// the manifest, the artifact's next number and aliases, and drops the
// pending record in one write transaction.
#ifndef MODELVAULT_VAULT_UPLOAD_H_
#define MODELVAULT_VAULT_UPLOAD_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "audit/audit_log.h"
#include "common/bounded_queue.h"
#include "common/buffer_pool.h"
#include "common/clock.h"
#include "common/memory_budget.h"
#include "common/mutex.h"
#include "common/xxh3.h"
#include "crypto/chunk_cipher.h"
#include "crypto/sha256.h"
#include "trace/keys.h"
#include "trace/mark_table.h"
#include "trace/plan.h"
#include "vault/artifact_io.h"
#include "vault/catalog.h"
#include "vault/key_store.h"

namespace mv {

class ChunkUpload : public ArtifactWriter {
 public:
  static constexpr size_t kQueueChunks = 8;
  // With an unknown size, a GGUF header longer than this is refused (the
  // prefix is kept in memory until Commit).
  static constexpr uint64_t kMaxHeldGgufHeader = uint64_t{64} << 20;
  // Memory a header of N bytes may cost while it is collected and parsed
  // and its tensors are planned (the prefix, the chunks held until it
  // parses, the layout), reserved as kHeaderCostFactor * N from the vault's
  // header budget (VaultOptions::header_memory_bytes) for the upload's
  // life. Measured: a 58 MB header of a million tiny tensors peaked at
  // ~5.5x its size in the server.
  static constexpr uint64_t kHeaderCostFactor = 6;
  // How long an upload waits for others to give back header memory: not at
  // all. A waiting push stops reading, and gRPC fills its 8 MiB stream
  // window meanwhile; 32 waiting pushes held 420 MiB where refusing them at
  // once kept the server at 148 MiB. The client retries.
  static constexpr absl::Duration kHeaderMemoryWait = absl::ZeroDuration();

  // Registers a pending upload (allocating its version id), makes its data
  // key (durable in `keys` before any chunk is sealed with it) and starts the
  // committer. `fingerprint_key` is the vault's K_fp (the version's MVFP-1
  // keys derive from it). REQUIRES: spec already validated.
  static absl::StatusOr<std::unique_ptr<ChunkUpload>> Begin(
      LmdbEnv* env, KeyStore& keys, Clock* clock, uint32_t chunk_size,
      UploadSpec spec, std::string creator, AuditLog* audit_log,
      const SecretKey& fingerprint_key,
      std::shared_ptr<MemoryBudget> header_budget);
  ~ChunkUpload() override;

  absl::Status Append(std::string_view data) override;
  // Adopts a whole chunk's worth of bytes without copying when it can.
  absl::Status AppendOwned(std::string&& data) override;
  using ArtifactWriter::Commit;
  absl::StatusOr<VersionInfo> Commit(const SentChecks& sent,
                                     AuditRecord* audit = nullptr) override;

 private:
  struct SealedChunk {
    std::string key, value;
    int64_t sealed_at_ms;  // the client's activity, not the committer's
  };
  // Where the ingest of the content stands (caller's thread).
  enum class Stage : uint8_t {
    kSniff,  // waiting for the first kFormatSniffBytes
    kParse,  // a model file: collecting its header
    kPlan,   // header parsed, planner fed (known size) or to read back
    kDone,   // nothing (more) to do: blob, nothing eligible
  };

  ChunkUpload(LmdbEnv* env, Clock* clock, uint32_t chunk_size, UploadSpec spec,
              std::string creator, uint64_t version_id, SecretKey dek,
              SecretKey table_key, uint32_t key_version, AuditLog* audit_log,
              std::optional<TraceKeys> trace_keys,
              std::shared_ptr<MemoryBudget> header_budget);
  // Checks that `data` may be appended and accounts for it, then inspects
  // it (Inspect); a refused file kills the upload (Refuse).
  absl::Status Admit(std::string_view data);
  // Advances the ingest over `data`, the bytes just admitted (the file's
  // bytes [size_ - data.size(), size_)). INVALID_ARGUMENT if they show the
  // file is not what it claims or was declared to be.
  absl::Status Inspect(std::string_view data);
  // Reserves header memory for a prefix of `prefix_bytes` (see
  // kHeaderCostFactor); RESOURCE_EXHAUSTED if it cannot be had.
  absl::Status ReserveHeaderMemory(uint64_t prefix_bytes);
  // Decides the format from head_ for a file of `size` bytes (final or
  // declared).
  absl::Status Sniff(uint64_t size);
  // Parses prefix_ as format_ for a file of `size` bytes; on success starts
  // planning (StartPlanning).
  absl::Status ParsePrefix(uint64_t size, bool final);
  absl::Status StartPlanning(std::vector<TraceTensor> tensors, uint64_t size);
  absl::Status Refuse(absl::Status status);  // frees everything; returns status
  void Unmarked(const char* reason);
  void SealBuffered(bool final);
  absl::Status StopCommitter();
  void CommitterLoop();
  void HasherLoop();
  void PlannerLoop();
  // Finishes the planner (reading the stored chunks back if it was not fed
  // while streaming); fills summary_ and table_.
  absl::Status FinishPlanning();
  absl::StatusOr<VersionInfo> Publish(const std::string& sha256,
                                      AuditRecord* audit);

  LmdbEnv* env_;
  AuditLog* audit_log_;  // appends the upload's record in the publish txn
  Dbs dbs_;
  Clock* clock_;
  const uint32_t chunk_size_;
  const UploadSpec spec_;
  const std::string creator_;
  const uint64_t version_id_;
  const uint32_t key_version_;  // the keyring version the DEK was made under
  ChunkCipher cipher_;
  SecretKey table_key_;  // the DEK again: seals the mark table (mark_store.h)
  std::optional<TraceKeys> trace_keys_;  // unset for store_as kBlob

  Sha256 sha_;          // owned by the hasher thread until it is joined
  Xxh3 xxh3_;           // the same
  std::string buffer_;  // plaintext of the chunk being filled
  std::string head_;    // first bytes, for format detection

  // Ingest (caller's thread unless noted).
  Stage stage_ = Stage::kSniff;
  Format format_ = Format::kBlob;
  std::string prefix_;     // the file's first bytes while its header is parsed
  uint64_t parse_at_ = 0;  // parse again once prefix_ is this long
  uint64_t prefix_cap_ = 0;  // unknown size: keep at most this many bytes
  // The budget outlives this upload's reservation even if the Vault does
  // not (declared first: destroyed last).
  std::shared_ptr<MemoryBudget> header_budget_;
  MemoryBudget::Reservation header_memory_;
  // Sealed plaintexts not yet fed to the planner (known size, header not
  // parsed yet).
  std::vector<std::shared_ptr<const std::string>> held_;
  bool feeding_ = false;  // sealed chunks go to plan_queue_
  absl::Status refused_;  // the file was refused: the upload is dead
  FingerprintSummary summary_;
  std::optional<MarkTable> table_;
  std::optional<MarkPlanner>
      planner_;               // owned by planner_thread_ while it runs
  absl::Status plan_status_;  // planner thread's; read after join
  uint64_t size_ = 0;
  uint64_t next_index_ = 0;
  bool finished_ = false;   // Commit() was called: no more Append
  bool published_ = false;  // the version is visible: keep the chunks
  bool freed_ = false;      // refused, and its chunks are already gone

  BoundedQueue<std::shared_ptr<const std::string>> hash_queue_{kQueueChunks};
  std::thread hasher_;
  BoundedQueue<std::shared_ptr<const std::string>> plan_queue_{kQueueChunks};
  std::thread planner_thread_;
  BoundedQueue<SealedChunk> queue_{kQueueChunks};
  BufferPool sealed_buffers_{kQueueChunks};  // committer → sealer
  Mutex mu_;
  absl::Status committer_status_ ABSL_GUARDED_BY(mu_);
  std::thread committer_;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_UPLOAD_H_
