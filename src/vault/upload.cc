#include "vault/upload.h"

#include <sodium.h>

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "trace/tensors.h"
#include "vault/format_detect.h"
#include "vault/mark_store.h"

namespace mv {
namespace {

constexpr std::string_view kNextVersionIdKey = "next_version_id";
// The first parse of a GGUF header with a declared size.
constexpr uint64_t kFirstGgufParse = uint64_t{4} << 10;
constexpr uint64_t kChunksPerReadBack = 16;
constexpr char kBlobHint[] =
    " (push it with --format blob to store the bytes unparsed)";

std::string ModelFormatName(Format f) {
  return f == Format::kGguf ? "GGUF" : "safetensors";
}

// INVALID_ARGUMENT for a file that is not a valid `format` file.
absl::Status NotValid(Format format, absl::string_view message) {
  std::string_view defect(message.data(), message.size());
  for (std::string_view prefix : {"safetensors: ", "gguf: "}) {
    if (defect.starts_with(prefix)) defect.remove_prefix(prefix.size());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a valid ", ModelFormatName(format),
                   " file: ", std::string(defect), kBlobHint));
}

absl::StatusOr<uint64_t> AllocateVersionId(LmdbEnv& env, const Dbs& dbs,
                                           const PendingRecord& pending) {
  uint64_t id = 0;
  MV_RETURN_IF_ERROR(env.Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.meta, kNextVersionIdKey));
    if (!raw || raw->size() != 8)
      return absl::DataLossError("corrupt vault metadata (version counter)");
    id = GetBigEndian64(reinterpret_cast<const uint8_t*>(raw->data()));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kNextVersionIdKey, IdKey(id + 1)));
    return txn.Put(dbs.pending, IdKey(id), EncodePending(pending));
  }));
  return id;
}

