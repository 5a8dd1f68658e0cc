// `modelvaultd serve`: opens the vault (refusing a wrong key, a loose key
// file or a future format) — or, for a vault sealed by unseal keys (a seal
// file in the data dir, crypto/unseal_shares.h), starts sealed and opens it
// when OperatorService.Unseal has been given the threshold of keys
// (server/vault_slot.h) — serves gRPC, collects abandoned uploads
// periodically while unsealed, and drains in-flight streams on
// SIGTERM/SIGINT.
#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"
#include "crypto/unseal_shares.h"
#include "server/admin_service.h"
#include "server/artifact_service.h"
#include "server/audit_service.h"
#include "server/auth_service.h"
#include "server/commands.h"
#include "server/listen_address.h"
#include "server/operator_service.h"
#include "server/server_limits.h"
#include "server/trace_service.h"
#include "server/unknown_method_service.h"
#include "server/vault_slot.h"

namespace mvserver {
namespace {

constexpr auto kDrainTimeout = std::chrono::seconds(30);
constexpr absl::Duration kGcInterval = absl::Minutes(10);
constexpr absl::Duration kThrottleAuditInterval = absl::Minutes(1);

uint32_t Seconds(absl::Duration d) {
  return static_cast<uint32_t>(absl::ToInt64Seconds(d));
}

struct ServeOptions {
  VaultLocation location;
  std::string listen = "127.0.0.1:7070";
  uint32_t chunk_size_kib = 1024;
  uint32_t pending_ttl_minutes = 60;
  // The defaults of the limits are ServerLimits' (server/server_limits.h).
  uint32_t stream_idle_timeout_seconds =
      Seconds(ServerLimits{}.streams.idle_timeout);
  uint32_t handshake_timeout_seconds =
      Seconds(ServerLimits{}.handshake_timeout);
  uint32_t max_streams_per_principal =
      ServerLimits{}.streams.max_streams_per_principal;
  ListenSecurity security;
  bool reset_audit_witness = false;    // AuditLog::Options::reset_witness
  std::string fingerprint = "always";  // FingerprintMode
  std::string trace_spool_dir;         // "" = $TMPDIR or /tmp
  uint64_t max_trace_bytes = TraceSettings{}.max_trace_bytes;
  mv::AuthThrottleLimits auth_throttle;
  uint32_t header_memory_mib =
      static_cast<uint32_t>(mv::VaultOptions{}.header_memory_bytes >> 20);
  // Sealed vaults (VaultSlot::Settings).
  uint32_t unseal_timeout_minutes = static_cast<uint32_t>(
      absl::ToInt64Minutes(VaultSlot::Settings{}.progress_timeout));
  uint32_t unseal_failure_burst = VaultSlot::Settings{}.failure_burst;
};

// The server's periodic work until stopped (or the vault sealed): the audit
// record of throttled authentications every minute, the collection of
// abandoned uploads every kGcInterval.
class Housekeeping {
 public:
  Housekeeping(std::shared_ptr<mv::Vault> vault, absl::Duration idle)
      : vault_(vault), thread_([this, vault = std::move(vault), idle] {
          Loop(vault.get(), idle);
        }) {
    // A key rotation that a previous run did not finish carries on.
    vault_->key_rotation().Resume();
  }
  ~Housekeeping() {
    vault_->key_rotation().Stop();
    {
      mv::MutexLock lock(&mu_);
      stop_ = true;
    }
    stop_requested_.SignalAll();
    thread_.join();
  }

