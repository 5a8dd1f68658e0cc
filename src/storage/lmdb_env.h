// LmdbEnv: RAII owner of one LMDB environment and its named databases, with
// typed short transactions. Modelled on Monero's src/lmdb: handles are owned
// by unique_ptr with noexcept deleters, writes run in a function that commits
// on success and aborts otherwise, and MDB_MAP_FULL is a clear status.
//
// Thread safety: LmdbEnv is thread-safe (MDB_NOTLS: read transactions are not
// tied to threads). A Txn must be used by one thread at a time. LMDB allows
// one write transaction at a time; Write() blocks until it can begin one.
// REQUIRES: never hold a Write() across a network wait.
//
// One environment per directory per process: LMDB's lock file uses
// process-shared robust mutexes and fcntl locks, which a second open of the
// same files in the same process silently re-initialises (corrupting the
// thread's robust-mutex list and crashing later). Open() refuses it.
//
// Recovery: after an I/O error in a commit LMDB marks the environment
// failed and every later transaction returns MDB_PANIC. The next Read() or
// Write() that sees it closes and reopens the environment (waiting for
// transactions in flight to end) and retries once, so one bad write does not
// take the server down until a restart.
#ifndef MODELVAULT_STORAGE_LMDB_ENV_H_
#define MODELVAULT_STORAGE_LMDB_ENV_H_

#include <lmdb.h>
#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mv {

class StorageBarrier;

// Translates an LMDB/errno code into a status with an operator-facing message.
absl::Status LmdbStatus(int rc, std::string_view what);

// Drops this process's mapping of the whole pages under `value` (a view into
// the LMDB map that the caller has finished with). The pages stay in the
// page cache; without this, every value touched through the map (a delete
// reads each chunk's first page) would count toward the server's resident
// memory. Readers of whole values use Txn::CopyValue and map nothing.
// Harmless to other readers: a page they still need is simply faulted in
// again from the cache.
void ReleaseMappedPages(std::string_view value);

// Where a read transaction's values live in the data file: LMDB's map of
// it (from offset 0) and a descriptor to read it through.
struct MappedFile {
  const char* map = nullptr;  // null: unknown, values are copied from memory
  size_t bytes = 0;
  int fd = -1;
};

// The barrier as a transaction applies it: which database a handle is.
struct TxnBarrier {
  const StorageBarrier* barrier = nullptr;
  std::vector<std::string> names;  // database name by handle (MDB_dbi)
};

// With a barrier (LmdbEnv::SetBarrier), every value the barrier seals is
// sealed by Put and opened by Get and Scan (storage/barrier.h); a value that
// fails to open is DATA_LOSS naming the record, and the read stops there.
class Txn {
 public:
  explicit Txn(MDB_txn* txn, MappedFile file = {},
               const TxnBarrier* barrier = nullptr)
      : txn_(txn), file_(file), barrier_(barrier) {}

  // Returns nullopt if absent. The view is valid until the transaction ends.
  absl::StatusOr<std::optional<std::string_view>> Get(
      MDB_dbi db, std::string_view key) const;
  // Copies `value` (a view Get or Scan returned) into *out, resized to fit,
  // by reading the data file (pread) rather than touching the map: the
  // value's pages are never mapped into this process, so they cost neither
  // resident memory nor page faults. On a VM a fault on freshly mapped
  // pages is a hypervisor exit: a pull's decrypt thread, reading each chunk
  // through the map and dropping it after (ReleaseMappedPages), ran at
  // 0.86-0.98 GB/s where pread into one reused buffer and decrypting that
  // ran at 1.49-1.62 GB/s. Values outside the map (a write transaction's
  // own pages, values the barrier opened) are copied from memory.
  absl::Status CopyValue(std::string_view value, std::string* out) const;
  // Calls fn(key, value) for keys >= `from` in order while fn returns true
  // and the key starts with `prefix`. A value the barrier opened is valid
  // only during its call (a scan may pass every record of a database).
  absl::Status Scan(
      MDB_dbi db, std::string_view from, std::string_view prefix,
      const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // Copies of every record of `db`, in key order: for a rewrite of a small
  // database in the same write transaction (migrations), where a scan's
  // values would not outlive the writes.
  using Records = std::vector<std::pair<std::string, std::string>>;
  absl::StatusOr<Records> ReadAll(MDB_dbi db) const;
  // Calls fn(key, value) for keys <= `from` (every key if `from` is empty)
  // in descending order while fn returns true. Values as for Scan.
  absl::Status ScanBackward(
      MDB_dbi db, std::string_view from,
      const std::function<bool(std::string_view, std::string_view)>& fn) const;

  MDB_txn* raw() const { return txn_; }

 protected:
  // True if the barrier seals the value at (db, key).
  bool Sealed(MDB_dbi db, std::string_view key) const;
  const TxnBarrier* barrier() const { return barrier_; }

 private:
  // `raw` as stored at (db, key), opened into *buffer if sealed.
  absl::StatusOr<std::string_view> Unseal(MDB_dbi db, std::string_view key,
                                          std::string_view raw,
                                          std::string* buffer) const;

  MDB_txn* txn_;
  MappedFile file_;
  const TxnBarrier* barrier_;
  mutable std::deque<std::string> opened_;  // Get's values, until the end
};

class WriteTxn : public Txn {
 public:
  using Txn::Txn;
  absl::Status Put(MDB_dbi db, std::string_view key, std::string_view value);
  // Deleting an absent key is OK.
  absl::Status Delete(MDB_dbi db, std::string_view key);
  // Deletes every record of `db` (mdb_drop), without reading its values.
  absl::Status Clear(MDB_dbi db);
};

class LmdbEnv {
 public:
  struct Options {
    std::string dir;
    size_t map_size = size_t{64} << 30;
    unsigned max_readers = 1024;
  };
  // Opens (creating files if absent) the environment in an existing `dir`,
  // clears stale reader slots and opens/creates the named databases.
  static absl::StatusOr<std::unique_ptr<LmdbEnv>> Open(
      const Options& options, std::initializer_list<const char*> db_names);

  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  // Looks up a database opened by Open(); `name` must be one of db_names.
  MDB_dbi Db(std::string_view name) const;