// An upload whose pending record is doomed or gone was collected as idle
// (its chunks are being freed): it must neither write more chunks nor
// publish. Runs inside the write transaction, so it is exact.
absl::Status CheckStillPending(const Txn& txn, const Dbs& dbs,
                               uint64_t version_id) {
  MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.pending, IdKey(version_id)));
  absl::StatusOr<PendingRecord> pending =
      raw ? DecodePending(*raw) : absl::NotFoundError("no pending record");
  if (!pending.ok() || pending->doomed()) {
    return absl::AbortedError(
        "upload expired: it was idle too long and was collected; start it "
        "again");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChunkUpload>> ChunkUpload::Begin(
    LmdbEnv* env, KeyStore& keys, Clock* clock, uint32_t chunk_size,
    UploadSpec spec, std::string creator, AuditLog* audit_log,
    const SecretKey& fingerprint_key,
    std::shared_ptr<MemoryBudget> header_budget) {
  PendingRecord pending{spec.name, absl::ToUnixMillis(clock->Now())};
  MV_ASSIGN_OR_RETURN(uint64_t version_id,
                      AllocateVersionId(*env, Dbs::Of(*env), pending));
  // Durable in the key file before any chunk is sealed with it.
  MV_ASSIGN_OR_RETURN(SecretKey dek, keys.Create(version_id));
  MV_ASSIGN_OR_RETURN(SecretKey table_key, SecretKey::FromBytes(dek.span()));
  std::optional<TraceKeys> trace_keys;
  if (spec.store_as != UploadSpec::As::kBlob) {
    MV_ASSIGN_OR_RETURN(TraceKeys derived,
                        TraceKeys::Derive(fingerprint_key, version_id));
    trace_keys.emplace(std::move(derived));
  }
  return std::unique_ptr<ChunkUpload>(new ChunkUpload(
      env, clock, chunk_size, std::move(spec), std::move(creator), version_id,
      std::move(dek), std::move(table_key), keys.ring()->current(), audit_log,
      std::move(trace_keys), std::move(header_budget)));
}

ChunkUpload::ChunkUpload(LmdbEnv* env, Clock* clock, uint32_t chunk_size,
                         UploadSpec spec, std::string creator,
                         uint64_t version_id, SecretKey dek,
                         SecretKey table_key, uint32_t key_version,
                         AuditLog* audit_log,
                         std::optional<TraceKeys> trace_keys,
                         std::shared_ptr<MemoryBudget> header_budget)
    : env_(env),
      audit_log_(audit_log),
      dbs_(Dbs::Of(*env)),
      clock_(clock),
      chunk_size_(chunk_size),
      spec_(std::move(spec)),
      creator_(std::move(creator)),
      version_id_(version_id),
      key_version_(key_version),
      cipher_(version_id, std::move(dek)),
      table_key_(std::move(table_key)),
      trace_keys_(std::move(trace_keys)),
      header_budget_(std::move(header_budget)),
      header_memory_(header_budget_->Empty()) {
  buffer_.reserve(chunk_size_);
  hasher_ = std::thread([this] { HasherLoop(); });
  committer_ = std::thread([this] { CommitterLoop(); });
}

ChunkUpload::~ChunkUpload() {
  hash_queue_.Close();
  if (hasher_.joinable()) hasher_.join();
  plan_queue_.Close();
  if (planner_thread_.joinable()) planner_thread_.join();
  queue_.Close();
  if (committer_.joinable()) committer_.join();
  if (!published_ && !freed_) {
    // Abandoned: free the chunks now; if that fails, start-up or periodic
    // collection finds the pending record.
    (void)FreeChunks(*env_, dbs_, version_id_);
  }
}

absl::Status ChunkUpload::Admit(std::string_view data) {
  if (finished_)
    return absl::FailedPreconditionError("upload already finished");
  if (!refused_.ok()) return refused_;
  {
    MutexLock lock(&mu_);
    if (!committer_status_.ok()) return committer_status_;
  }
  if (spec_.expected_size > 0 && size_ + data.size() > spec_.expected_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("upload is longer than its declared size of ",
                     spec_.expected_size, " bytes"));
  }
  size_ += data.size();
  if (head_.size() < kFormatSniffBytes) {
    head_.append(data.substr(0, kFormatSniffBytes - head_.size()));
  }
  if (absl::Status s = Inspect(data); !s.ok()) return Refuse(std::move(s));
  return absl::OkStatus();
}

absl::Status ChunkUpload::Inspect(std::string_view data) {
  const uint64_t declared = spec_.expected_size;
  if (stage_ == Stage::kSniff) {
    const uint64_t want = declared > 0
                              ? std::min<uint64_t>(kFormatSniffBytes, declared)
                              : kFormatSniffBytes;
    if (head_.size() < want) return absl::OkStatus();
    MV_RETURN_IF_ERROR(
        Sniff(declared > 0 ? declared : std::numeric_limits<uint64_t>::max()));
    if (stage_ != Stage::kParse) return absl::OkStatus();
    // Everything before `data` is in head_ (fewer than `want` bytes).
    prefix_ = head_.substr(0, size_ - data.size());
  }
  if (stage_ != Stage::kParse) return absl::OkStatus();
  if (declared == 0) {  // parsed at Commit, once the size is known
    const uint64_t room =
        prefix_cap_ - std::min<uint64_t>(prefix_cap_, prefix_.size());
    const std::string_view kept =
        data.substr(0, std::min<uint64_t>(room, data.size()));
    MV_RETURN_IF_ERROR(ReserveHeaderMemory(prefix_.size() + kept.size()));
    prefix_.append(kept);
    return absl::OkStatus();
  }
  // Invariant: prefix_ holds every byte before `data`, so the loop takes
  // all of `data` unless the header completes first.
  size_t at = 0;
  while (stage_ == Stage::kParse) {
    if (prefix_.size() < parse_at_) {
      MV_RETURN_IF_ERROR(ReserveHeaderMemory(parse_at_));
      const size_t take =
          std::min<uint64_t>(data.size() - at, parse_at_ - prefix_.size());
      prefix_.append(data.substr(at, take));
      at += take;
      if (prefix_.size() < parse_at_) break;
    }
    MV_RETURN_IF_ERROR(ParsePrefix(declared, /*final=*/false));
  }
  return absl::OkStatus();
}