 private:
  void Loop(mv::Vault* vault, absl::Duration idle) {
    mv::MutexLock lock(&mu_);
    absl::Time next_gc = absl::Now() + kGcInterval;
    for (;;) {
      const auto tick = mv::CondVar::After(kThrottleAuditInterval);
      while (!stop_ && stop_requested_.WaitUntil(mu_, tick)) {
      }
      if (stop_) return;
      if (absl::StatusOr<size_t> n =
              vault->identity().AuditThrottledAuthentications();
          !n.ok())
        Warn("auditing throttled authentications failed", n.status());
      if (absl::Now() < next_gc) continue;
      next_gc = absl::Now() + kGcInterval;
      if (absl::StatusOr<size_t> n = vault->catalog().CollectGarbage(idle);
          !n.ok())
        Warn("garbage collection failed", n.status());
    }
  }
  static void Warn(const char* what, const absl::Status& status) {
    std::fprintf(stderr, "modelvaultd: %s: %s\n", what,
                 std::string(status.message()).c_str());
  }
  const std::shared_ptr<mv::Vault> vault_;
  mv::Mutex mu_;
  mv::CondVar stop_requested_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
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
    return absl::FailedPreconditionError(
        "another modelvaultd is already serving " + dir);
  }
  return absl::OkStatus();  // fd stays open (and locked) for the process's life
}

absl::StatusOr<mv::VaultOptions> ServeVaultOptions(
    const ServeOptions& options) {
  MV_ASSIGN_OR_RETURN(mv::VaultOptions vault_options,
                      VaultOptionsAt(options.location));
  vault_options.audit.reset_witness = options.reset_audit_witness;
  vault_options.chunk_size = options.chunk_size_kib << 10;
  vault_options.pending_ttl = absl::Minutes(options.pending_ttl_minutes);
  vault_options.auth_throttle = options.auth_throttle;
  vault_options.header_memory_bytes = uint64_t{options.header_memory_mib} << 20;
  return vault_options;
}

// The slot the services serve: sealed for a vault with a seal file (no key
// file then), else unsealed with the vault opened by --master-key-file.
absl::StatusOr<std::unique_ptr<VaultSlot>> OpenSlot(
    const ServeOptions& options) {
  MV_ASSIGN_OR_RETURN(mv::VaultOptions vault_options,
                      ServeVaultOptions(options));
  const std::string& key_file = options.location.master_key_file;
  absl::StatusOr<mv::SealConfig> seal =
      mv::ReadSealConfig(options.location.data_dir);
  if (seal.ok()) {
    if (!key_file.empty()) {
      return absl::InvalidArgumentError(
          "this vault is sealed by unseal keys and has no master key file; "
          "drop --master-key-file and unseal it with `mvault operator "
          "unseal`");
    }
    VaultSlot::Settings settings;
    settings.progress_timeout = absl::Minutes(options.unseal_timeout_minutes);
    settings.failure_burst = options.unseal_failure_burst;
    return VaultSlot::Sealed(
        *std::move(seal),
        [vault_options](mv::SecretKey kek) {
          return mv::Vault::Open(vault_options, std::move(kek));
        },
        settings);
  }
  if (!absl::IsNotFound(seal.status())) return seal.status();
  if (key_file.empty()) {
    return absl::InvalidArgumentError(
        "--master-key-file is required: this vault is not sealed by unseal "
        "keys");
  }
  MV_ASSIGN_OR_RETURN(mv::SecretKey kek, mv::LoadMasterKeyFile(key_file));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<mv::Vault> vault,
                      mv::Vault::Open(vault_options, std::move(kek)));
  if (vault->migrated_on_open()) {
    std::fprintf(stderr,
                 "modelvaultd: migrated %s to data format %u (the audit "
                 "log says from which); compact it with mdb_copy -c to "
                 "drop the old pages\n",
                 options.location.data_dir.c_str(), mv::Vault::kDataFormat);
  }
  return VaultSlot::Unsealed(std::move(vault));
}

