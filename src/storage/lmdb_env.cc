#include "storage/lmdb_env.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/barrier.h"

namespace mv {
namespace {

MDB_val ToVal(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view FromVal(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

struct TxnAborter {
  void operator()(MDB_txn* txn) const noexcept { mdb_txn_abort(txn); }
};
using TxnPtr = std::unique_ptr<MDB_txn, TxnAborter>;

// Directories (device, inode) with an open LmdbEnv in this process.
std::mutex open_dirs_mu;
std::set<std::pair<dev_t, ino_t>>& OpenDirs() {
  static auto* dirs = new std::set<std::pair<dev_t, ino_t>>;
  return *dirs;
}

// The start of this process's mapping of `size` bytes of inode `ino` from
// file offset 0 (LMDB maps its whole map size at once), or null.
void* FindMapping(ino_t ino, size_t size) {
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return nullptr;
  void* found = nullptr;
  char line[512];
  while (found == nullptr && std::fgets(line, sizeof line, maps) != nullptr) {
    uintptr_t start = 0, end = 0;
    unsigned long long offset = 0, inode = 0;
    // start-end perms offset dev inode [path]
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %llx %*s %llu", &start,
                    &end, &offset, &inode) == 4 &&
        inode == ino && offset == 0 && end - start == size) {
      found = reinterpret_cast<void*>(start);
    }
  }
  std::fclose(maps);
  return found;
}

}  // namespace

absl::Status LmdbStatus(int rc, std::string_view what_view) {
  // Debian's Abseil has its own string_view type: convert once.
  const std::string what(what_view);
  switch (rc) {
    case 0:
      return absl::OkStatus();
    case MDB_MAP_FULL:
      return absl::ResourceExhaustedError(
          "vault storage is full (LMDB map size reached); restart modelvaultd "
          "with a larger --map-size");
    case ENOSPC:
      return absl::ResourceExhaustedError(
          absl::StrCat("disk full during ", what));
    case MDB_PANIC:
      return absl::UnavailableError(
          absl::StrCat("storage panic during ", what, "; restart modelvaultd"));
    case EIO:
      return absl::UnavailableError(
          absl::StrCat("storage I/O error during ", what));
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return absl::FailedPreconditionError(absl::StrCat(
          "not a modelvault data file (", mdb_strerror(rc), ") during ", what));
    case MDB_READERS_FULL:
      return absl::ResourceExhaustedError("too many concurrent readers");
    default:
      return absl::InternalError(
          absl::StrCat("storage error during ", what, ": ", mdb_strerror(rc)));
  }
}

void ReleaseMappedPages(std::string_view value) {
  static const uintptr_t kPage = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(value.data());
  // Round outwards: a shared read-only file mapping loses nothing when a
  // neighbouring value's page is dropped too; it is faulted in again.
  const uintptr_t first = begin & ~(kPage - 1);
  const uintptr_t last = (begin + value.size() + kPage - 1) & ~(kPage - 1);
  if (last > first)
    madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

absl::Status Txn::CopyValue(std::string_view value, std::string* out) const {
  out->resize(value.size());
  const auto begin = reinterpret_cast<uintptr_t>(value.data());
  const auto map = reinterpret_cast<uintptr_t>(file_.map);
  if (file_.map == nullptr || begin < map ||
      begin + value.size() > map + file_.bytes) {
    std::memcpy(out->data(), value.data(), value.size());
    return absl::OkStatus();
  }
  // The transaction keeps its pages from being reused, and the page cache
  // serves pread and the map alike: the file holds exactly `value` there.
  const off_t at = static_cast<off_t>(begin - map);
  size_t done = 0;
  while (done < value.size()) {
    ssize_t n = ::pread(file_.fd, out->data() + done, value.size() - done,
                        at + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return LmdbStatus(n < 0 ? errno : EIO, "read");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool Txn::Sealed(MDB_dbi db, std::string_view key) const {
  return barrier_ != nullptr && db < barrier_->names.size() &&
         barrier_->barrier->Seals(barrier_->names[db], key);
}

absl::StatusOr<std::string_view> Txn::Unseal(MDB_dbi db, std::string_view key,
                                             std::string_view raw,
                                             std::string* buffer) const {
  if (!Sealed(db, key)) return raw;
  MV_RETURN_IF_ERROR(
      barrier_->barrier->Open(barrier_->names[db], key, raw, buffer));
  return std::string_view(*buffer);
}

absl::StatusOr<std::optional<std::string_view>> Txn::Get(
    MDB_dbi db, std::string_view key) const {
  MDB_val k = ToVal(key), v{};
  int rc = mdb_get(txn_, db, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbStatus(rc, "read");
  if (!Sealed(db, key)) return FromVal(v);
  opened_.emplace_back();
  MV_ASSIGN_OR_RETURN(std::string_view value,
                      Unseal(db, key, FromVal(v), &opened_.back()));
  return value;
}

namespace {

using CursorPtr = std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)>;

absl::StatusOr<CursorPtr> OpenCursor(MDB_txn* txn, MDB_dbi db) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn, db, &cursor); rc != 0)
    return LmdbStatus(rc, "open cursor");
  return CursorPtr(cursor, [](MDB_cursor* c) { mdb_cursor_close(c); });
}

}  // namespace

absl::Status Txn::Scan(
    MDB_dbi db, std::string_view from, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  MV_ASSIGN_OR_RETURN(CursorPtr owned, OpenCursor(txn_, db));
  MDB_cursor* cursor = owned.get();
  MDB_val k = ToVal(from), v{};
  int rc =
      mdb_cursor_get(cursor, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  std::string buffer;
  while (rc == 0) {
    std::string_view key = FromVal(k);
    if (!key.starts_with(prefix)) return absl::OkStatus();
    MV_ASSIGN_OR_RETURN(std::string_view value,
                        Unseal(db, key, FromVal(v), &buffer));
    if (!fn(key, value)) return absl::OkStatus();
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return absl::OkStatus();
  return LmdbStatus(rc, "scan");
}

absl::StatusOr<Txn::Records> Txn::ReadAll(MDB_dbi db) const {
  Records records;
  MV_RETURN_IF_ERROR(
      Scan(db, "", "", [&](std::string_view k, std::string_view v) {
        records.emplace_back(k, v);
        return true;
      }));
  return records;
}

absl::Status Txn::ScanBackward(
    MDB_dbi db, std::string_view from,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  MV_ASSIGN_OR_RETURN(CursorPtr owned, OpenCursor(txn_, db));
  MDB_cursor* cursor = owned.get();
  int rc = 0;
  MDB_val k = ToVal(from), v{};
  if (from.empty()) {
    rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
  } else {
    // MDB_SET_RANGE finds the first key >= from; step back unless it is equal.
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
    } else if (rc == 0 && FromVal(k) != from) {
      rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
    }
  }
  std::string buffer;
  while (rc == 0) {
    MV_ASSIGN_OR_RETURN(std::string_view value,
                        Unseal(db, FromVal(k), FromVal(v), &buffer));
    if (!fn(FromVal(k), value)) return absl::OkStatus();
    rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
  }
  if (rc == MDB_NOTFOUND) return absl::OkStatus();
  return LmdbStatus(rc, "scan");
}

absl::Status WriteTxn::Put(MDB_dbi db, std::string_view key,
                           std::string_view value) {
  std::string sealed;
  if (Sealed(db, key)) {
    barrier()->barrier->Seal(barrier()->names[db], key, value, &sealed);
    value = sealed;
  }
  MDB_val k = ToVal(key), v = ToVal(value);
  return LmdbStatus(mdb_put(raw(), db, &k, &v, 0), "write");
}

absl::Status WriteTxn::Delete(MDB_dbi db, std::string_view key) {
  MDB_val k = ToVal(key);
  int rc = mdb_del(raw(), db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return absl::OkStatus();
  return LmdbStatus(rc, "delete");
}

absl::Status WriteTxn::Clear(MDB_dbi db) {
  return LmdbStatus(mdb_drop(raw(), db, 0), "clear");
}

absl::StatusOr<std::unique_ptr<LmdbEnv>> LmdbEnv::Open(
    const Options& options, std::initializer_list<const char*> db_names) {
  std::unique_ptr<LmdbEnv> env(new LmdbEnv(
      options, std::vector<std::string>(db_names.begin(), db_names.end())));
  MV_RETURN_IF_ERROR(env->ClaimDirectory());
  std::unique_lock lock(env->mu_);
  MV_RETURN_IF_ERROR(env->OpenLocked());
  return env;
}

absl::Status LmdbEnv::ClaimDirectory() {
  struct stat st;
  if (::stat(options_.dir.c_str(), &st) != 0) {
    return LmdbStatus(errno, absl::StrCat("open ", options_.dir));
  }
  std::pair<dev_t, ino_t> id(st.st_dev, st.st_ino);
  std::lock_guard lock(open_dirs_mu);
  if (!OpenDirs().insert(id).second) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the storage in ", options_.dir, " is already open in this process"));
  }
  claimed_dir_ = id;
  return absl::OkStatus();
}

absl::Status LmdbEnv::OpenLocked() const {
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc != 0) return LmdbStatus(rc, "create environment");
  std::unique_ptr<MDB_env, void (*)(MDB_env*)> owned(
      raw, [](MDB_env* e) { mdb_env_close(e); });
  if ((rc = mdb_env_set_maxdbs(raw, 16)) != 0 ||
      (rc = mdb_env_set_maxreaders(raw, options_.max_readers)) != 0 ||
      (rc = mdb_env_set_mapsize(raw, options_.map_size)) != 0) {
    return LmdbStatus(rc, "configure environment");
  }
  // MDB_NOTLS: a read transaction may move between gRPC threads. Default
  // sync flags: every commit is durable.
  rc = mdb_env_open(raw, options_.dir.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) return LmdbStatus(rc, absl::StrCat("open ", options_.dir));
  int dead = 0;
  mdb_reader_check(raw, &dead);  // free slots of crashed processes
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(raw, nullptr, 0, &txn)) != 0)
    return LmdbStatus(rc, "open databases");
  std::vector<std::pair<std::string, MDB_dbi>> dbs;
  for (const std::string& name : db_names_) {
    MDB_dbi dbi;
    if ((rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi)) != 0) {
      mdb_txn_abort(txn);
      return LmdbStatus(rc, absl::StrCat("open database ", name));
    }
    dbs.emplace_back(name, dbi);
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return LmdbStatus(rc, "open databases");
  // Handles are numbered in opening order, so a reopen yields the same ones
  // that callers may hold; anything else would be a bug worth stopping on.
  if (!dbs_.empty() && dbs_ != dbs)
    return absl::InternalError("database handles changed on reopen");
  if (dbs_.empty())
    dbs_ = std::move(dbs);  // set once: Db() reads it without a lock
  env_ = owned.release();
  MDB_envinfo info{};
  mdb_filehandle_t fd;
  struct stat st {};
  if (mdb_env_info(env_, &info) == 0 && mdb_env_get_fd(env_, &fd) == 0 &&
      ::fstat(fd, &st) == 0) {
    map_ = FindMapping(st.st_ino, info.me_mapsize);
    map_bytes_ = map_ ? info.me_mapsize : 0;
    map_fd_ = map_ ? fd : -1;
  }
  return absl::OkStatus();
}

