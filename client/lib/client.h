// mvclient::Client — the C++ client of modelvault's ArtifactService.
//
// Wraps the synchronous gRPC stubs: every call sends the bearer token as
// `authorization: Bearer <token>` metadata (none when the token is empty, as
// with a client certificate alone) and returns absl::Status codes
// numerically equal to the gRPC ones (see grpc_status.h). The channel is
// plaintext, or TLS when ConnectionOptions::tls is set. AccessClient
// (access_client.h) makes the identity and admin calls over the same channel.
//
// Deadlines: unary calls get `unary_deadline`. Streams (push/pull) have no
// total deadline, because their length is unbounded, but a watchdog cancels
// them after `stream_idle_timeout` without a message moving and the call
// returns DEADLINE_EXCEEDED (see common/idle_watchdog.h).
//
// Integrity: pushes send the SHA-256 of everything sent and check the digest
// the server recorded; pulls verify size and SHA-256 before a file appears
// (see download_pipeline.h). Failures are DATA_LOSS.
//
// Thread-safety: a Client may be shared by threads; each call is
// independent. Cancel() may be called from any thread (e.g. a signal-waiting
// thread) and fails every call in flight and every later call with
// CANCELLED ("interrupted").
#ifndef MODELVAULT_CLIENT_LIB_CLIENT_H_
#define MODELVAULT_CLIENT_LIB_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/lib/byte_sink.h"
#include "client/lib/transfer.h"
#include "modelvault/v1/artifact.grpc.pb.h"

namespace mvclient {

// PEM contents (not paths) for a TLS channel. The server certificate must
// chain to `root_certs` and name the host of the address (SAN DNS or IP).
struct TlsCredentials {
  std::string root_certs;   // CA bundle; required
  std::string cert_chain;   // client certificate (mTLS); "" = none
  std::string private_key;  // its key; "" = none. Never logged.
};

struct ConnectionOptions {
  std::string address;  // host:port, e.g. "127.0.0.1:7070"
  std::string token;    // bearer token (mvt_...); "" = send none; never logged
  std::optional<TlsCredentials> tls = std::nullopt;  // nullopt = plaintext
  absl::Duration unary_deadline = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration stream_idle_timeout = absl::Seconds(60);
  // A push of a file the server refused as "server busy" (its header memory
  // is in use by other pushes; nothing was stored) is sent again this many
  // times, waiting busy_backoff, then twice that, and so on (with jitter).
  int busy_retries = 4;
  absl::Duration busy_backoff = absl::Milliseconds(500);
};

struct PushOptions {
  std::map<std::string, std::string> labels;
  std::vector<std::string> aliases;  // set atomically with the new version
  // UNSPECIFIED: the server detects the format from the content and refuses
  // a malformed safetensors/GGUF file; BLOB stores any bytes unparsed (and
  // unmarked); SAFETENSORS/GGUF refuse anything else.
  modelvault::v1::Format format = modelvault::v1::FORMAT_UNSPECIFIED;
};

// How a download is delivered (artifact.proto DownloadRequest).
struct DownloadOptions {
  bool exact = false;        // the original bytes (needs read:exact)
  uint64_t download_id = 0;  // resume/extend this earlier download; 0 = new
};

struct PullOptions {
  bool overwrite = false;  // replace an existing destination file
  DownloadOptions download;
};

// What TraceService.Trace answered: the signed report (trace.proto).
struct TraceResult {
  std::string report_json;  // the exact signed bytes
  std::string signature;    // Ed25519, 64 bytes
  std::string public_key;   // 32 bytes
  std::string verdict;      // "attributed" | "suspect" | "none"
  std::string artifact;     // "NAME@N"
};

class Client {
 public:
  // Opens a channel and waits until it is connected. UNAVAILABLE ("cannot
  // reach modelvault server at ADDR") if it cannot connect within
  // connect_timeout or the server refuses connections.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const ConnectionOptions& options);

  // Uploads the file at `path` as a new version of `name`; returns it. A
  // regular file refused as "server busy" is sent again from its start
  // (ConnectionOptions::busy_retries); any other refusal is returned.
  absl::StatusOr<modelvault::v1::Version> Push(const std::string& path,
                                               const std::string& name,
                                               const PushOptions& options,
                                               const ProgressFn& progress = {});

  // Uploads everything readable from `fd` (e.g. 0 for stdin) until EOF.
  // Does not close `fd`. `size_hint` (0 = unknown) feeds progress and, when
  // non-zero, is sent as the expected size that the server enforces.
  absl::StatusOr<modelvault::v1::Version> PushFd(
      int fd, uint64_t size_hint, const std::string& name,
      const PushOptions& options, const ProgressFn& progress = {});

