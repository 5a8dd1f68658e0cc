#include "audit/shred_certificate.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {
namespace {

constexpr std::string_view kKind = "modelvault shred certificate";
constexpr int kFormat = 1;

nlohmann::json ToJson(const ShredFacts& f) {
  return {{"kind", kKind},
          {"format", kFormat},
          {"version", f.version},
          {"version_id", f.version_id},
          {"sha256", f.sha256_hex},
          {"size", f.size},
          {"deleted_at_unix_ms", f.deleted_at_unix_ms},
          {"principal", f.principal},
          {"audit_sequence", f.audit_sequence},
          {"data_key", "destroyed"}};
}

absl::Status NotACertificate(std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("not a modelvault shred certificate: ", std::string(why)));
}

}  // namespace

ShredCertificate SignShredCertificate(const AuditSigningKey& key,
                                      const ShredFacts& facts) {
  ShredCertificate c;
  c.json = ToJson(facts).dump();
  c.signature = key.SignBytes(std::string(kShredSignContext) + c.json);
  return c;
}

std::string ShredCertificateFile(const ShredCertificate& certificate) {
  nlohmann::json file = {
      {"certificate", nlohmann::json::parse(certificate.json)},
      {"signature", absl::BytesToHexString(certificate.signature)}};
  return file.dump(2) + "\n";
}

absl::StatusOr<ShredFacts> VerifyShredCertificateFile(
    std::string_view file_text, std::string_view public_key) {
  nlohmann::json file = nlohmann::json::parse(file_text, nullptr, false);
  if (file.is_discarded() || !file.is_object())
    return NotACertificate("not a JSON object");
  if (!file.contains("certificate") || !file["certificate"].is_object() ||
      !file.contains("signature") || !file["signature"].is_string())
    return NotACertificate("needs \"certificate\" and \"signature\"");
  const nlohmann::json& cert = file["certificate"];
  const std::string hex = file["signature"];
  if (hex.size() != 2 * kSignatureSize ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos)
    return NotACertificate("the signature is not 128 lowercase hex digits");
  ShredFacts f;
  try {
    if (cert.at("kind") != kKind || cert.at("format") != kFormat)
      return NotACertificate("unknown kind or format");
    f.version = cert.at("version");
    f.version_id = cert.at("version_id");
    f.sha256_hex = cert.at("sha256");
    f.size = cert.at("size");
    f.deleted_at_unix_ms = cert.at("deleted_at_unix_ms");
    f.principal = cert.at("principal");
    f.audit_sequence = cert.at("audit_sequence");
  } catch (const nlohmann::json::exception& e) {
    return NotACertificate(e.what());
  }
  if (public_key.size() != kPublicKeySize)
    return absl::InvalidArgumentError("public key must be 32 bytes");
  // The signed bytes are the certificate as the vault dumped it; any edit,
  // even one that keeps the JSON valid, changes them.
  const std::string message = std::string(kShredSignContext) + cert.dump();
  const std::string signature = absl::HexStringToBytes(hex);
  if (crypto_sign_verify_detached(AsBytes(signature).data(),
                                  AsBytes(message).data(), message.size(),
                                  AsBytes(public_key).data()) != 0) {
    return absl::DataLossError(
        "the shred certificate's signature does not verify (edited, or "
        "signed by another vault's key)");
  }
  if (ToJson(f) != cert) return NotACertificate("unexpected fields");
  return f;
}

}  // namespace mv