absl::Status LmdbEnv::Recover(MDB_env* failed) const {
  std::unique_lock lock(mu_);  // waits for every transaction in flight
  if (env_ != failed)
    return env_ ? absl::OkStatus()
                : absl::UnavailableError("storage is unavailable");
  mdb_env_close(env_);
  env_ = nullptr;
  map_ = nullptr;
  map_bytes_ = 0;
  map_fd_ = -1;
  ++reopen_count_;
  absl::Status reopened = OpenLocked();
  if (!reopened.ok()) {
    return absl::UnavailableError(
        absl::StrCat("storage failed and could not be reopened: ",
                     std::string(reopened.message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<MDB_txn*> LmdbEnv::Begin(
    unsigned flags, std::shared_lock<std::shared_mutex>* lock) const {
  for (int attempt = 0;; ++attempt) {
    *lock = std::shared_lock(mu_);
    if (env_ == nullptr)
      return absl::UnavailableError(
          "storage is unavailable after a failure; restart modelvaultd");
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, flags, &txn);
    if (rc == 0) return txn;
    if (rc != MDB_PANIC || attempt > 0)
      return LmdbStatus(rc, "begin transaction");
    MDB_env* failed = env_;
    lock->unlock();
    MV_RETURN_IF_ERROR(Recover(failed));
  }
}

void LmdbEnv::ReleaseMap() const {
  std::shared_lock lock(mu_);
  if (map_ != nullptr) madvise(map_, map_bytes_, MADV_DONTNEED);
}

void LmdbEnv::SetBarrier(std::shared_ptr<const StorageBarrier> barrier) {
  txn_barrier_ = TxnBarrier{};
  if (barrier != nullptr) {
    txn_barrier_.barrier = barrier.get();
    for (const auto& [name, dbi] : dbs_) {
      if (txn_barrier_.names.size() <= dbi) txn_barrier_.names.resize(dbi + 1);
      txn_barrier_.names[dbi] = name;
    }
  }
  barrier_ = std::move(barrier);
}

int LmdbEnv::reopen_count() const {
  std::shared_lock lock(mu_);
  return reopen_count_;
}

LmdbEnv::~LmdbEnv() {
  if (env_ != nullptr) mdb_env_close(env_);
  if (claimed_dir_) {
    std::lock_guard lock(open_dirs_mu);
    OpenDirs().erase(*claimed_dir_);
  }
}

MDB_dbi LmdbEnv::Db(std::string_view name) const {
  // No lock: dbs_ is written once in Open(), before anyone can call this,
  // so Db() is safe inside a Read()/Write() callback (taking mu_ there again
  // ordered it after LMDB's writer mutex, which TSan rightly flags).
  for (const auto& [n, dbi] : dbs_) {
    if (n == name) return dbi;
  }
  std::abort();  // a programming error: every name is fixed at Open()
}

absl::Status LmdbEnv::Read(
    const std::function<absl::Status(const Txn&)>& fn) const {
  std::shared_lock<std::shared_mutex> lock;
  MV_ASSIGN_OR_RETURN(MDB_txn * raw, Begin(MDB_RDONLY, &lock));
  TxnPtr txn(raw);
  // map_ is stable while `lock` is held, i.e. for the whole transaction.
  const MappedFile file{static_cast<const char*>(map_), map_bytes_, map_fd_};
  const TxnBarrier* barrier = barrier_ ? &txn_barrier_ : nullptr;
  return fn(Txn(txn.get(), file, barrier));  // the deleter ends the read txn
}

absl::Status LmdbEnv::Write(const std::function<absl::Status(WriteTxn&)>& fn) {
  std::shared_lock<std::shared_mutex> lock;
  MV_ASSIGN_OR_RETURN(MDB_txn * raw, Begin(0, &lock));
  TxnPtr txn(raw);
  WriteTxn write(txn.get(), {}, barrier_ ? &txn_barrier_ : nullptr);
  MV_RETURN_IF_ERROR(fn(write));
  // mdb_txn_commit frees the txn even on failure: release ownership first so
  // the deleter does not abort a freed handle.
  int rc = mdb_txn_commit(txn.release());
  return LmdbStatus(rc, "commit");
}

}  // namespace mv
