// KeyRingHolder: the keyring in use, swapped whole when a rotation adds a
// version or retires one. Readers take a snapshot (Get) and use it for one
// operation, so a swap never changes a key under them. Thread-safe.
#ifndef MODELVAULT_CRYPTO_KEY_RING_HOLDER_H_
#define MODELVAULT_CRYPTO_KEY_RING_HOLDER_H_

#include <memory>

#include "common/mutex.h"
#include "crypto/key_ring.h"

namespace mv {

class KeyRingHolder {
 public:
  explicit KeyRingHolder(std::shared_ptr<const KeyRing> ring)
      : ring_(std::move(ring)) {}

  std::shared_ptr<const KeyRing> Get() const {
    MutexLock lock(&mu_);
    return ring_;
  }
  void Set(std::shared_ptr<const KeyRing> ring) {
    MutexLock lock(&mu_);
    ring_.swap(ring);
  }  // the old ring dies here unless a reader still holds it

 private:
  mutable Mutex mu_;
  std::shared_ptr<const KeyRing> ring_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_KEY_RING_HOLDER_H_
