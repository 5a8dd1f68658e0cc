#include "vault/key_rotation.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/barrier.h"
#include "vault/catalog.h"
#include "vault/vault_keys.h"

namespace mv {
namespace {

constexpr std::string_view kNamedKeys[] = {kTokenKeySpec.meta_name,
                                           kAuditKeySpec.meta_name,
                                           kFingerprintKeySpec.meta_name};

bool Sealable(const char* db) { return std::string_view(db) != "chunks"; }

// The key after `key` in LMDB's order.
std::string After(std::string_view key) {
  std::string next(key);
  next.push_back('\0');
  return next;
}

}  // namespace

absl::StatusOr<uint32_t> KeyRotation::Rotate(const AuditRecord* audit) {
  MV_ASSIGN_OR_RETURN(uint32_t version,
                      keys_.Rotate(absl::ToUnixMillis(clock_->Now())));
  if (audit != nullptr) {
    AuditRecord record = *audit;
    record.resource = absl::StrCat("keyring:", version);
    MV_RETURN_IF_ERROR(audit_.Commit(std::move(record)).status());
  }
  Resume();
  return version;
}

void KeyRotation::Resume() {
  MutexLock lock(&mu_);
  if (running_ || stop_) return;
  if (thread_.joinable()) thread_.join();  // a finished run
  running_ = true;
  thread_ = std::thread([this] {
    absl::Status done = RunToCompletion();
    MutexLock lock(&mu_);
    running_ = false;
    last_error_ = done.ok() ? "" : std::string(done.message());
  });
}

void KeyRotation::Stop() {
  std::thread thread;
  {
    MutexLock lock(&mu_);
    stop_ = true;
    thread.swap(thread_);
  }
  if (thread.joinable()) thread.join();
}

bool KeyRotation::stopping() const {
  MutexLock lock(&mu_);
  return stop_;
}

absl::Status KeyRotation::RunToCompletion() {
  MutexLock run(&run_mu_);
  if (keys_.ring()->versions().size() == 1) return absl::OkStatus();
  // Until a pass finds everything under the current version: a rotation
  // during a pass makes another.
  for (;;) {
    const uint32_t current = keys_.ring()->current();
    MV_RETURN_IF_ERROR(RewrapDataKeys());
    for (const char* db : Dbs::kNames) {
      if (Sealable(db)) MV_RETURN_IF_ERROR(ResealRecords(db));
    }
    MV_RETURN_IF_ERROR(RewrapNamedKeys());
    if (stopping()) return absl::CancelledError("key rotation stopped");
    MV_RETURN_IF_ERROR(RetireUnused());
    if (keys_.ring()->current() == current &&
        keys_.ring()->versions().size() == 1) {
      return absl::OkStatus();
    }
    if (keys_.ring()->current() == current) {
      // Something under an old version remains that this pass could not
      // move (a record that does not open): stop rather than spin.
      return absl::DataLossError(
          "key rotation: records remain under an older key version after a "
          "full pass; run modelvaultd verify");
    }
  }
}

absl::Status KeyRotation::RewrapDataKeys() {
  MV_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, keys_.StoredIds());
  for (size_t i = 0; i < ids.size() && !stopping(); i += kDataKeyBatch) {
    std::vector<uint64_t> batch(
        ids.begin() + i, ids.begin() + std::min(ids.size(), i + kDataKeyBatch));
    MV_ASSIGN_OR_RETURN(size_t moved, keys_.Rewrap(batch));
    MutexLock lock(&mu_);
    rewrapped_ += moved;
  }
  return absl::OkStatus();
}

absl::Status KeyRotation::ResealRecords(const char* db) {
  const MDB_dbi dbi = env_.Db(db);
  std::string from;
  for (bool more = true; more && !stopping();) {
    size_t resealed = 0;
    MV_RETURN_IF_ERROR(env_.Write([&](WriteTxn& txn) -> absl::Status {
      const uint32_t current = keys_.ring()->current();
      const Txn stored(txn.raw());  // the bytes as stored
      std::vector<std::string> stale;
      size_t scanned = 0;
      more = false;
      MV_RETURN_IF_ERROR(stored.Scan(
          dbi, from, "", [&](std::string_view k, std::string_view v) {
            if (stale.size() == kRecordBatch || ++scanned > 8 * kRecordBatch) {
              more = true;
              return false;
            }
            from = After(k);
            const uint32_t version = StorageBarrier::KeyVersionOf(v);
            if (version != 0 && version != current)
              stale.emplace_back(k);  // 0: not sealed (meta's clear keys)
            return true;
          }));
      std::string value;
      for (const std::string& k : stale) {
        MV_ASSIGN_OR_RETURN(auto opened, txn.Get(dbi, k));
        if (!opened) continue;
        value.assign(*opened);
        MV_RETURN_IF_ERROR(txn.Put(dbi, k, value));
      }
      resealed = stale.size();
      return absl::OkStatus();
    }));
    MutexLock lock(&mu_);
    resealed_ += resealed;
  }
  return absl::OkStatus();
}

