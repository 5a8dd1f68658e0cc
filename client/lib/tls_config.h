// Where the client finds its TLS material, and loading it.
//
// Each setting is taken from its flag, else its environment variable:
//   CA bundle           --cacert       > $MODELVAULT_CACERT
//   client certificate  --client-cert  > $MODELVAULT_CLIENT_CERT
//   client key          --client-key   > $MODELVAULT_CLIENT_KEY
// The channel uses TLS exactly when a CA is given; without one it is
// plaintext as before. A client certificate (mTLS) needs its key and a CA.
//
// Pure apart from reading the named files; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_TLS_CONFIG_H_
#define MODELVAULT_CLIENT_LIB_TLS_CONFIG_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/lib/client.h"
#include "client/lib/config.h"

namespace mvclient {

// File paths; "" = not given.
struct TlsFiles {
  std::string ca_cert;
  std::string client_cert;
  std::string client_key;
};

// Applies the precedence above field by field. Empty values count as unset.
TlsFiles ResolveTlsFiles(const TlsFiles& flags, const EnvLookup& env);

// Reads the files: nullopt when no CA is given (plaintext). Errors are
// InvalidArgumentError naming the setting and file: a client certificate
// without its key or the other way round, either without a CA, a file that
// cannot be read, or one that holds no PEM block.
absl::StatusOr<std::optional<TlsCredentials>> LoadTlsCredentials(
    const TlsFiles& files);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_TLS_CONFIG_H_
