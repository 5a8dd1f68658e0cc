#include "trace/keys.h"

#include <sodium.h>

#include <array>
#include <utility>

#include "common/status_macros.h"

namespace mv {
namespace {

static_assert(crypto_kdf_KEYBYTES == SecretKey::kSize);
static_assert(crypto_kdf_CONTEXTBYTES == 8);
static_assert(randombytes_SEEDBYTES == 32);

// kdf(key, id, context) into a fresh SecretKey; the stack copy is wiped.
absl::StatusOr<SecretKey> DeriveKey(const uint8_t* key, uint64_t id,
                                    const char (&context)[9]) {
  std::array<uint8_t, SecretKey::kSize> out;
  if (crypto_kdf_derive_from_key(out.data(), out.size(), id, context, key) !=
      0) {
    return absl::InternalError("trace: key derivation failed");
  }
  absl::StatusOr<SecretKey> derived = SecretKey::FromBytes(out);
  sodium_memzero(out.data(), out.size());
  return derived;
}

}  // namespace

absl::StatusOr<TraceKeys> TraceKeys::Derive(
    const SecretKey& fingerprint_master_key, uint64_t version_serial) {
  if (sodium_init() < 0) {
    return absl::InternalError("libsodium failed to initialise");
  }
  MV_ASSIGN_OR_RETURN(SecretKey model, DeriveKey(fingerprint_master_key.data(),
                                                 version_serial, "mvfp_mdl"));
  MV_ASSIGN_OR_RETURN(SecretKey positions,
                      DeriveKey(model.data(), 1, "mvfp_pos"));
  MV_ASSIGN_OR_RETURN(SecretKey biases, DeriveKey(model.data(), 2, "mvfp_bia"));
  MV_ASSIGN_OR_RETURN(SecretKey code, DeriveKey(model.data(), 3, "mvfp_cod"));
  MV_ASSIGN_OR_RETURN(SecretKey chips, DeriveKey(model.data(), 4, "mvfp_chp"));
  MV_ASSIGN_OR_RETURN(SecretKey tag, DeriveKey(model.data(), 5, "mvfp_tag"));
  MV_ASSIGN_OR_RETURN(SecretKey decoys, DeriveKey(model.data(), 6, "mvfp_dcy"));
  return TraceKeys(std::move(positions), std::move(biases), std::move(code),
                   std::move(chips), std::move(tag), std::move(decoys));
}

TraceKeys::TraceKeys(SecretKey positions, SecretKey biases, SecretKey code,
                     SecretKey chips, SecretKey tag, SecretKey decoys)
    : positions_(std::move(positions)),
      biases_(std::move(biases)),
      code_(std::move(code)),
      chips_(std::move(chips)),
      tag_(std::move(tag)),
      decoys_(std::move(decoys)) {}

const SecretKey& TraceKeys::Key(TraceKeyPurpose purpose) const {
  switch (purpose) {
    case TraceKeyPurpose::kPositions:
      return positions_;
    case TraceKeyPurpose::kBiases:
      return biases_;
    case TraceKeyPurpose::kCode:
      return code_;
    case TraceKeyPurpose::kChips:
      return chips_;
    case TraceKeyPurpose::kTag:
      return tag_;
    case TraceKeyPurpose::kDecoys:
      break;
  }
  return decoys_;
}

std::string TraceKeys::Stream(TraceKeyPurpose purpose, uint64_t stream_id,
                              size_t n) const {
  std::array<uint8_t, randombytes_SEEDBYTES> seed;
  // Cannot fail: the output length and context are valid constants.
  crypto_kdf_derive_from_key(seed.data(), seed.size(), stream_id, "mvfp_seq",
                             Key(purpose).data());
  std::string out(n, '\0');
  randombytes_buf_deterministic(out.data(), n, seed.data());
  sodium_memzero(seed.data(), seed.size());
  return out;
}

uint64_t StreamU64(const std::string& stream, size_t i) {
  uint64_t v = 0;
  for (int b = 7; b >= 0; --b)
    v = v << 8 | static_cast<uint8_t>(stream[8 * i + b]);
  return v;
}

uint16_t StreamU16(const std::string& stream, size_t i) {
  return static_cast<uint16_t>(static_cast<uint8_t>(stream[2 * i]) |
                               static_cast<uint8_t>(stream[2 * i + 1]) << 8);
}

}  // namespace mv
