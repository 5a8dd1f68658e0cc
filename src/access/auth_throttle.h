// AuthThrottle: rate limits failed authentication per client address with
// a token bucket (issue [security] item 6).
//
// Each address starts with `burst` allowed failures and earns
// `per_minute` more per minute, up to `burst`. A failure within the
// allowance is answered and audited as always (UNAUTHENTICATED, one record
// each). A failure beyond it is answered RESOURCE_EXHAUSTED "too many failed
// authentications from A; retry in N s" and only counted: the counts are
// drained into one audit record per address per minute (Vault::
// AuditThrottledAuthentications), so the log stays complete in counts
// without a flood of records.
//
// Valid credentials are never throttled: tokens are 256-bit random values
// and certificate identities are verified by TLS, so there is nothing to
// guess, and blocking an address outright would let one misconfigured job
// (or an attacker) behind a shared NAT lock out every node behind it.
//
// Addresses: an IPv4 address is its own bucket; IPv6 addresses share one
// bucket per /64 (what one host or site usually holds); a call without an
// IP (a unix socket) uses the bucket "local". At most kMaxTrackedAddresses
// buckets are kept; an address earns nothing while it holds a full bucket,
// so full ones are dropped (by a sweep at most once a second), and past
// the cap new addresses share the bucket "overflow".
//
// Thread-safe.
#ifndef MODELVAULT_ACCESS_AUTH_THROTTLE_H_
#define MODELVAULT_ACCESS_AUTH_THROTTLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/mutex.h"

namespace mv {

struct AuthThrottleLimits {
  uint32_t burst = 20;  // failures a fresh address may make at once; 0 = off
  uint32_t per_minute = 20;  // failures it earns back per minute (>= 1)
};

// The refused failures of one address since the last drain.
struct ThrottledAddress {
  std::string address;  // the bucket: "10.0.0.7", "2001:db8:1:2::/64", ...
  uint64_t refused = 0;
  absl::Time first, last;  // of the refused calls
};

class AuthThrottle {
 public:
  static constexpr size_t kMaxTrackedAddresses = 100000;

  explicit AuthThrottle(AuthThrottleLimits limits) : limits_(limits) {}
  AuthThrottle(const AuthThrottle&) = delete;
  AuthThrottle& operator=(const AuthThrottle&) = delete;

  // Records one failed authentication from `peer_ip` (a bare IP or "") at
  // `now`. OK when it is within the address's allowance; otherwise the
  // RESOURCE_EXHAUSTED status to answer instead, marked so that
  // IsThrottled() recognises it, and the failure is counted for Drain.
  absl::Status Failed(std::string_view peer_ip, absl::Time now);

  // The refusals counted since the last Drain, by address, sorted; resets
  // them.
  std::vector<ThrottledAddress> Drain();
  // Puts back what a Drain returned, when its audit record could not be
  // written (counts are never lost).
  void Restore(const std::vector<ThrottledAddress>& drained);

  const AuthThrottleLimits& limits() const { return limits_; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
    ThrottledAddress refused;  // refused.refused == 0: nothing pending
  };
  // The bucket for `key`, created full, within the cap.
  Bucket& BucketFor(std::string key, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Refill(Bucket& bucket, absl::Time now) const;

  const AuthThrottleLimits limits_;
  Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The bucket an address belongs to (see above).
std::string ThrottleKey(std::string_view peer_ip);

// True for the status AuthThrottle::Failed returns when it refuses: such a
// call is counted, not audited on its own.
bool IsThrottled(const absl::Status& status);

}  // namespace mv

#endif  // MODELVAULT_ACCESS_AUTH_THROTTLE_H_