  // Downloads `ref` to `dest` ("-" = stdout) and returns its version. A file
  // is written as DEST.partial and renamed only after verification; on any
  // failure nothing is left at DEST or DEST.partial. ALREADY_EXISTS if
  // `dest` exists and !options.overwrite. DATA_LOSS on integrity failures
  // (for stdout the bytes are already out: the status is the only signal).
  absl::StatusOr<modelvault::v1::Version> Pull(const std::string& ref,
                                               const std::string& dest,
                                               const PullOptions& options = {},
                                               const ProgressFn& progress = {});
  // The same, returning the whole download header — the download id, the
  // delivery (a fingerprinted file differs from the original, whose digest
  // is original_sha256), the version — and the verified SHA-256 of the
  // bytes received (32 raw bytes).
  struct Pulled {
    modelvault::v1::DownloadHeader header;
    std::string delivered_sha256;
  };
  absl::StatusOr<Pulled> PullDownload(const std::string& ref,
                                      const std::string& dest,
                                      const PullOptions& options = {},
                                      const ProgressFn& progress = {});

  // Downloads bytes [offset, offset + length) of `ref` into `sink` (length
  // 0 = to the end), verifying the stream's digest. Commits or aborts `sink`.
  absl::StatusOr<modelvault::v1::DownloadHeader> PullRange(
      const std::string& ref, uint64_t offset, uint64_t length, ByteSink& sink,
      const ProgressFn& progress = {}, const DownloadOptions& download = {});

  // Streams the file at `path` to TraceService.Trace (against `artifact`
  // "NAME@N", or "" to let the server find the version) and returns the
  // signed report. NOT_FOUND if no stored version matches (or none the
  // caller may trace), INVALID_ARGUMENT if it is not a model file.
  absl::StatusOr<TraceResult> Trace(const std::string& path,
                                    const std::string& artifact,
                                    const ProgressFn& progress = {});

  absl::StatusOr<modelvault::v1::Version> Get(const std::string& ref);

  // One page of versions whose name starts with `prefix`, ordered by name
  // then number. page_size 0 = server default.
  absl::StatusOr<modelvault::v1::ListVersionsResponse> List(
      const std::string& prefix, uint32_t page_size = 0,
      const std::string& page_token = "");

  // Walks every page of List().
  absl::StatusOr<std::vector<modelvault::v1::Version>> ListAll(
      const std::string& prefix);

  // Deletes (crypto-shreds) the version `ref` resolves to; returns what was
  // deleted and its signed shred certificate.
  absl::StatusOr<modelvault::v1::DeleteVersionResponse> Delete(
      const std::string& ref);

  // Points `alias` at the version `ref` resolves to; returns that version.
  absl::StatusOr<modelvault::v1::Version> SetAlias(const std::string& ref,
                                                   const std::string& alias);

  absl::Status DeleteAlias(const std::string& name, const std::string& alias);

  // Cancels calls in flight and fails later ones. Idempotent.
  void Cancel();

  const std::string& address() const { return options_.address; }

 private:
  friend class AccessClient;    // shares the channel, metadata and Cancel()
  friend class AuditClient;     // likewise (audit_client.h)
  friend class OperatorClient;  // likewise (operator_client.h)
  class ActiveCall;

  Client(ConnectionOptions options, std::shared_ptr<grpc::Channel> channel);

  // PullRange, also returning the verified digest of what arrived.
  absl::StatusOr<modelvault::v1::DownloadHeader> ReceiveRange(
      const std::string& ref, uint64_t offset, uint64_t length, ByteSink& sink,
      const ProgressFn& progress, const DownloadOptions& download,
      std::string* delivered_sha256);

  // Sets the authorization metadata, and the deadline when `unary`.
  void Prepare(grpc::ClientContext& ctx, bool unary) const;

  template <typename Req, typename Resp>
  absl::StatusOr<Resp> CallUnary(
      grpc::Status (modelvault::v1::ArtifactService::Stub::*method)(
          grpc::ClientContext*, const Req&, Resp*),
      const Req& request);

  // Rewrites a failed call's status: cancellation by Cancel() becomes
  // "interrupted", a fired watchdog DEADLINE_EXCEEDED, a dead channel says
  // which address it could not reach.
  absl::Status Explain(absl::Status status, bool watchdog_fired) const;

  const ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<modelvault::v1::ArtifactService::Stub> stub_;

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> active_ ABSL_GUARDED_BY(mu_);
};

// Process-wide: keeps freed 1 MiB chunk buffers in the heap instead of
// returning them to the kernel. Every pulled chunk arrives in a fresh string
// (protobuf frees a oneof field's string on each parse), and with glibc's
// defaults each one page-faults in again: a third of a pull's system CPU
// (measured 0.41-0.51 s -> 0.25-0.39 s per GiB). Call once at start-up in a
// process that moves large artifacts; mvault does.
void TuneAllocatorForTransfers();

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_CLIENT_H_