absl::Status ChunkUpload::ReserveHeaderMemory(uint64_t prefix_bytes) {
  return header_memory_.GrowTo(
      kHeaderCostFactor * prefix_bytes, kHeaderMemoryWait,
      absl::StrCat("parsing a ", ModelFormatName(format_), " header of ",
                   prefix_bytes, " bytes"));
}

absl::Status ChunkUpload::Sniff(uint64_t size) {
  const Format detected = DetectFormat(head_, size);
  switch (spec_.store_as) {
    case UploadSpec::As::kBlob:
      Unmarked(kUnmarkedBlob);
      return absl::OkStatus();
    case UploadSpec::As::kDetect:
      if (detected == Format::kBlob) {
        Unmarked(kUnmarkedBlob);
        return absl::OkStatus();
      }
      format_ = detected;
      break;
    case UploadSpec::As::kSafetensors:
    case UploadSpec::As::kGguf: {
      format_ = spec_.store_as == UploadSpec::As::kGguf ? Format::kGguf
                                                        : Format::kSafetensors;
      if (detected != Format::kBlob && detected != format_) {
        return NotValid(format_,
                        absl::StrCat("the content is a ",
                                     ModelFormatName(detected), " file"));
      }
      break;
    }
  }
  stage_ = Stage::kParse;
  // A safetensors header needs 8 bytes, then exactly 8 + N; a GGUF header
  // is parsed again each time the prefix doubles (prefix_parse.h).
  parse_at_ = std::min(
      size, format_ == Format::kSafetensors ? uint64_t{8} : kFirstGgufParse);
  prefix_cap_ = kMaxHeldGgufHeader;
  if (format_ == Format::kSafetensors && head_.size() >= 8) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(head_[i]);
    prefix_cap_ = 8 + std::min(n, kSafetensorsMaxHeaderLength);
  }
  return absl::OkStatus();
}

absl::Status ChunkUpload::ParsePrefix(uint64_t size, bool final) {
  std::vector<TraceTensor> tensors;
  bool done = false;
  uint64_t needed = 0;
  if (format_ == Format::kSafetensors) {
    absl::StatusOr<PrefixParse<SafetensorsLayout>> parse =
        ParseSafetensorsPrefix(prefix_, size);
    if (!parse.ok()) return NotValid(format_, parse.status().message());
    if (parse->layout) tensors = TraceTensorsOf(*parse->layout), done = true;
    needed = parse->bytes_needed;
  } else {
    absl::StatusOr<PrefixParse<GgufLayout>> parse =
        ParseGgufPrefix(prefix_, size);
    if (!parse.ok()) return NotValid(format_, parse.status().message());
    if (parse->layout) tensors = TraceTensorsOf(*parse->layout), done = true;
    needed = parse->bytes_needed;
  }
  if (!done) {
    if (final) {  // only an unknown-size upload gets here: prefix_ was capped
      return absl::InvalidArgumentError(
          absl::StrCat("GGUF header longer than ", kMaxHeldGgufHeader >> 20,
                       " MiB: push it with its size declared, or with --format "
                       "blob to store the bytes "
                       "unparsed"));
    }
    parse_at_ = std::max({needed, uint64_t{prefix_.size()} + 1,
                          std::min<uint64_t>(size, 2 * prefix_.size())});
    return absl::OkStatus();
  }
  prefix_ = std::string();
  return StartPlanning(std::move(tensors), size);
}

