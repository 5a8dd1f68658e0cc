// The one place where core statuses become gRPC statuses (codes are
// numerically identical; messages pass through unchanged).
#ifndef MODELVAULT_SERVER_STATUS_MAPPING_H_
#define MODELVAULT_SERVER_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace mvserver {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace mvserver

// In a handler: `MV_GRPC_ASSIGN_OR_RETURN(auto x, CoreCall());` returns the
// mapped gRPC status on error.
#define MV_GRPC_CONCAT_INNER_(a, b) a##b
#define MV_GRPC_CONCAT_(a, b) MV_GRPC_CONCAT_INNER_(a, b)
#define MV_GRPC_ASSIGN_OR_RETURN(lhs, expr)                                   \
  MV_GRPC_ASSIGN_OR_RETURN_IMPL_(MV_GRPC_CONCAT_(mv_grpc_or_, __LINE__), lhs, \
                                 expr)
#define MV_GRPC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)          \
  auto tmp = (expr);                                            \
  if (!tmp.ok()) return ::mvserver::ToGrpcStatus(tmp.status()); \
  lhs = std::move(tmp).value()
#define MV_GRPC_RETURN_IF_ERROR(expr)             \
  do {                                            \
    if (absl::Status mv_s_ = (expr); !mv_s_.ok()) \
      return ::mvserver::ToGrpcStatus(mv_s_);     \
  } while (0)

#endif  // MODELVAULT_SERVER_STATUS_MAPPING_H_
