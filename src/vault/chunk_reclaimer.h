// ChunkReclaimer: frees the chunks of deleted versions on a thread of its
// own, so `rm` of a 100 GB version returns once its data key is shredded
// (issue [keys]: "frees chunks in the background"). A deleted version
// keeps its doomed pending record until its chunks are gone, so a crash
// leaves nothing behind: the next open's collection (Catalog::
// CollectGarbage) frees what the reclaimer did not get to.
//
// Thread-safe. Stop() (and the destructor) ends the thread after the
// version being freed.
#ifndef MODELVAULT_VAULT_CHUNK_RECLAIMER_H_
#define MODELVAULT_VAULT_CHUNK_RECLAIMER_H_

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "storage/lmdb_env.h"

namespace mv {

class ChunkReclaimer {
 public:
  explicit ChunkReclaimer(LmdbEnv& env);
  ~ChunkReclaimer() { Stop(); }

  // Queues `version_id`'s chunks to be freed.
  void Enqueue(uint64_t version_id);
  // Blocks until every queued version is freed (or the reclaimer stopped).
  // Returns the last error, "" if none.
  std::string WaitIdle();
  void Stop();

 private:
  void Loop();

  LmdbEnv& env_;
  Mutex mu_;
  CondVar work_cv_, idle_cv_;
  std::deque<uint64_t> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_CHUNK_RECLAIMER_H_