absl::Status ChunkUpload::StartPlanning(std::vector<TraceTensor> tensors,
                                        uint64_t size) {
  PlanOptions options;
  options.storage_chunk_size = chunk_size_;
  MV_ASSIGN_OR_RETURN(std::vector<size_t> eligible,
                      EligibleTensors(tensors, options.eligibility));
  if (eligible.empty()) {
    Unmarked(kUnmarkedNoEligibleTensors);
    return absl::OkStatus();
  }
  absl::StatusOr<MarkPlanner> planner =
      MarkPlanner::New(*trace_keys_, std::move(tensors), size, options);
  if (!planner.ok()) return NotValid(format_, planner.status().message());
  planner_.emplace(*std::move(planner));
  stage_ = Stage::kPlan;
  if (spec_.expected_size > 0) {  // fed as the upload streams in
    planner_thread_ = std::thread([this] { PlannerLoop(); });
    feeding_ = true;
    for (std::shared_ptr<const std::string>& plaintext : held_) {
      (void)plan_queue_.Push(std::move(plaintext));
    }
  }
  held_.clear();
  return absl::OkStatus();
}

void ChunkUpload::Unmarked(const char* reason) {
  summary_ = FingerprintSummary{};
  summary_.unmarked_reason = reason;
  stage_ = Stage::kDone;
  held_.clear();
  prefix_ = std::string();
}

absl::Status ChunkUpload::Refuse(absl::Status status) {
  refused_ = status;
  hash_queue_.Close();
  if (hasher_.joinable()) hasher_.join();
  plan_queue_.Close();
  if (planner_thread_.joinable()) planner_thread_.join();
  held_.clear();
  prefix_ = std::string();
  buffer_ = std::string();
  (void)StopCommitter();
  // Nothing of a refused file stays; if freeing fails, the destructor tries
  // again and collection finds the pending record.
  freed_ = FreeChunks(*env_, dbs_, version_id_).ok();
  return status;
}

absl::Status ChunkUpload::Append(std::string_view data) {
  MV_RETURN_IF_ERROR(Admit(data));
  while (!data.empty()) {
    if (buffer_.size() == chunk_size_) SealBuffered(/*final=*/false);
    if (buffer_.capacity() < chunk_size_) buffer_.reserve(chunk_size_);
    size_t take = std::min<size_t>(data.size(), chunk_size_ - buffer_.size());
    buffer_.append(data.substr(0, take));
    data.remove_prefix(take);
  }
  return absl::OkStatus();
}

absl::Status ChunkUpload::AppendOwned(std::string&& data) {
  if (data.size() != chunk_size_ ||
      (!buffer_.empty() && buffer_.size() != chunk_size_)) {
    return Append(std::string_view(data));
  }
  MV_RETURN_IF_ERROR(Admit(data));
  if (!buffer_.empty()) SealBuffered(/*final=*/false);
  buffer_ = std::move(data);  // held until the next byte or Commit()
  return absl::OkStatus();
}

void ChunkUpload::SealBuffered(bool final) {
  // The hasher reads the same plaintext while this thread seals it.
  auto plaintext = std::make_shared<const std::string>(std::move(buffer_));
  buffer_ = std::string();
  (void)hash_queue_.Push(plaintext);
  if (feeding_) {
    (void)plan_queue_.Push(plaintext);
  } else if (spec_.expected_size > 0 && trace_keys_ &&
             (stage_ == Stage::kSniff || stage_ == Stage::kParse)) {
    held_.push_back(plaintext);  // for the planner, once the header is parsed
  }
  SealedChunk chunk{ChunkKey(version_id_, next_index_), sealed_buffers_.Take(),
                    absl::ToUnixMillis(clock_->Now())};
  cipher_.Seal(next_index_, final, AsBytes(*plaintext), &chunk.value);
  ++next_index_;
  // A closed queue means the committer failed; Append/Commit report it.
  (void)queue_.Push(std::move(chunk));
}

void ChunkUpload::HasherLoop() {
  while (std::optional<std::shared_ptr<const std::string>> plaintext =
             hash_queue_.Pop()) {
    sha_.Update(**plaintext);
    xxh3_.Update(**plaintext);
  }
}

void ChunkUpload::PlannerLoop() {
  while (std::optional<std::shared_ptr<const std::string>> plaintext =
             plan_queue_.Pop()) {
    if (plan_status_.ok()) plan_status_ = planner_->Feed(**plaintext);
  }
}

