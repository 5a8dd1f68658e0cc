// ServerLimits: every resource limit of a modelvaultd gRPC server in one
// struct, and the one function that applies the transport ones to a
// grpc::ServerBuilder. `modelvaultd serve` and the in-process TestServer both
// build their server through ApplyServerLimits, so the tests exercise the
// settings the daemon runs with. The defaults are the daemon's defaults; the
// table in docs/ARCHITECTURE.md ("Limits") lists them with their flags.
//
// What a peer sees at each limit (gRPC 1.51):
//   max_message_bytes         a larger message fails the call
//   RESOURCE_EXHAUSTED max_streams_per_connection  HTTP/2
//   SETTINGS_MAX_CONCURRENT_STREAMS: the
//                             client queues further streams on that
//                             connection until one ends (not an error)
//   max_threads               a call beyond it fails RESOURCE_EXHAUSTED
//                             (gRPC's pollers draw on the same quota)
//   min_ping_interval / max_ping_strikes  a client pinging more often (with
//                             no data moving) gets GOAWAY "too_many_pings"
//                             and its calls on that connection fail
//                             UNAVAILABLE
//   handshake_timeout         a connection that has not completed its TLS
//                             handshake and sent its HTTP/2 preface and
//                             SETTINGS by then is closed
//   max_connection_idle       a connection without calls is closed (GOAWAY)
//   streams.*                 see StreamLimits (server/artifact_service.h)
// Plain data; not synchronised.
#ifndef MODELVAULT_SERVER_SERVER_LIMITS_H_
#define MODELVAULT_SERVER_SERVER_LIMITS_H_

#include <grpcpp/server_builder.h>

#include "absl/time/time.h"
#include "server/artifact_service.h"

namespace mvserver {

struct ServerLimits {
  // 1 MiB chunks plus framing, with room for clients that send bigger pieces.
  int max_message_bytes = 4 << 20;
  // Per-stream receive window. Several chunks let a client keep sending
  // while this side hashes and seals; the 64 KiB default makes a push
  // ping-pong.
  int stream_window_bytes = 8 << 20;
  // Each sync-server call holds a thread.
  int max_threads = 256;
  int max_streams_per_connection = 64;
  absl::Duration min_ping_interval = absl::Seconds(10);
  int max_ping_strikes = 3;
  absl::Duration handshake_timeout = absl::Seconds(10);
  absl::Duration max_connection_idle = absl::Minutes(15);
  // Applied by ArtifactServiceImpl, not by the builder.
  StreamLimits streams;
};

// Sets every transport limit of `limits` on `builder`, plus SO_REUSEPORT off
// (a second server on a busy port must fail to bind, not share it).
// REQUIRES: every field positive.
void ApplyServerLimits(const ServerLimits& limits,
                       grpc::ServerBuilder& builder);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_SERVER_LIMITS_H_
