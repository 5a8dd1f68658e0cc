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
// The record is committed on the service's own worker thread, never on
// gRPC's callback threads (a group commit waits for fdatasync, and a
// blocked callback thread stalls every callback call of the server). At
// most kMaxWaitingCalls calls wait for the worker; one more is answered
// RESOURCE_EXHAUSTED at once, as the sync services answer a call beyond
// their thread quota.
//
// Thread-safe. REQUIRES: the server is shut down before the service is
// destroyed (the destructor answers whatever still waits, then joins).
#ifndef MODELVAULT_SERVER_UNKNOWN_METHOD_SERVICE_H_
#define MODELVAULT_SERVER_UNKNOWN_METHOD_SERVICE_H_

#include <grpcpp/generic/async_generic_service.h>

#include <cstddef>
#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

class UnknownMethodService : public grpc::CallbackGenericService {
 public:
  // Longer paths are cut to this many bytes in the record.
  static constexpr size_t kMaxPathBytes = 256;

  static constexpr size_t kMaxWaitingCalls = 256;

  explicit UnknownMethodService(VaultSlot* slot);
  UnknownMethodService(const UnknownMethodService&) = delete;
  UnknownMethodService& operator=(const UnknownMethodService&) = delete;
  ~UnknownMethodService() override;

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override;

 private:
  struct Call {
    grpc::GenericCallbackServerContext* context;
    grpc::ServerGenericBidiReactor* reactor;
  };
  void Work();
  // Authenticates the call, commits its record; the status to answer.
  grpc::Status Answer(grpc::GenericCallbackServerContext& context);

  VaultSlot* slot_;
  mv::Mutex mu_;
  mv::CondVar wake_;
  std::deque<Call> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;  // started last
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_UNKNOWN_METHOD_SERVICE_H_
