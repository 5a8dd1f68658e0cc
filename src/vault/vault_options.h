// How a Vault is opened (VaultOptions), and the vault-wide secrets an
// operator may regenerate (VaultKey). Shared by Vault and its parts.
#ifndef MODELVAULT_VAULT_VAULT_OPTIONS_H_
#define MODELVAULT_VAULT_VAULT_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "access/auth_throttle.h"
#include "audit/audit_log.h"
#include "common/clock.h"

namespace mv {

// The vault-wide secrets `modelvaultd regenerate-key` may replace when they
// are missing or do not open (vault/vault_keys.h).
enum class VaultKey { kFingerprint, kToken, kKeyCheck };
std::string_view VaultKeyName(VaultKey key);  // "fingerprint", "token", …
std::optional<VaultKey> ParseVaultKey(std::string_view name);

struct VaultOptions {
  std::string data_dir;
  size_t map_size = size_t{64} << 30;  // LMDB map; grow it by reopening larger
  uint32_t chunk_size = 1 << 20;       // plaintext bytes per stored chunk
  absl::Duration pending_ttl =
      absl::Hours(1);  // idle uploads older are collected
  Clock* clock = Clock::Real();
  // The serving process owns every pending upload, so it collects them all
  // on open; an inspecting process (verify) must not touch a live server's.
  bool collect_pending_on_open = true;
  // Whether Open may migrate a vault of an older format in place (one write
  // transaction); an inspecting process (verify) must not.
  bool migrate = true;
  // The audit log's settings (audit/audit_log.h): checkpoint cadence, the
  // witness file, the fault seam. Its clock is replaced by `clock`.
  AuditLog::Options audit;
  // Failed authentications allowed per client address
  // (access/auth_throttle.h).
  AuthThrottleLimits auth_throttle;
  // Memory all uploads together may hold for model headers being collected
  // and parsed (ChunkUpload::kHeaderCostFactor per header byte).
  uint64_t header_memory_bytes = uint64_t{96} << 20;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_VAULT_OPTIONS_H_
