// Listen address checks. Plaintext gRPC is allowed only on loopback until TLS
// arrives with [access]. Pure; thread-safe.
#ifndef MODELVAULT_SERVER_LISTEN_ADDRESS_H_
#define MODELVAULT_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/status.h"

namespace mvserver {

// OK for 127.0.0.0/8, [::1] and localhost with a port; INVALID_ARGUMENT for
// a malformed address, FAILED_PRECONDITION for a non-loopback host.
absl::Status CheckPlaintextListenAddress(const std::string& address);
// "127.0.0.1:0" + 4242 → "127.0.0.1:4242".
std::string WithPort(const std::string& address, int port);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_LISTEN_ADDRESS_H_
