#include "client/lib/operator_client.h"

#include <grpcpp/channel.h>
#include <openssl/crypto.h>

#include <utility>

#include "client/lib/client_internal.h"
#include "client/lib/grpc_status.h"

namespace mvclient {
namespace {

namespace v1 = modelvault::v1;

SealState FromProto(const v1::SealState& s) {
  return SealState{s.sealed(), s.unlock(),   s.threshold(),
                   s.shares(), s.progress(), s.progress_expires_at_unix_ms()};
}

absl::StatusOr<SealState> ToState(absl::StatusOr<v1::SealState> resp) {
  if (!resp.ok()) return resp.status();
  return FromProto(*resp);
}

}  // namespace

OperatorClient::OperatorClient(std::shared_ptr<Client> client)
    : client_(std::move(client)),
      stub_(v1::OperatorService::NewStub(client_->channel_)) {}

template <typename Req, typename Resp>
absl::StatusOr<Resp> OperatorClient::Call(
    grpc::Status (v1::OperatorService::Stub::*method)(grpc::ClientContext*,
                                                      const Req&, Resp*),
    const Req& request) {
  grpc::ClientContext ctx;
  client_->Prepare(ctx, /*unary=*/true);
  Client::ActiveCall active(*client_, ctx);
  Resp response;
  absl::Status status =
      FromGrpcStatus(((*stub_).*method)(&ctx, request, &response));
  if (!status.ok()) return client_->Explain(status, false);
  return response;
}

absl::StatusOr<SealState> OperatorClient::Unseal(const std::string& key) {
  v1::UnsealRequest request;
  request.set_key(key);
  absl::StatusOr<SealState> state =
      ToState(Call(&v1::OperatorService::Stub::Unseal, request));
  std::string* copy = request.mutable_key();
  OPENSSL_cleanse(copy->data(), copy->size());
  return state;
}

absl::StatusOr<SealState> OperatorClient::ResetUnseal() {
  v1::UnsealRequest request;
  request.set_reset(true);
  return ToState(Call(&v1::OperatorService::Stub::Unseal, request));
}

absl::StatusOr<SealState> OperatorClient::Seal() {
  absl::StatusOr<v1::SealResponse> resp =
      Call(&v1::OperatorService::Stub::Seal, v1::SealRequest());
  if (!resp.ok()) return resp.status();
  return FromProto(resp->state());
}

absl::StatusOr<SealState> OperatorClient::Status() {
  return ToState(
      Call(&v1::OperatorService::Stub::SealStatus, v1::SealStatusRequest()));
}

}  // namespace mvclient
