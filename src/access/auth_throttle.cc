#include "access/auth_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace mv {
namespace {

constexpr char kThrottledPayload[] = "modelvault/auth-throttled";
constexpr char kLocalKey[] = "local";
constexpr char kOverflowKey[] = "overflow";

}  // namespace

std::string ThrottleKey(std::string_view peer_ip) {
  if (peer_ip.empty()) return kLocalKey;
  const std::string ip(peer_ip);
  in_addr v4;
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return ip;
  in6_addr v6;
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return kLocalKey;
  char text[INET6_ADDRSTRLEN];
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {  // a dual-stack listener's IPv4 client
    std::copy_n(v6.s6_addr + 12, 4, reinterpret_cast<uint8_t*>(&v4));
    inet_ntop(AF_INET, &v4, text, sizeof text);
    return text;
  }
  std::fill(v6.s6_addr + 8, v6.s6_addr + 16, 0);
  inet_ntop(AF_INET6, &v6, text, sizeof text);
  return absl::StrCat(text, "/64");
}

bool IsThrottled(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted &&
         status.GetPayload(kThrottledPayload).has_value();
}

void AuthThrottle::Refill(Bucket& bucket, absl::Time now) const {
  if (now > bucket.updated) {
    const double minutes = absl::ToDoubleMinutes(now - bucket.updated);
    bucket.tokens = std::min<double>(
        limits_.burst, bucket.tokens + minutes * limits_.per_minute);
  }
  bucket.updated = std::max(bucket.updated, now);
}

AuthThrottle::Bucket& AuthThrottle::BucketFor(std::string key, absl::Time now) {
  if (auto it = buckets_.find(key); it != buckets_.end()) return it->second;
  // A sweep costs a pass over every bucket: at most one per second, so a
  // spray of new addresses cannot make every call pay for one.
  if (buckets_.size() >= kMaxTrackedAddresses &&
      now - last_sweep_ >= absl::Seconds(1)) {
    last_sweep_ = now;
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      Refill(it->second, now);
      const bool idle =
          it->second.tokens >= limits_.burst && it->second.refused.refused == 0;
      it = idle ? buckets_.erase(it) : std::next(it);
    }
  }
  if (buckets_.size() >= kMaxTrackedAddresses) key = kOverflowKey;
  auto [it, inserted] = buckets_.try_emplace(key);
  if (inserted) {
    it->second.tokens = limits_.burst;
    it->second.updated = now;
    it->second.refused.address = key;
  }
  return it->second;
}

absl::Status AuthThrottle::Failed(std::string_view peer_ip, absl::Time now) {
  if (limits_.burst == 0) return absl::OkStatus();
  const std::string key = ThrottleKey(peer_ip);
  MutexLock lock(&mu_);
  Bucket& bucket = BucketFor(key, now);
  Refill(bucket, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::OkStatus();
  }
  ThrottledAddress& refused = bucket.refused;
  if (refused.refused++ == 0) refused.first = now;
  refused.last = now;
  const double seconds = (1 - bucket.tokens) * 60 / limits_.per_minute;
  absl::Status status = absl::ResourceExhaustedError(absl::StrCat(
      "too many failed authentications from ", refused.address, "; retry in ",
      static_cast<int64_t>(std::ceil(seconds)), " s"));
  status.SetPayload(kThrottledPayload, absl::Cord());
  return status;
}

std::vector<ThrottledAddress> AuthThrottle::Drain() {
  std::vector<ThrottledAddress> out;
  MutexLock lock(&mu_);
  for (auto& [key, bucket] : buckets_) {
    if (bucket.refused.refused == 0) continue;
    out.push_back(bucket.refused);
    bucket.refused.refused = 0;
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  return out;
}

void AuthThrottle::Restore(const std::vector<ThrottledAddress>& drained) {
  MutexLock lock(&mu_);
  for (const ThrottledAddress& back : drained) {
    auto [it, inserted] = buckets_.try_emplace(back.address);
    ThrottledAddress& refused = it->second.refused;
    if (inserted) {
      it->second.tokens = 0;  // it was refusing
      it->second.updated = back.last;
      refused.address = back.address;
    }
    if (refused.refused == 0) {
      refused = back;
    } else {
      refused.refused += back.refused;
      refused.first = std::min(refused.first, back.first);
      refused.last = std::max(refused.last, back.last);
    }
  }
}

}  // namespace mv
