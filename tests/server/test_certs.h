// Certificates for TLS tests, made at test time by the `openssl` CLI
// (OpenSSL 3.0) in a temp dir: CAs, leaves signed by a CA (optionally
// already expired), self-signed certificates. Keys are EC P-256,
// unencrypted PEM. Not thread-safe (one TestPki per test).
#ifndef MODELVAULT_TESTS_SERVER_TEST_CERTS_H_
#define MODELVAULT_TESTS_SERVER_TEST_CERTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "testing/temp_dir.h"

namespace mvtesting {

// Paths of a certificate and its key, plus their PEM contents.
struct CertFiles {
  std::string cert_path, key_path;
  std::string cert_pem, key_pem;
};

struct LeafSpec {
  std::string cn;
  std::string san;  // subjectAltName value, e.g.
                    // "URI:spiffe://acme/x,DNS:localhost"; "" = none
  int days = 2;     // validity from now; negative = expired (notAfter < now)
};

class TestPki {
 public:
  TestPki() = default;

  // A self-signed CA certificate with CN `cn`, stored as NAME.pem/NAME.key.
  absl::StatusOr<CertFiles> MakeCa(const std::string& name,
                                   const std::string& cn);
  // A leaf certificate signed by `ca`.
  absl::StatusOr<CertFiles> MakeLeaf(const std::string& name,
                                     const CertFiles& ca, const LeafSpec& spec);
  // A self-signed (non-CA) certificate.
  absl::StatusOr<CertFiles> MakeSelfSigned(const std::string& name,
                                           const LeafSpec& spec);

  const std::string& dir() const { return dir_.path(); }

 private:
  // Runs `command` (a shell line) with its output sent to a log; INTERNAL
  // with the log's contents if it fails.
  absl::Status Run(const std::string& command);
  absl::StatusOr<CertFiles> Load(const std::string& name);

  TempDir dir_;
  int serial_ = 1;
};

// The whole file; "" if it cannot be read.
std::string ReadTextFile(const std::string& path);

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SERVER_TEST_CERTS_H_
