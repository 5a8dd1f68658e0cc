// mvclient::OperatorClient — the seal state of a server
// (proto/modelvault/v1/operator.proto: OperatorService).
//
// Runs over the channel, metadata, deadline and cancellation of an existing
// Client, like AccessClient. While the vault is sealed Unseal and Status need
// no token (the Client may have none); Seal needs admin:seal.
//
// Errors are the server's codes unchanged: UNAVAILABLE (sealed, for Seal),
// INVALID_ARGUMENT (a malformed key, another vault's key, keys that combine
// to a wrong key), RESOURCE_EXHAUSTED (too many refused keys from this
// address), FAILED_PRECONDITION (sealing a key-file vault or a sealed one).
//
// Thread-safety: as Client.
#ifndef MODELVAULT_CLIENT_LIB_OPERATOR_CLIENT_H_
#define MODELVAULT_CLIENT_LIB_OPERATOR_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/lib/client.h"
#include "modelvault/v1/operator.grpc.pb.h"

namespace mvclient {

struct SealState {
  bool sealed = false;
  std::string unlock;  // "shares" | "key-file"
  uint32_t threshold = 0, shares = 0, progress = 0;
  int64_t progress_expires_at_unix_ms = 0;  // 0 = no keys given
};

class OperatorClient {
 public:
  // REQUIRES: client != nullptr. Shares ownership of `client`.
  explicit OperatorClient(std::shared_ptr<Client> client);

  // Gives one unseal key (never logged; the caller wipes its copy).
  absl::StatusOr<SealState> Unseal(const std::string& key);
  // Discards the keys given so far.
  absl::StatusOr<SealState> ResetUnseal();
  absl::StatusOr<SealState> Seal();
  absl::StatusOr<SealState> Status();

 private:
  template <typename Req, typename Resp>
  absl::StatusOr<Resp> Call(
      grpc::Status (modelvault::v1::OperatorService::Stub::*method)(
          grpc::ClientContext*, const Req&, Resp*),
      const Req& request);

  std::shared_ptr<Client> client_;
  std::unique_ptr<modelvault::v1::OperatorService::Stub> stub_;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_OPERATOR_CLIENT_H_
