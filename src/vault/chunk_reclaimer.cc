#include "vault/chunk_reclaimer.h"

#include "absl/strings/str_cat.h"
#include "vault/catalog.h"

namespace mv {

ChunkReclaimer::ChunkReclaimer(LmdbEnv& env) : env_(env) {
  thread_ = std::thread([this] { Loop(); });
}

void ChunkReclaimer::Enqueue(uint64_t version_id) {
  MutexLock lock(&mu_);
  queue_.push_back(version_id);
  work_cv_.Signal();
}

std::string ChunkReclaimer::WaitIdle() {
  MutexLock lock(&mu_);
  while ((busy_ || !queue_.empty()) && !stop_) idle_cv_.Wait(mu_);
  return last_error_;
}

void ChunkReclaimer::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    work_cv_.SignalAll();
    idle_cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

void ChunkReclaimer::Loop() {
  const Dbs dbs = Dbs::Of(env_);
  MutexLock lock(&mu_);
  for (;;) {
    while (queue_.empty() && !stop_) work_cv_.Wait(mu_);
    if (stop_) return;
    const uint64_t id = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.Release();
    const absl::Status freed = FreeChunks(env_, dbs, id);
    lock.Reacquire();
    busy_ = false;
    if (!freed.ok()) {
      last_error_ = absl::StrCat("freeing the chunks of version id ", id, ": ",
                                 freed.message());
    }
    idle_cv_.SignalAll();
  }
}

}  // namespace mv
