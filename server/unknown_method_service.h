// UnknownMethodService: answers every call to a method no service
// implements, so that such a call, too, leaves an audit record (DESIGN.md
// §6: a record for every request). Without it gRPC answers UNIMPLEMENTED
// itself, and no code of ours sees the call.
//
// The caller is authenticated like any other call: no valid credentials is
// UNAUTHENTICATED; otherwise UNIMPLEMENTED, "unknown method PATH". Either
// way the record (method = the path as sent, at most kMaxPathBytes) is
// committed before the answer leaves, and a record that cannot be written
// makes the answer UNAVAILABLE (fail closed, as everywhere).
//
// Thread-safety: gRPC calls CreateReactor from its callback threads; the
// service holds nothing but the vault (thread-safe).
#ifndef MODELVAULT_SERVER_UNKNOWN_METHOD_SERVICE_H_
#define MODELVAULT_SERVER_UNKNOWN_METHOD_SERVICE_H_

#include <grpcpp/generic/async_generic_service.h>

#include <cstddef>

#include "vault/vault.h"

namespace mvserver {

class UnknownMethodService : public grpc::CallbackGenericService {
 public:
  // Longer paths are cut to this many bytes in the record.
  static constexpr size_t kMaxPathBytes = 256;

  explicit UnknownMethodService(mv::Vault* vault) : vault_(vault) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  mv::Vault* vault_;
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_UNKNOWN_METHOD_SERVICE_H_
