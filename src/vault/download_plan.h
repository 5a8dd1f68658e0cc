// How a pull is delivered (LEAK_TRACING.md): fingerprinted, unmarked or
// exact, under which decision its budgets are charged, and under which
// download id — decided before a byte is read (Vault::PlanDownload).
#ifndef MODELVAULT_VAULT_DOWNLOAD_PLAN_H_
#define MODELVAULT_VAULT_DOWNLOAD_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "access/policy.h"
#include "vault/artifact_io.h"
#include "vault/records.h"

namespace mv {

// `modelvaultd serve --fingerprint`: which downloads of a markable version
// carry a per-download fingerprint. Exact downloads (action read:exact) and
// versions that cannot be marked never do.
enum class FingerprintMode {
  kAlways,  // every other download
  kPolicy,  // only when a policy rule requires it (require_fingerprint)
  kOff,     // none (and require_fingerprint rules never match)
};
// "always" | "policy" | "off"; nullopt for anything else.
std::optional<FingerprintMode> ParseFingerprintMode(std::string_view text);

// Whether `read` is decided as for a fingerprinted delivery when a caller
// is admitted: unless the pull is exact or the server marks nothing.
inline bool MarksWanted(FingerprintMode mode, bool exact) {
  return !exact && mode != FingerprintMode::kOff;
}

// What the caller asked for.
struct DownloadAsk {
  std::string ref;           // NAME[@N|@alias|@sha256:…]
  bool exact = false;        // the original bytes (needs read:exact)
  uint64_t download_id = 0;  // 0 = a new download; else resume that one
};

// An admitted pull and how to deliver it.
struct DownloadPlan {
  Decision decision;              // the one whose budgets are charged
  std::optional<Decision> exact;  // read:exact's, charged too
  VersionInfo version;
  DeliveryOptions delivery;
  Delivery kind = Delivery::kUnmarked;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_DOWNLOAD_PLAN_H_
