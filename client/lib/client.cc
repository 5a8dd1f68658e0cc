// Client: connection, unary calls, cancellation. Transfers live in
// client_transfer.cc.
#include "client/lib/client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <malloc.h>

#include "absl/strings/str_cat.h"
#include "client/lib/client_internal.h"
#include "client/lib/grpc_status.h"

namespace mvclient {
namespace {

using modelvault::v1::ArtifactService;
using modelvault::v1::Version;

// Room for a 1 MiB chunk plus framing; gRPC's 4 MiB default would also do,
// but the limit documents what we expect.
constexpr int kMaxReceiveBytes = 8 << 20;

absl::Status Unreachable(const std::string& address, absl::string_view why) {
  return absl::UnavailableError(
      absl::StrCat("cannot reach modelvault server at ", address, why));
}

// Waits for READY; gives up at once on TRANSIENT_FAILURE (connection
// refused) instead of sitting through gRPC's reconnect backoff.
absl::Status WaitUntilConnected(grpc::Channel& channel,
                                const ConnectionOptions& options) {
  absl::Time deadline = absl::Now() + options.connect_timeout;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      // With TLS a refused handshake (wrong CA, name mismatch, client
      // certificate required) looks the same as a refused connection.
      return Unreachable(options.address,
                         options.tls.has_value()
                             ? " (connection or TLS handshake failed)"
                             : "");
    }
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return Unreachable(options.address, " (connect timed out)");
    }
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(
    const ConnectionOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("no server address");
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (options.tls.has_value()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls->root_certs;
    ssl.pem_cert_chain = options.tls->cert_chain;
    ssl.pem_private_key = options.tls->private_key;
    credentials = grpc::SslCredentials(ssl);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, credentials, args);
  if (absl::Status s = WaitUntilConnected(*channel, options); !s.ok()) {
    return s;
  }
  return std::unique_ptr<Client>(new Client(options, std::move(channel)));
}

Client::Client(ConnectionOptions options,
               std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(ArtifactService::NewStub(channel_)) {}

void Client::Prepare(grpc::ClientContext& ctx, bool unary) const {
  if (!options_.token.empty()) {
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
  if (unary) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.unary_deadline));
  }
}

void Client::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
}

absl::Status Client::Explain(absl::Status status, bool watchdog_fired) const {
  if (status.ok()) return status;
  if (watchdog_fired) {
    return absl::DeadlineExceededError(
        absl::StrCat("transfer stalled: no data moved for ",
                     absl::FormatDuration(options_.stream_idle_timeout)));
  }
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return absl::CancelledError("interrupted");
  }
  if (absl::IsUnavailable(status) &&
      channel_->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    return Unreachable(options_.address, absl::StrCat(": ", status.message()));
  }
  return status;
}

template <typename Req, typename Resp>
absl::StatusOr<Resp> Client::CallUnary(
    grpc::Status (ArtifactService::Stub::*method)(grpc::ClientContext*,
                                                  const Req&, Resp*),
    const Req& request) {
  grpc::ClientContext ctx;
  Prepare(ctx, /*unary=*/true);
  ActiveCall active(*this, ctx);
  Resp response;
  absl::Status status =
      FromGrpcStatus((stub_.get()->*method)(&ctx, request, &response));
  if (!status.ok()) return Explain(status, false);
  return response;
}

absl::StatusOr<Version> Client::Get(const std::string& ref) {
  modelvault::v1::GetVersionRequest req;
  req.set_ref(ref);
  return CallUnary(&ArtifactService::Stub::GetVersion, req);
}

absl::StatusOr<modelvault::v1::ListVersionsResponse> Client::List(
    const std::string& prefix, uint32_t page_size,
    const std::string& page_token) {
  modelvault::v1::ListVersionsRequest req;
  req.set_prefix(prefix);
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  return CallUnary(&ArtifactService::Stub::ListVersions, req);
}

absl::StatusOr<std::vector<Version>> Client::ListAll(
    const std::string& prefix) {
  std::vector<Version> all;
  std::string token;
  do {
    auto page = List(prefix, 0, token);
    if (!page.ok()) return page.status();
    for (Version& v : *page->mutable_versions()) all.push_back(std::move(v));
    if (!page->next_page_token().empty() && page->next_page_token() == token) {
      return absl::InternalError("server repeated a list page token");
    }
    token = page->next_page_token();
  } while (!token.empty());
  return all;
}

absl::StatusOr<modelvault::v1::DeleteVersionResponse> Client::Delete(
    const std::string& ref) {
  modelvault::v1::DeleteVersionRequest req;
  req.set_ref(ref);
  return CallUnary(&ArtifactService::Stub::DeleteVersion, req);
}

absl::StatusOr<Version> Client::SetAlias(const std::string& ref,
                                         const std::string& alias) {
  modelvault::v1::SetAliasRequest req;
  req.set_ref(ref);
  req.set_alias(alias);
  auto resp = CallUnary(&ArtifactService::Stub::SetAlias, req);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_version());
}

absl::Status Client::DeleteAlias(const std::string& name,
                                 const std::string& alias) {
  modelvault::v1::DeleteAliasRequest req;
  req.set_name(name);
  req.set_alias(alias);
  return CallUnary(&ArtifactService::Stub::DeleteAlias, req).status();
}

void TuneAllocatorForTransfers() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace mvclient
