#include "server/listen_address.h"

#include <arpa/inet.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"

namespace mvserver {
namespace {

// Splits "host:port" / "[v6]:port". False if malformed.
bool SplitHostPort(const std::string& address, std::string* host,
                   std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->front() == '[') {
    if (host->size() < 3 || host->back() != ']') return false;
    *host = host->substr(1, host->size() - 2);
  }
  uint32_t number = 0;
  return absl::SimpleAtoi(*port, &number) && number <= 65535;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 &&
         IN6_IS_ADDR_LOOPBACK(&v6);
}

absl::StatusOr<std::string> ReadFlagFile(const char* flag,
                                         const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string message = std::string("cannot read ") + flag + " " + path +
                          ": " + std::strerror(err);
    return err == EACCES ? absl::PermissionDeniedError(message)
                         : absl::NotFoundError(message);
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioFree> MemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Checks what gRPC would otherwise reject with an opaque start-up failure:
// the chain's first certificate, the key, that they match, and the CA.
absl::Status CheckTlsMaterial(const TlsMaterial& tls,
                              const ListenSecurity& flags) {
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(
      MemBio(tls.cert_chain).get(), nullptr, nullptr, nullptr));
  if (!cert)
    return absl::InvalidArgumentError("--tls-cert " + flags.tls_cert +
                                      ": not a PEM certificate");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(PEM_read_bio_PrivateKey(
      MemBio(tls.private_key).get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError("--tls-key " + flags.tls_key +
                                      ": not an unencrypted PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError("--tls-key " + flags.tls_key +
                                      " does not match --tls-cert " +
                                      flags.tls_cert);
  }
  if (!flags.client_ca.empty() &&
      !std::unique_ptr<X509, X509Free>(PEM_read_bio_X509(
          MemBio(tls.client_ca).get(), nullptr, nullptr, nullptr))) {
    return absl::InvalidArgumentError("--client-ca " + flags.client_ca +
                                      ": not a PEM certificate");
  }
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> TlsServerCredentials(
    const TlsMaterial& tls) {
  grpc::SslServerCredentialsOptions options(
      tls.client_ca.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.client_ca;
  options.pem_key_cert_pairs.push_back({tls.private_key, tls.cert_chain});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(
    const std::string& address, const ListenSecurity& security,
    std::string* warning) {
  warning->clear();
  const bool tls = !security.tls_cert.empty() || !security.tls_key.empty();
  if (tls && (security.tls_cert.empty() || security.tls_key.empty())) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key must be given together");
  }
  if (!security.client_ca.empty() && !tls) {
    return absl::InvalidArgumentError(
        "--client-ca requires --tls-cert and --tls-key");
  }
  if (!tls) {
    absl::Status plaintext = CheckPlaintextListenAddress(address);
    if (plaintext.code() == absl::StatusCode::kFailedPrecondition &&
        security.insecure_listen) {
      *warning = "WARNING: serving PLAINTEXT gRPC on non-loopback address " +
                 address +
                 " (--insecure-listen): tokens and model weights cross the "
                 "network unencrypted";
      return grpc::InsecureServerCredentials();
    }
    if (!plaintext.ok()) return plaintext;
    return grpc::InsecureServerCredentials();
  }
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError("invalid --listen address \"" + address +
                                      "\"; use HOST:PORT");
  }
  TlsMaterial material;
  absl::StatusOr<std::string> cert =
      ReadFlagFile("--tls-cert", security.tls_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFlagFile("--tls-key", security.tls_key);
  if (!key.ok()) return key.status();
  material.cert_chain = *std::move(cert);
  material.private_key = *std::move(key);
  if (!security.client_ca.empty()) {
    absl::StatusOr<std::string> ca =
        ReadFlagFile("--client-ca", security.client_ca);
    if (!ca.ok()) return ca.status();
    material.client_ca = *std::move(ca);
  }
  if (absl::Status s = CheckTlsMaterial(material, security); !s.ok()) return s;
  return TlsServerCredentials(material);
}

absl::Status CheckPlaintextListenAddress(const std::string& address) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError("invalid --listen address \"" + address +
                                      "\"; use HOST:PORT");
  }
  if (!IsLoopback(host)) {
    return absl::FailedPreconditionError(
        "refusing to serve plaintext gRPC on non-loopback address " + address +
        "; use 127.0.0.1, give --tls-cert/--tls-key, or force plaintext with "
        "--insecure-listen");
  }
  return absl::OkStatus();
}

std::string WithPort(const std::string& address, int port) {
  return address.substr(0, address.rfind(':') + 1) + std::to_string(port);
}

}  // namespace mvserver
