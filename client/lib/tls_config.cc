#include "client/lib/tls_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mvclient {
namespace {

std::string Pick(const std::string& flag, const EnvLookup& env,
                 absl::string_view var) {
  if (!flag.empty()) return flag;
  std::optional<std::string> value = env(var);
  return value.value_or("");
}

// `what` names the setting the way the user gave it ("--cacert").
absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read ", path));
  }
  if (!absl::StrContains(buf.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", path, " is not a PEM file"));
  }
  return buf.str();
}

}  // namespace

TlsFiles ResolveTlsFiles(const TlsFiles& flags, const EnvLookup& env) {
  return TlsFiles{Pick(flags.ca_cert, env, "MODELVAULT_CACERT"),
                  Pick(flags.client_cert, env, "MODELVAULT_CLIENT_CERT"),
                  Pick(flags.client_key, env, "MODELVAULT_CLIENT_KEY")};
}

absl::StatusOr<std::optional<TlsCredentials>> LoadTlsCredentials(
    const TlsFiles& files) {
  if (files.client_cert.empty() != files.client_key.empty()) {
    return absl::InvalidArgumentError(
        files.client_cert.empty()
            ? "--client-key needs --client-cert (or $MODELVAULT_CLIENT_CERT)"
            : "--client-cert needs --client-key (or $MODELVAULT_CLIENT_KEY)");
  }
  if (files.ca_cert.empty()) {
    if (!files.client_cert.empty()) {
      return absl::InvalidArgumentError(
          "--client-cert needs --cacert (or $MODELVAULT_CACERT): TLS is used "
          "only with a CA");
    }
    return std::optional<TlsCredentials>();
  }
  TlsCredentials tls;
  absl::StatusOr<std::string> ca = ReadPem(files.ca_cert, "--cacert");
  if (!ca.ok()) return ca.status();
  tls.root_certs = *std::move(ca);
  if (!files.client_cert.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPem(files.client_cert, "--client-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(files.client_key, "--client-key");
    if (!key.ok()) return key.status();
    tls.cert_chain = *std::move(cert);
    tls.private_key = *std::move(key);
  }
  return std::optional<TlsCredentials>(std::move(tls));
}

}  // namespace mvclient
