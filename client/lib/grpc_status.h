// The one translation between gRPC and Abseil status values on the client.
//
// grpc::StatusCode and absl::StatusCode share their numbering (both follow
// google.rpc.Code), so the code is carried over unchanged and the server's
// message is kept verbatim. Stateless; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_GRPC_STATUS_H_
#define MODELVAULT_CLIENT_LIB_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace mvclient {

// Returns OkStatus() for an OK grpc status, otherwise a status with the same
// code number and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_GRPC_STATUS_H_
