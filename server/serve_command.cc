// `modelvaultd serve`: opens the vault (refusing a wrong key, a loose key
// file or a future format), serves gRPC, collects abandoned uploads
// periodically, and drains in-flight streams on SIGTERM/SIGINT.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <thread>

#include "crypto/master_key.h"
#include "server/admin_service.h"
#include "server/artifact_service.h"
#include "server/auth_service.h"
#include "server/commands.h"
#include "server/listen_address.h"

namespace mvserver {
namespace {

constexpr int kMaxMessageBytes = 4 << 20;  // 1 MiB chunks + framing
constexpr int kStreamWindowBytes = 8 << 20;
// Transport limits. Each call holds a sync-server thread, so threads are
// capped (calls beyond it get RESOURCE_EXHAUSTED); a client may not ping
// more often than every 10 s without data; idle connections are closed.
constexpr int kMaxThreads = 256;
constexpr int kMaxStreamsPerConnection = 64;
constexpr int kMinPingIntervalMs = 10'000;
constexpr int kMaxPingStrikes = 3;
constexpr int kMaxConnectionIdleMs = 15 * 60 * 1000;
constexpr auto kDrainTimeout = std::chrono::seconds(30);
constexpr absl::Duration kGcInterval = absl::Minutes(10);

struct ServeOptions {
  VaultLocation location;
  std::string listen = "127.0.0.1:7070";
  uint32_t chunk_size_kib = 1024;
  uint32_t pending_ttl_minutes = 60;
  uint32_t stream_idle_timeout_seconds = 60;
  ListenSecurity security;
};

// Collects abandoned uploads every kGcInterval until stopped.
class GarbageCollector {
 public:
  GarbageCollector(mv::Vault* vault, absl::Duration idle)
      : thread_([this, vault, idle] { Loop(vault, idle); }) {}
  ~GarbageCollector() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Loop(mv::Vault* vault, absl::Duration idle) {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, absl::ToChronoSeconds(kGcInterval), [&] { return stop_; })) {
      absl::StatusOr<size_t> n = vault->CollectGarbage(idle);
      if (!n.ok()) std::fprintf(stderr, "modelvaultd: garbage collection failed: %s\n", std::string(n.status().message()).c_str());
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// Blocks SIGTERM/SIGINT in every thread; WaitForSignal() takes them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// One server per data dir: at start-up a server collects every pending
// upload, which would destroy another live server's uploads. The lock is
// released by the kernel when the process dies, however it dies.
absl::Status LockDataDir(const std::string& dir) {
  const std::string path = dir + "/modelvaultd.lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::OkStatus();  // no dir yet: Open() explains
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::FailedPreconditionError("another modelvaultd is already serving " + dir);
  }
  return absl::OkStatus();  // fd stays open (and locked) for the process's life
}

absl::StatusOr<std::unique_ptr<mv::Vault>> OpenVault(const ServeOptions& options) {
  absl::StatusOr<mv::SecretKey> kek = mv::LoadMasterKeyFile(options.location.master_key_file);
  if (!kek.ok()) return kek.status();
  mv::VaultOptions vault_options;
  vault_options.data_dir = options.location.data_dir;
  vault_options.map_size = options.location.map_size_mib << 20;
  vault_options.chunk_size = options.chunk_size_kib << 10;
  vault_options.pending_ttl = absl::Minutes(options.pending_ttl_minutes);
  return mv::Vault::Open(vault_options, *std::move(kek));
}

int RunServe(const ServeOptions& options) {
  std::string warning;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor(options.listen, options.security, &warning);
  if (!credentials.ok()) return Fail(credentials.status());
  if (!warning.empty()) std::fprintf(stderr, "modelvaultd: %s\n", warning.c_str());
  sigset_t signals = BlockShutdownSignals();  // before any thread starts
  if (mv::Vault::Exists(options.location.data_dir)) {
    if (absl::Status s = LockDataDir(options.location.data_dir); !s.ok()) return Fail(s);
  }
  absl::StatusOr<std::unique_ptr<mv::Vault>> vault = OpenVault(options);
  if (!vault.ok()) return Fail(vault.status());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ArtifactServiceImpl artifacts(vault->get(),
                                StreamLimits{absl::Seconds(options.stream_idle_timeout_seconds)});
  AuthServiceImpl auth(vault->get());
  AdminServiceImpl admin(vault->get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, *credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // A window of several chunks lets the client keep sending while this side
  // hashes and seals; the 64 KiB default turns a push into ping-pong.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  // gRPC sets SO_REUSEPORT by default: a second server on a busy port would
  // bind and silently share its connections. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, kMinPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, kMaxPingStrikes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
  grpc::ResourceQuota quota("modelvaultd");
  quota.SetMaxThreads(kMaxThreads);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&artifacts);
  builder.RegisterService(&auth);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) return Fail("cannot listen on " + options.listen);
  std::printf("listening on %s\n", WithPort(options.listen, port).c_str());
  std::fflush(stdout);

  GarbageCollector collector(vault->get(), absl::Minutes(options.pending_ttl_minutes));
  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "modelvaultd: %s received; draining in-flight calls\n", strsignal(signal));
  server->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server->Wait();
  std::fprintf(stderr, "modelvaultd: stopped\n");
  return 0;
}

}  // namespace

void SetupServeCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the vault over gRPC");
  AddVaultLocationOptions(cmd, &options->location);
  cmd->add_option("--listen", options->listen,
                  "Address to listen on (plaintext: loopback only unless --insecure-listen); "
                  "port 0 picks one")
      ->capture_default_str();
  // Flag combinations are checked by ServerCredentialsFor, one line each.
  cmd->add_option("--tls-cert", options->security.tls_cert,
                  "Serve TLS with this PEM certificate chain (with --tls-key)");
  cmd->add_option("--tls-key", options->security.tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--client-ca", options->security.client_ca,
                  "Require client certificates signed by this PEM CA (mutual TLS); a "
                  "certificate's SAN URI, else its CN, names its principal");
  cmd->add_flag("--insecure-listen", options->security.insecure_listen,
                "Allow plaintext gRPC on a non-loopback address (tokens and weights unencrypted)");
  cmd->add_option("--chunk-size-kib", options->chunk_size_kib,
                  "Plaintext bytes per stored chunk for new versions, in KiB")
      ->capture_default_str()
      ->check(CLI::Range(4u, 1024u));
  cmd->add_option("--pending-ttl-minutes", options->pending_ttl_minutes,
                  "Collect uploads idle for longer than this")
      ->capture_default_str()
      ->check(CLI::Range(1u, 7u * 24 * 60));
  cmd->add_option("--stream-idle-timeout-seconds", options->stream_idle_timeout_seconds,
                  "Cancel a push or pull on which nothing moves for this long")
      ->capture_default_str()
      ->check(CLI::Range(1u, 24u * 3600));
  cmd->callback([options, exit_code] { *exit_code = RunServe(*options); });
}

}  // namespace mvserver
