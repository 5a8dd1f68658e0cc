#include "server/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"

namespace mvserver {
namespace {

// Splits "host:port" / "[v6]:port". False if malformed.
bool SplitHostPort(const std::string& address, std::string* host, std::string* port) {
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
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

absl::Status CheckPlaintextListenAddress(const std::string& address) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) {
    return absl::InvalidArgumentError("invalid --listen address \"" + address + "\"; use HOST:PORT");
  }
  if (!IsLoopback(host)) {
    return absl::FailedPreconditionError(
        "refusing to serve plaintext gRPC on non-loopback address " + address +
        "; use 127.0.0.1 (TLS for remote clients is not available yet)");
  }
  return absl::OkStatus();
}

std::string WithPort(const std::string& address, int port) {
  return address.substr(0, address.rfind(':') + 1) + std::to_string(port);
}

}  // namespace mvserver
