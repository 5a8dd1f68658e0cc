// Unseal shares: the master key (KEK) of a sealed vault split by Shamir's
// secret sharing over GF(2^8) (Debian's libgfshare), so that any `threshold`
// of `shares` unseal keys rebuild it and fewer reveal nothing about it.
//
// Share text (what `modelvaultd init --key-shares` prints, one per line):
//
//   mvshare1-<tag:8 hex>-<index:1..255 decimal>-<payload:64 hex>-<check:8 hex>
//
//   tag      first 4 bytes of BLAKE2b-256 keyed by the KEK over kTagLabel:
//            names the vault (its key), so a share of another vault is
//            refused before it is combined. It reveals nothing useful about
//            the key (the key check value in meta is a longer keyed hash).
//   index    the share's x coordinate (never 0: that point is the secret).
//   payload  the share's 32 y bytes.
//   check    first 4 bytes of BLAKE2b-256 (unkeyed) over the text before
//            "-<check>": a typo in any part is caught per share.
//
// Seal file (kSealFileName in the data dir, written by init, read by serve
// before any key exists): one line, no secret in it,
//
//   mvseal1 shares=<N> threshold=<M> tag=<8 hex>\n
//
// Tampering with it does not help an attacker: a lower threshold or another
// tag only yields a combined key whose tag (and then whose key check value,
// proved by Vault::Open) is wrong, and the vault stays sealed.
//
// Secrets (share payloads, the combined key) are wiped with sodium_memzero;
// the combined key is a SecretKey (sodium_malloc'd, wiped on destruction).
// Thread-safe: pure functions over their arguments (the files aside).
#ifndef MODELVAULT_CRYPTO_UNSEAL_SHARES_H_
#define MODELVAULT_CRYPTO_UNSEAL_SHARES_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secret_key.h"

namespace mv {

inline constexpr std::string_view kSharePrefix = "mvshare1";
inline constexpr std::string_view kTagLabel = "modelvault unseal share tag v1";
inline constexpr std::string_view kSealFileName = "unseal.conf";
inline constexpr uint32_t kMaxShares = 255;

// What the seal file records.
struct SealConfig {
  uint32_t shares = 0;     // N, 1..255
  uint32_t threshold = 0;  // M, 1..N, ≥ 2 unless N = 1
  std::string tag;         // 8 lowercase hex characters
};

// One parsed share. The payload is secret: ~UnsealShare wipes it.
class UnsealShare {
 public:
  UnsealShare() = default;
  UnsealShare(const UnsealShare& other) = default;
  UnsealShare& operator=(const UnsealShare& other) = default;
  ~UnsealShare();

  std::string tag;  // 8 hex
  uint8_t index = 0;
  std::array<uint8_t, SecretKey::kSize> payload{};
};

// INVALID_ARGUMENT naming the rule unless 1 ≤ threshold ≤ shares ≤ 255 and
// threshold ≥ 2 when shares > 1.
absl::Status ValidateSealConfig(uint32_t shares, uint32_t threshold);

// The vault tag of `kek` (8 lowercase hex characters).
std::string ShareTag(const SecretKey& kek);

// Splits `kek` into `shares` share texts (indexes 1..shares), any
// `threshold` of which rebuild it. INVALID_ARGUMENT as ValidateSealConfig.
absl::StatusOr<std::vector<std::string>> SplitKey(const SecretKey& kek,
                                                  uint32_t shares,
                                                  uint32_t threshold);

// Parses one share text (surrounding whitespace ignored). INVALID_ARGUMENT
// "not an unseal key ..." for the wrong shape, "unseal key checksum
// mismatch (typo?)" when the check fails. Never echoes the input.
absl::StatusOr<UnsealShare> ParseShare(std::string_view text);

// Rebuilds the key from `shares` (distinct indexes, same tag). Fewer than
// the threshold give a wrong key, which only the tag and the key check value
// can tell. INVALID_ARGUMENT for none, duplicate indexes or mixed tags.
absl::StatusOr<SecretKey> CombineShares(std::span<const UnsealShare> shares);

// The seal file's line for `config`, and its parse (INVALID_ARGUMENT naming
// the defect).
std::string FormatSealConfig(const SealConfig& config);
absl::StatusOr<SealConfig> ParseSealConfig(std::string_view text);

// DATA_DIR/kSealFileName: written new (O_EXCL, mode 0600, fsynced), read
// back (NOT_FOUND if absent: the vault uses a key file).
absl::Status WriteSealConfig(const std::string& data_dir,
                             const SealConfig& config);
absl::StatusOr<SealConfig> ReadSealConfig(const std::string& data_dir);

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_UNSEAL_SHARES_H_
