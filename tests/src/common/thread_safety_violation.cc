// Compiled by thread_safety_analysis_* (tests/src/CMakeLists.txt), never
// linked: with -DLOCKED it is correct; without, it reads and writes a
// guarded member without its lock, which clang's -Wthread-safety must refuse.
#include "absl/base/thread_annotations.h"
#include "common/mutex.h"

namespace mv {

class Counter {
 public:
  void Add() {
#ifdef LOCKED
    MutexLock lock(&mu_);
#endif
    ++count_;
  }
  void WaitForOne() {
    MutexLock lock(&mu_);
    while (count_ == 0) changed_.Wait(mu_);
    lock.Release();
#ifndef LOCKED
    --count_;  // the window Release opened
#endif
  }

 private:
  Mutex mu_;
  CondVar changed_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mv
