// Listen address and transport security. Plaintext gRPC is allowed on
// loopback only, unless forced with --insecure-listen (with a warning); TLS
// (--tls-cert/--tls-key) may listen anywhere, and --client-ca makes it
// mutual: a client certificate is then required and verified against that CA
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY). Client
// certificates are never requested without verification, so any certificate
// identity a call carries (server/call_auth.h) has been verified.
// Thread-safe.
#ifndef MODELVAULT_SERVER_LISTEN_ADDRESS_H_
#define MODELVAULT_SERVER_LISTEN_ADDRESS_H_

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mvserver {

// OK for 127.0.0.0/8, [::1] and localhost with a port; INVALID_ARGUMENT for
// a malformed address, FAILED_PRECONDITION for a non-loopback host.
absl::Status CheckPlaintextListenAddress(const std::string& address);
// "127.0.0.1:0" + 4242 → "127.0.0.1:4242".
std::string WithPort(const std::string& address, int port);

// PEM contents of the server's TLS material.
struct TlsMaterial {
  std::string cert_chain, private_key;
  std::string client_ca;  // "" = no client certificates (server-side TLS only)
};
// Server credentials for `tls`; mutual TLS when client_ca is set.
std::shared_ptr<grpc::ServerCredentials> TlsServerCredentials(
    const TlsMaterial& tls);

// The serve command's transport flags (file paths).
struct ListenSecurity {
  std::string tls_cert, tls_key, client_ca;
  bool insecure_listen = false;
};

// Decides the credentials for listening on `address`. Errors (one line,
// naming the flag): --tls-cert without --tls-key or the reverse, --client-ca
// without both (INVALID_ARGUMENT); an unreadable file (NOT_FOUND /
// PERMISSION_DENIED with the OS reason); a file that is not the PEM it should
// be, or a key that does not match the certificate (INVALID_ARGUMENT);
// plaintext on a non-loopback address without insecure_listen
// (FAILED_PRECONDITION). `*warning` is set, and must be shown, when plaintext
// is forced onto a non-loopback address.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const std::string& address, const ListenSecurity& security,
    std::string* warning);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_LISTEN_ADDRESS_H_
