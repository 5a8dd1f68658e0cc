#include "server/server_limits.h"

#include <grpcpp/resource_quota.h>

namespace mvserver {
namespace {

int Millis(absl::Duration d) {
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

}  // namespace

void ApplyServerLimits(const ServerLimits& limits,
                       grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(limits.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES,
                             limits.stream_window_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             limits.max_streams_per_connection);
  // gRPC sets SO_REUSEPORT by default: a second server on a busy port would
  // bind and silently share its connections. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Pings while no data moves count as strikes when closer together than
  // this (on a connection without calls, gRPC allows one per two hours).
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      Millis(limits.min_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES,
                             limits.max_ping_strikes);
  // Covers the TLS handshake and, after it, the wait for the client's HTTP/2
  // preface and SETTINGS frame (chttp2 server, gRPC 1.51); the default is
  // 120 s, long enough for silent connections to pile up.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Millis(limits.handshake_timeout));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             Millis(limits.max_connection_idle));
  // The builder keeps its own reference to the quota.
  grpc::ResourceQuota quota("modelvaultd");
  quota.SetMaxThreads(limits.max_threads);
  builder.SetResourceQuota(quota);
}

}  // namespace mvserver