absl::Status KeyRotation::RewrapNamedKeys() {
  const MDB_dbi meta = env_.Db("meta");
  return env_.Write([&](WriteTxn& txn) -> absl::Status {
    const std::shared_ptr<const KeyRing> ring = keys_.ring();
    for (std::string_view name : kNamedKeys) {
      MV_ASSIGN_OR_RETURN(auto stored, txn.Get(meta, name));
      if (!stored || KeyRing::NamedKeyVersion(*stored) == ring->current())
        continue;
      MV_ASSIGN_OR_RETURN(SecretKey key,
                          ring->UnwrapNamedKey(name, std::string(*stored)));
      MV_RETURN_IF_ERROR(txn.Put(meta, name, ring->WrapNamedKey(name, key)));
    }
    return absl::OkStatus();
  });
}

absl::Status KeyRotation::RetireUnused() {
  MV_ASSIGN_OR_RETURN(std::vector<KeyVersionUse> usage, Usage());
  for (const KeyVersionUse& use : usage) {
    if (use.current || use.total() != 0) continue;
    MV_RETURN_IF_ERROR(keys_.Retire(use.version));
    AuditRecord record;
    record.method = "key rotation";
    record.decision = AuditDecision::kAllowed;
    record.resource = absl::StrCat("keyring:", use.version);
    record.reason = "key version retired: nothing is protected by it";
    MV_RETURN_IF_ERROR(audit_.Commit(std::move(record)).status());
    MutexLock lock(&mu_);
    retired_.push_back(use.version);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyVersionUse>> KeyRotation::Usage() const {
  const std::shared_ptr<const KeyRing> ring = keys_.ring();
  std::map<uint32_t, KeyVersionUse> use;
  for (const KeyRing::VersionInfo& v : ring->versions()) {
    use[v.version] = {v.version, v.created_unix_ms,
                      v.version == ring->current()};
  }
  const auto count = [&](uint32_t version, uint64_t KeyVersionUse::*field) {
    KeyVersionUse& u = use[version];  // an unknown version shows up too
    u.version = version;
    ++(u.*field);
  };
  MV_RETURN_IF_ERROR(env_.Read([&](const Txn& txn) -> absl::Status {
    const Txn stored(txn.raw());
    for (const char* db : Dbs::kNames) {
      if (!Sealable(db)) continue;
      MV_RETURN_IF_ERROR(stored.Scan(
          env_.Db(db), "", "", [&](std::string_view, std::string_view v) {
            if (uint32_t version = StorageBarrier::KeyVersionOf(v))
              count(version, &KeyVersionUse::records);
            return true;
          }));
    }
    for (std::string_view name : kNamedKeys) {
      MV_ASSIGN_OR_RETURN(auto named, txn.Get(env_.Db("meta"), name));
      if (named) {
        count(KeyRing::NamedKeyVersion(*named), &KeyVersionUse::named_keys);
      }
    }
    return absl::OkStatus();
  }));
  MV_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, keys_.StoredIds());
  for (uint64_t id : ids) {
    MV_ASSIGN_OR_RETURN(uint32_t version, keys_.KeyVersionOf(id));
    count(version, &KeyVersionUse::data_keys);
  }
  std::vector<KeyVersionUse> out;
  for (auto& [version, u] : use) out.push_back(u);
  return out;
}

absl::StatusOr<KeyRotationStatus> KeyRotation::Status() const {
  KeyRotationStatus status;
  MV_ASSIGN_OR_RETURN(status.versions, Usage());
  MutexLock lock(&mu_);
  status.running = running_;
  status.rewrapped_data_keys = rewrapped_;
  status.resealed_records = resealed_;
  status.retired = retired_;
  status.last_error = last_error_;
  return status;
}

}  // namespace mv