void ChunkUpload::CommitterLoop() {
  std::deque<SealedChunk> batch;
  while (queue_.PopAll(&batch)) {
    absl::Status s = env_->Write([&](WriteTxn& txn) -> absl::Status {
      MV_RETURN_IF_ERROR(CheckStillPending(txn, dbs_, version_id_));
      for (const SealedChunk& c : batch)
        MV_RETURN_IF_ERROR(txn.Put(dbs_.chunks, c.key, c.value));
      // Idleness is the client's: stamp the record with when the newest
      // chunk arrived, however late this thread gets to write it.
      PendingRecord pending{spec_.name, batch.back().sealed_at_ms};
      return txn.Put(dbs_.pending, IdKey(version_id_), EncodePending(pending));
    });
    env_->ReleaseMap();  // see LmdbEnv::ReleaseMap
    for (SealedChunk& c : batch) sealed_buffers_.Give(std::move(c.value));
    batch.clear();
    if (!s.ok()) {
      MutexLock lock(&mu_);
      committer_status_ = CopyForAnotherThread(s);
      queue_.Close();
      return;
    }
  }
}

absl::Status ChunkUpload::StopCommitter() {
  queue_.Close();
  if (committer_.joinable()) committer_.join();
  MutexLock lock(&mu_);
  return committer_status_;
}

absl::StatusOr<VersionInfo> ChunkUpload::Commit(const SentChecks& sent,
                                                AuditRecord* audit) {
  if (finished_)
    return absl::FailedPreconditionError("upload already finished");
  if (!refused_.ok()) return refused_;
  finished_ = true;
  SealBuffered(/*final=*/true);
  hash_queue_.Close();
  hasher_.join();
  plan_queue_.Close();
  if (planner_thread_.joinable()) planner_thread_.join();
  MV_RETURN_IF_ERROR(StopCommitter());
  if (spec_.expected_size > 0 && size_ != spec_.expected_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("upload ended after ", size_, " of its declared ",
                     spec_.expected_size, " bytes"));
  }
  Sha256Digest digest = sha_.Finish();
  std::string sha256 = std::string(AsChars(digest));
  if (!sent.sha256.empty() &&
      (sent.sha256.size() != 32 ||
       sodium_memcmp(sent.sha256.data(), sha256.data(), 32) != 0)) {
    return absl::DataLossError(
        "upload corrupted in transit: SHA-256 does not match the client's");
  }
  if (sent.xxh3_64 && *sent.xxh3_64 != xxh3_.Digest()) {
    return absl::DataLossError(
        "upload corrupted in transit: XXH3-64 does not match the client's");
  }
  // The size is final: decide what streaming could not (unknown size).
  absl::Status ingest = [&]() -> absl::Status {
    if (stage_ == Stage::kSniff) {
      MV_RETURN_IF_ERROR(Sniff(size_));
      if (stage_ == Stage::kParse) prefix_ = head_;  // the whole (short) file
    } else if (stage_ == Stage::kParse &&
               spec_.store_as == UploadSpec::As::kDetect &&
               DetectFormat(head_, size_) == Format::kBlob) {
      Unmarked(kUnmarkedBlob);  // the header it seemed to have does not fit
    }
    if (stage_ == Stage::kParse)
      MV_RETURN_IF_ERROR(ParsePrefix(size_, /*final=*/true));
    if (stage_ == Stage::kPlan) MV_RETURN_IF_ERROR(FinishPlanning());
    return absl::OkStatus();
  }();
  if (!ingest.ok()) return Refuse(std::move(ingest));
  return Publish(sha256, audit);
}