  absl::Status Read(const std::function<absl::Status(const Txn&)>& fn) const;
  // Commits if fn returns OK, aborts otherwise. MAP_FULL → RESOURCE_EXHAUSTED.
  absl::Status Write(const std::function<absl::Status(WriteTxn&)>& fn);

  size_t map_size() const { return options_.map_size; }
  // Drops this process's mapping of every page of the data file, like
  // ReleaseMappedPages for the whole map; pages still in use are faulted in
  // again from the page cache. Writers call it after writing into pages a
  // deleted version freed: LMDB then reads B-tree pages that share large
  // page-cache folios with chunk data, and the kernel maps whole folios on
  // such a fault (a 1 GiB push into freed pages left 0.6 GiB of the file in
  // RSS). A no-op if the map was not found in /proc/self/maps.
  void ReleaseMap() const;
  // How many times the environment was reopened after a panic.
  int reopen_count() const;

  // From now on every transaction seals and opens values through
  // `barrier` (nullptr: none). REQUIRES: no transaction in flight, and
  // none begun concurrently (the vault sets it while opening).
  void SetBarrier(std::shared_ptr<const StorageBarrier> barrier);

 private:
  LmdbEnv(Options options, std::vector<std::string> db_names)
      : options_(std::move(options)), db_names_(std::move(db_names)) {}
  // Claims options_.dir for this process (see the class comment).
  absl::Status ClaimDirectory();
  // Opens env_ and the named databases. REQUIRES: mu_ held exclusively.
  absl::Status OpenLocked() const;
  // Reopens the environment if `failed` is still the current one.
  absl::Status Recover(MDB_env* failed) const;
  // Begins a transaction, recovering from MDB_PANIC once. On success the
  // caller holds `lock` (shared) until the transaction ends.
  absl::StatusOr<MDB_txn*> Begin(
      unsigned flags, std::shared_lock<std::shared_mutex>* lock) const;

  const Options options_;
  const std::vector<std::string> db_names_;
  // Shared by every transaction; exclusive only while reopening.
  mutable std::shared_mutex mu_;
  mutable MDB_env* env_ = nullptr;  // guarded by mu_; null if a reopen failed
  // env_'s map of the data file, from /proc/self/maps (LMDB does not say
  // where it is without MDB_FIXEDMAP); null if not found. Guarded by mu_.
  mutable void* map_ = nullptr;
  mutable size_t map_bytes_ = 0;
  mutable int map_fd_ = -1;  // LMDB's descriptor of the data file
  // Set once by the first OpenLocked(); a reopen only checks it. Read without
  // mu_.
  mutable std::vector<std::pair<std::string, MDB_dbi>> dbs_;
  mutable int reopen_count_ = 0;                        // guarded by mu_
  std::shared_ptr<const StorageBarrier> barrier_;       // set before serving
  TxnBarrier txn_barrier_;                              // for barrier_
  std::optional<std::pair<dev_t, ino_t>> claimed_dir_;  // released in ~LmdbEnv
};

}  // namespace mv

#endif  // MODELVAULT_STORAGE_LMDB_ENV_H_