int RunServe(const ServeOptions& options) {
  // First of all: creating gRPC credentials starts gRPC's threads, and a
  // thread that does not block SIGTERM would take it with the default action
  // (exit without draining) instead of the sigwait below.
  sigset_t signals = BlockShutdownSignals();
  std::string warning;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ServerCredentialsFor(options.listen, options.security, &warning);
  if (!credentials.ok()) return Fail(credentials.status());
  if (!warning.empty())
    std::fprintf(stderr, "modelvaultd: %s\n", warning.c_str());
  if (mv::Vault::Exists(options.location.data_dir)) {
    if (absl::Status s = LockDataDir(options.location.data_dir); !s.ok())
      return Fail(s);
  }
  absl::StatusOr<std::unique_ptr<VaultSlot>> opened = OpenSlot(options);
  if (!opened.ok()) return Fail(opened.status());
  VaultSlot& slot = **opened;

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ServerLimits limits;
  limits.handshake_timeout = absl::Seconds(options.handshake_timeout_seconds);
  limits.streams.idle_timeout =
      absl::Seconds(options.stream_idle_timeout_seconds);
  limits.streams.max_streams_per_principal = options.max_streams_per_principal;
  // Checked by the option's validator; always parses.
  const FingerprintMode fingerprint =
      ParseFingerprintMode(options.fingerprint).value();
  StreamLimiter open_streams(limits.streams.max_streams_per_principal);
  ArtifactServiceImpl artifacts(&slot, &open_streams, limits.streams,
                                fingerprint);
  TraceSettings trace_settings;
  trace_settings.spool_dir = options.trace_spool_dir;
  trace_settings.max_trace_bytes = options.max_trace_bytes;
  trace_settings.idle_timeout = limits.streams.idle_timeout;
  TraceServiceImpl trace(&slot, &open_streams, trace_settings);
  AuthServiceImpl auth(&slot);
  AdminServiceImpl admin(&slot);
  AuditServiceImpl audit(&slot);
  OperatorServiceImpl operator_service(&slot);
  UnknownMethodService unknown_methods(&slot);

  // Housekeeping and health follow the seal state. Hooks run on the thread
  // of an Unseal/Seal call, one at a time; after server->Wait() none runs.
  std::unique_ptr<Housekeeping> housekeeping;
  mv::Mutex health_mu;
  grpc::HealthCheckServiceInterface* health = nullptr;  // under health_mu
  const auto set_serving = [&](bool serving) {
    mv::MutexLock lock(&health_mu);
    if (health != nullptr) health->SetServingStatus(serving);
  };
  const absl::Duration pending_ttl = absl::Minutes(options.pending_ttl_minutes);
  slot.SetHooks(VaultSlot::Hooks{
      .unsealed =
          [&](const std::shared_ptr<mv::Vault>& vault) {
            housekeeping = std::make_unique<Housekeeping>(vault, pending_ttl);
            set_serving(true);
          },
      .sealing =
          [&] {
            set_serving(false);
            housekeeping.reset();
          },
  });
  // A vault open from the start (a key file) gets its housekeeping before
  // any call can arrive; a sealed one from the unsealed hook, so the two
  // never race for `housekeeping`.
  if (absl::StatusOr<std::shared_ptr<mv::Vault>> vault = slot.Acquire();
      vault.ok()) {
    housekeeping = std::make_unique<Housekeeping>(*vault, pending_ttl);
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, *credentials, &port);
  ApplyServerLimits(limits, builder);
  builder.RegisterService(&artifacts);
  builder.RegisterService(&auth);
  builder.RegisterService(&admin);
  builder.RegisterService(&audit);
  builder.RegisterService(&trace);
  builder.RegisterService(&operator_service);
  builder.RegisterCallbackGenericService(&unknown_methods);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0)
    return Fail("cannot listen on " + options.listen);
  {
    // A sealed vault is NOT_SERVING until unsealed (the hooks say when).
    mv::MutexLock lock(&health_mu);
    health = server->GetHealthCheckService();
    if (health != nullptr) health->SetServingStatus(!slot.Progress().sealed);
  }
  if (const SealProgress state = slot.Progress(); state.by_shares) {
    std::fprintf(stderr,
                 "modelvaultd: the vault is sealed: give %u of its %u unseal "
                 "keys with `mvault operator unseal`\n",
                 state.threshold, state.shares);
  }
  std::printf("listening on %s\n", WithPort(options.listen, port).c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "modelvaultd: %s received; draining in-flight calls\n",
               strsignal(signal));
  audit.Stop();  // followers would otherwise hold the drain open
  server->Shutdown(std::chrono::system_clock::now() + kDrainTimeout);
  server->Wait();
  housekeeping.reset();
  absl::StatusOr<std::shared_ptr<mv::Vault>> vault = slot.Acquire();
  if (!vault.ok()) {
    std::fprintf(stderr, "modelvaultd: stopped (sealed)\n");
    return 0;
  }
  // Counted refusals of this run's last minute get their record too.
  if (absl::StatusOr<size_t> n =
          (*vault)->identity().AuditThrottledAuthentications();
      !n.ok()) {
    std::fprintf(stderr,
                 "modelvaultd: auditing throttled authentications failed: %s\n",
                 std::string(n.status().message()).c_str());
    return 1;
  }
  // The final checkpoint signs every record of this run (and goes to the
  // witness), so a later rollback of the data dir is detectable.
  if (absl::Status s = (*vault)->audit_log().Close(); !s.ok()) {
    std::fprintf(stderr, "modelvaultd: final audit checkpoint failed: %s\n",
                 std::string(s.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "modelvaultd: stopped\n");
  return 0;
}

}  // namespace

void SetupServeCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the vault over gRPC");
  AddVaultLocationOptions(cmd, &options->location, /*offline=*/false);
  cmd->add_option("--listen", options->listen,
                  "Address to listen on (plaintext: loopback only unless "
                  "--insecure-listen); "
                  "port 0 picks one")
      ->capture_default_str();
  // Flag combinations are checked by ServerCredentialsFor, one line each.
  cmd->add_option("--tls-cert", options->security.tls_cert,
                  "Serve TLS with this PEM certificate chain (with --tls-key)");
  cmd->add_option("--tls-key", options->security.tls_key,
                  "PEM private key of --tls-cert");
  cmd->add_option(
      "--client-ca", options->security.client_ca,
      "Require client certificates signed by this PEM CA (mutual TLS); a "
      "certificate's SAN URI, else its CN, names its principal");
  cmd->add_flag("--insecure-listen", options->security.insecure_listen,
                "Allow plaintext gRPC on a non-loopback address (tokens and "
                "weights unencrypted)");
  cmd->add_option("--chunk-size-kib", options->chunk_size_kib,
                  "Plaintext bytes per stored chunk for new versions, in KiB")
      ->capture_default_str()
      ->check(CLI::Range(4u, 1024u));
  cmd->add_option("--pending-ttl-minutes", options->pending_ttl_minutes,
                  "Collect uploads idle for longer than this")
      ->capture_default_str()
      ->check(CLI::Range(1u, 7u * 24 * 60));
  cmd->add_option("--stream-idle-timeout-seconds",
                  options->stream_idle_timeout_seconds,
                  "Cancel a push or pull on which nothing moves for this long")
      ->capture_default_str()
      ->check(CLI::Range(1u, 24u * 3600));
  cmd->add_option("--handshake-timeout-seconds",
                  options->handshake_timeout_seconds,
                  "Close a connection that has not finished its TLS handshake "
                  "and sent its "
                  "HTTP/2 preface within this long")
      ->capture_default_str()
      ->check(CLI::Range(1u, 3600u));
  cmd->add_option(
         "--max-streams-per-principal", options->max_streams_per_principal,
         "Upload/Download streams one principal may have open at once over all "
         "its "
         "connections; one more fails RESOURCE_EXHAUSTED (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1u << 20));
  cmd->add_option("--auth-failure-burst", options->auth_throttle.burst,
                  "Failed authentications one client address may make at "
                  "once; beyond its allowance calls with bad credentials "
                  "fail RESOURCE_EXHAUSTED and are counted in one audit "
                  "record per address per minute (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1u << 20));
  cmd->add_option("--auth-failures-per-minute",
                  options->auth_throttle.per_minute,
                  "Failed authentications an address earns back per minute")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  cmd->add_option("--header-memory-mib", options->header_memory_mib,
                  "Memory all pushes together may use for the safetensors/GGUF "
                  "headers being parsed (6 bytes per header byte); a push "
                  "that would need more fails RESOURCE_EXHAUSTED at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1u << 20));
  AddWitnessOption(cmd, &options->location);
  cmd->add_flag(
      "--reset-audit-witness", options->reset_audit_witness,
      "Start a new audit witness from the log's checkpoints when the current "
      "one is missing, invalid or shows a rollback (the old one is moved "
      "aside; the reset is audited). Only after a deliberate restore");
  cmd->add_option(
         "--fingerprint", options->fingerprint,
         "Leak tracing: mark downloads of markable versions (float "
         "safetensors/GGUF) "
         "with a per-download fingerprint: always, policy (only where a rule "
         "has "
         "require_fingerprint) or off. Pulls with read:exact are never marked")
      ->capture_default_str()
      ->check(CLI::IsMember({"always", "policy", "off"}));
  cmd->add_option("--trace-spool-dir", options->trace_spool_dir,
                  "Directory where `mvault trace` uploads are spooled, as "
                  "unlinked files "
                  "(default: $TMPDIR, else /tmp)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--max-trace-bytes", options->max_trace_bytes,
                  "Refuse (RESOURCE_EXHAUSTED) a traced file larger than this "
                  "many bytes")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 50));
  cmd->add_option("--unseal-timeout-minutes", options->unseal_timeout_minutes,
                  "Sealed vaults: discard the unseal keys given so far when "
                  "the threshold is not reached within this long of the first")
      ->capture_default_str()
      ->check(CLI::Range(1u, 24u * 60));
  cmd->add_option("--unseal-failure-burst", options->unseal_failure_burst,
                  "Sealed vaults: refused unseal keys one client address may "
                  "give at once (one more is earned back per minute); beyond "
                  "that its unseal calls fail RESOURCE_EXHAUSTED (0 = no "
                  "limit)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 1000u));
  cmd->callback([options, exit_code] { *exit_code = RunServe(*options); });
}

}  // namespace mvserver
