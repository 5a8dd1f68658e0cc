#include "audit/checkpoint.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace mv {
namespace {

constexpr size_t kCheckpointSize = 1 + 8 + 32 + 8;

std::string SignedMessage(const Checkpoint& c) {
  return absl::StrCat(std::string(kCheckpointSignContext), EncodeCheckpoint(c));
}

std::string SignedMessage(const ExportEnd& e) {
  std::string from;
  AppendBigEndian64(&from, e.from);
  return absl::StrCat(std::string(kExportEndSignContext), from,
                      EncodeCheckpoint(e.through));
}

absl::Status VerifySigned(std::string_view msg, std::string_view signature,
                          std::string_view public_key, std::string_view what) {
  if (public_key.size() != kPublicKeySize)
    return absl::InvalidArgumentError("public key must be 32 bytes");
  if (signature.size() != kSignatureSize ||
      crypto_sign_verify_detached(AsBytes(signature).data(),
                                  AsBytes(msg).data(), msg.size(),
                                  AsBytes(public_key).data()) != 0) {
    return absl::DataLossError(absl::StrCat("bad ", std::string(what), " signature"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeCheckpoint(const Checkpoint& c) {
  std::string out;
  out.push_back(static_cast<char>(kCheckpointLayoutVersion));
  AppendBigEndian64(&out, c.sequence);
  out.append(c.head);
  AppendBigEndian64(&out, static_cast<uint64_t>(c.time_unix_ms));
  return out;
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(std::string_view in) {
  if (in.empty()) return absl::DataLossError("checkpoint is empty");
  if (static_cast<uint8_t>(in[0]) > kCheckpointLayoutVersion) {
    return absl::FailedPreconditionError(
        "checkpoint layout is newer than this binary");
  }
  if (in[0] != kCheckpointLayoutVersion)
    return absl::DataLossError("checkpoint layout 0 is invalid");
  if (in.size() != kCheckpointSize)
    return absl::DataLossError("checkpoint has the wrong size");
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  Checkpoint c;
  c.sequence = GetBigEndian64(p + 1);
  c.head = std::string(in.substr(9, 32));
  c.time_unix_ms = static_cast<int64_t>(GetBigEndian64(p + 41));
  return c;
}

absl::Status VerifyCheckpoint(const Checkpoint& c, std::string_view signature,
                              std::string_view public_key) {
  if (c.head.size() != 32)
    return absl::DataLossError("checkpoint head must be 32 bytes");
  if (sodium_init() < 0)
    return absl::InternalError("libsodium failed to initialise");
  return VerifySigned(SignedMessage(c), signature, public_key, "checkpoint");
}

std::string FormatPublicKey(std::string_view public_key) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string b64(sodium_base64_encoded_len(public_key.size(), variant), '\0');
  sodium_bin2base64(b64.data(), b64.size(), AsBytes(public_key).data(),
                    public_key.size(), variant);
  b64.resize(std::strlen(b64.c_str()));
  return absl::StrCat(std::string(kPublicKeyPrefix), b64, "\n");
}

absl::StatusOr<std::string> ParsePublicKey(std::string_view text) {
  const absl::Status bad = absl::InvalidArgumentError(
      "not a modelvault audit public key (want \"modelvault-audit-ed25519 "
      "<base64>\")");
  if (text.ends_with('\n')) text.remove_suffix(1);
  if (!text.starts_with(kPublicKeyPrefix)) return bad;
  text.remove_prefix(kPublicKeyPrefix.size());
  uint8_t pk[kPublicKeySize];
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(pk, sizeof pk, text.data(), text.size(), nullptr, &len,
                        &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != kPublicKeySize || end != text.data() + text.size()) {
    return bad;
  }
  std::string out(reinterpret_cast<const char*>(pk), kPublicKeySize);
  if (FormatPublicKey(out) !=
      absl::StrCat(std::string(kPublicKeyPrefix), std::string(text), "\n")) {
    return bad;  // non-canonical base64
  }
  return out;
}

absl::StatusOr<std::unique_ptr<AuditSigningKey>> AuditSigningKey::FromSeedBytes(
    const uint8_t* seed) {
  if (sodium_init() < 0)
    return absl::InternalError("libsodium failed to initialise");
  auto* secret =
      static_cast<uint8_t*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (secret == nullptr)
    return absl::ResourceExhaustedError(
        "cannot allocate secure memory for a key");
  (void)sodium_mlock(secret,
                     crypto_sign_SECRETKEYBYTES);  // best effort, as SecretKey
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(pk, secret, seed);
  return std::unique_ptr<AuditSigningKey>(new AuditSigningKey(
      secret, std::string(reinterpret_cast<const char*>(pk), sizeof pk)));
}

absl::StatusOr<std::unique_ptr<AuditSigningKey>> AuditSigningKey::Generate() {
  if (sodium_init() < 0)
    return absl::InternalError("libsodium failed to initialise");
  absl::StatusOr<SecretKey> seed = SecretKey::Random();
  if (!seed.ok()) return seed.status();
  return FromSeedBytes(seed->data());
}

absl::StatusOr<std::unique_ptr<AuditSigningKey>> AuditSigningKey::FromSeed(
    const SecretKey& seed) {
  static_assert(SecretKey::kSize == crypto_sign_SEEDBYTES);
  return FromSeedBytes(seed.data());
}

AuditSigningKey::~AuditSigningKey() { sodium_free(secret_); }

std::string AuditSigningKey::Sign(const Checkpoint& c) const {
  return SignBytes(SignedMessage(c));
}

std::string AuditSigningKey::Sign(const ExportEnd& e) const {
  return SignBytes(SignedMessage(e));
}

absl::Status VerifyExportEnd(const ExportEnd& e, std::string_view signature,
                             std::string_view public_key) {
  if (e.through.head.size() != 32)
    return absl::DataLossError("export end head must be 32 bytes");
  if (sodium_init() < 0)
    return absl::InternalError("libsodium failed to initialise");
  return VerifySigned(SignedMessage(e), signature, public_key, "export end");
}

std::string AuditSigningKey::SignBytes(std::string_view message) const {
  uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, AsBytes(message).data(), message.size(),
                       secret_);
  return std::string(reinterpret_cast<const char*>(sig), sizeof sig);
}

}  // namespace mv