absl::Status ChunkUpload::FinishPlanning() {
  if (feeding_) {
    MV_RETURN_IF_ERROR(plan_status_);
  } else {
    // Unknown size: read the stored chunks back (the committer has stopped).
    std::string sealed_copy;  // read out of the file, as a download does
    for (uint64_t first = 0; first < next_index_; first += kChunksPerReadBack) {
      const uint64_t last = std::min(next_index_, first + kChunksPerReadBack);
      std::vector<std::string> plain(last - first);
      MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
        for (uint64_t i = first; i < last; ++i) {
          MV_ASSIGN_OR_RETURN(auto sealed,
                              txn.Get(dbs_.chunks, ChunkKey(version_id_, i)));
          if (!sealed)
            return absl::DataLossError("upload: a stored chunk is missing");
          const bool final = i + 1 == next_index_;
          const uint32_t length =
              final ? static_cast<uint32_t>(size_ - i * chunk_size_)
                    : chunk_size_;
          MV_RETURN_IF_ERROR(txn.CopyValue(*sealed, &sealed_copy));
          MV_RETURN_IF_ERROR(cipher_.Open(
              i, final, length, AsBytes(sealed_copy), &plain[i - first]));
        }
        return absl::OkStatus();
      }));
      for (const std::string& p : plain) MV_RETURN_IF_ERROR(planner_->Feed(p));
    }
  }
  MV_ASSIGN_OR_RETURN(MarkTable table, planner_->Finish());
  planner_.reset();
  stage_ = Stage::kDone;
  std::vector<bool> carries(table.tensors.size(), false);
  for (const MarkEntry& e : table.entries) {
    if (e.channel == MarkChannel::kTardos) carries[e.tensor] = true;
  }
  summary_ = FingerprintSummary{};
  summary_.tardos_positions =
      static_cast<uint32_t>(table.CountChannel(MarkChannel::kTardos));
  summary_.reference_positions =
      static_cast<uint32_t>(table.CountChannel(MarkChannel::kReference));
  summary_.tensors =
      static_cast<uint32_t>(std::count(carries.begin(), carries.end(), true));
  if (!summary_.markable()) {
    Unmarked(kUnmarkedNoPositions);
    return absl::OkStatus();
  }
  table_.emplace(std::move(table));
  return absl::OkStatus();
}

absl::StatusOr<VersionInfo> ChunkUpload::Publish(const std::string& sha256,
                                                 AuditRecord* audit) {
  VersionRecord v{spec_.name,   0,           version_id_,
                  size_,        sha256,      format_,
                  spec_.labels, creator_,    absl::ToUnixMillis(clock_->Now()),
                  chunk_size_,  next_index_, 0,
                  "",           summary_};  // the data key is in the key file
  // Sealed outside the write lock; stored in the publish transaction.
  const std::string sealed_table =
      table_ ? SealMarkTable(*table_, table_key_, version_id_) : std::string();
  ArtifactRecord artifact;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(CheckStillPending(txn, dbs_, version_id_));
    MV_ASSIGN_OR_RETURN(artifact, LoadArtifact(txn, dbs_, spec_.name));
    v.number = ++artifact.last_number;
    for (const std::string& alias : spec_.aliases)
      artifact.aliases[alias] = v.number;
    MV_RETURN_IF_ERROR(
        txn.Put(dbs_.versions, VersionKey(v.name, v.number), EncodeVersion(v)));
    if (table_)
      MV_RETURN_IF_ERROR(txn.Put(dbs_.marks, IdKey(version_id_), sealed_table));
    MV_RETURN_IF_ERROR(
        txn.Put(dbs_.artifacts, spec_.name, EncodeArtifact(artifact)));
    MV_RETURN_IF_ERROR(txn.Delete(dbs_.pending, IdKey(version_id_)));
    if (audit == nullptr || audit_log_ == nullptr) return absl::OkStatus();
    // No version without its record: both commit here or neither does.
    audit->resource = absl::StrCat(v.name, "@", v.number);
    audit->bytes = v.size;
    return audit_log_->AppendSanitized(txn, *audit);
  }));
  published_ = true;
  VersionInfo info = ToInfo(v, artifact);
  info.key_version = key_version_;
  return info;
}

}  // namespace mv
