// Private to client*.cc: registration of calls in flight with Client, so
// that Client::Cancel() can reach them. Thread-safe through Client::mu_.
#ifndef MODELVAULT_CLIENT_LIB_CLIENT_INTERNAL_H_
#define MODELVAULT_CLIENT_LIB_CLIENT_INTERNAL_H_

#include "client/lib/client.h"

namespace mvclient {

// Registers `ctx` for the lifetime of the guard. If the client was already
// cancelled the call is cancelled at once, so it fails without traffic.
class Client::ActiveCall {
 public:
  ActiveCall(Client& client, grpc::ClientContext& ctx)
      : client_(client), ctx_(ctx) {
    absl::MutexLock lock(&client_.mu_);
    client_.active_.insert(&ctx_);
    if (client_.cancelled_) ctx_.TryCancel();
  }
  ~ActiveCall() {
    absl::MutexLock lock(&client_.mu_);
    client_.active_.erase(&ctx_);
  }
  ActiveCall(const ActiveCall&) = delete;
  ActiveCall& operator=(const ActiveCall&) = delete;

 private:
  Client& client_;
  grpc::ClientContext& ctx_;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_CLIENT_INTERNAL_H_
