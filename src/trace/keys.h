// The MVFP-1 key hierarchy (LEAK_TRACING.md, "Keys and ids"):
//
//   K_model  = crypto_kdf_derive_from_key(K_fp, version_serial, "mvfp_mdl")
//   K_pos    = kdf(K_model, 1, "mvfp_pos")   candidate positions
//   K_bias   = kdf(K_model, 2, "mvfp_bia")   Tardos biases
//   K_code   = kdf(K_model, 3, "mvfp_cod")   per-download codes
//   K_chip   = kdf(K_model, 4, "mvfp_chp")   channel B chips (unused: N_B = 0)
//   K_tag    = kdf(K_model, 5, "mvfp_tag")   channel B tag   (unused)
//   K_decoy  = kdf(K_model, 6, "mvfp_dcy")   never-issued decoy ids
//
// A keystream is randombytes_buf_deterministic(n, seed) with
// seed = kdf(subkey, stream_id, "mvfp_seq"); for K_code the stream id is the
// download id, so seed = kdf(K_code, download_id) as the spec says.
// Distinct subkeys keep the streams independent: knowing a download's code
// says nothing about where the marks are.
//
// Keys live in SecretKey (sodium_malloc'd, wiped). Seeds are wiped after
// use. Immutable after Derive; const methods are thread-safe.
#ifndef MODELVAULT_TRACE_KEYS_H_
#define MODELVAULT_TRACE_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_key.h"

namespace mv {

enum class TraceKeyPurpose : uint8_t {
  kPositions,
  kBiases,
  kCode,
  kChips,
  kTag,
  kDecoys,
};

class TraceKeys {
 public:
  // The keys of version `version_serial` under `fingerprint_master_key`
  // (K_fp). INTERNAL if libsodium cannot initialise; RESOURCE_EXHAUSTED if
  // no secure memory is left.
  static absl::StatusOr<TraceKeys> Derive(
      const SecretKey& fingerprint_master_key, uint64_t version_serial);

  TraceKeys(TraceKeys&&) noexcept = default;
  TraceKeys& operator=(TraceKeys&&) noexcept = default;

  // `n` keystream bytes of stream `stream_id` under the `purpose` subkey.
  std::string Stream(TraceKeyPurpose purpose, uint64_t stream_id,
                     size_t n) const;

 private:
  TraceKeys(SecretKey positions, SecretKey biases, SecretKey code,
            SecretKey chips, SecretKey tag, SecretKey decoys);
  const SecretKey& Key(TraceKeyPurpose purpose) const;

  SecretKey positions_, biases_, code_, chips_, tag_, decoys_;
};

// Little-endian u64 / u16 number `i` of a keystream.
uint64_t StreamU64(const std::string& stream, size_t i);
uint16_t StreamU16(const std::string& stream, size_t i);

}  // namespace mv

#endif  // MODELVAULT_TRACE_KEYS_H_
