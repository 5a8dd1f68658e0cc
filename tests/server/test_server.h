// TestServer: the real modelvault gRPC server in-process on 127.0.0.1:0
// over a fresh vault in a temp dir, plus a real channel and stub to it.
// Integration tests use it instead of mocks (TESTING.md).
#ifndef MODELVAULT_TESTS_SERVER_TEST_SERVER_H_
#define MODELVAULT_TESTS_SERVER_TEST_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "modelvault/v1/access.grpc.pb.h"
#include "modelvault/v1/artifact.grpc.pb.h"
#include "modelvault/v1/audit.grpc.pb.h"
#include "modelvault/v1/operator.grpc.pb.h"
#include "modelvault/v1/trace.grpc.pb.h"
#include "server/admin_service.h"
#include "server/artifact_service.h"
#include "server/audit_service.h"
#include "server/auth_service.h"
#include "server/listen_address.h"
#include "server/operator_service.h"
#include "server/server_limits.h"
#include "server/trace_service.h"
#include "server/unknown_method_service.h"
#include "server/vault_slot.h"
#include "testing/temp_dir.h"
#include "vault/vault.h"

namespace mvtesting {

struct DownloadResult {
  grpc::Status status;
  std::string bytes;
  modelvault::v1::DownloadHeader header;
  std::string trailer_sha256;  // empty if no trailer arrived
};

struct TestServerOptions {
  uint32_t chunk_size = 1 << 20;
  size_t map_size = size_t{1} << 30;
  // The daemon's limits unless a test changes them; applied exactly as
  // `modelvaultd serve` applies them (mvserver::ApplyServerLimits).
  mvserver::ServerLimits limits;
  // Serve TLS (mutual when tls->client_ca is set) instead of plaintext; the
  // default channel and stubs are then not created (tests make their own
  // with Address() and the certificates they need).
  std::optional<mvserver::TlsMaterial> tls;
  // The vault's audit settings (fault seam, checkpoint cadence, witness);
  // the default writes no witness file.
  mv::AuditLog::Options audit;
  // `modelvaultd serve --fingerprint` and the trace settings.
  mvserver::FingerprintMode fingerprint = mvserver::FingerprintMode::kAlways;
  mvserver::TraceSettings trace;
  // The daemon's failed-authentication allowance per address unless a test
  // changes it (every test client is 127.0.0.1).
  mv::AuthThrottleLimits auth_throttle;
  // A vault sealed by unseal keys (`modelvaultd init --key-shares N
  // --key-threshold M`) when key_shares > 0; Start() then gives the first
  // M keys unless start_sealed. The keys are in shares().
  uint32_t key_shares = 0, key_threshold = 0;
  bool start_sealed = false;
  mvserver::VaultSlot::Settings unseal;
};

struct DownloadOptions {
  uint64_t offset = 0, length = 0;
  uint64_t download_id = 0;
  bool exact = false;
  std::string token;  // "" = root
};

class TestServer {
 public:
  // The daemon's limits, except `streams`.
  explicit TestServer(uint32_t chunk_size = 1 << 20,
                      size_t map_size = size_t{1} << 30,
                      mvserver::StreamLimits streams = {});
  explicit TestServer(TestServerOptions options);
  ~TestServer();

  // Stops the server and closes the vault, so the data dir can be edited.
  void Stop();
  // Reopens the vault from the data dir and serves it again.
  void Start();

  modelvault::v1::ArtifactService::Stub& stub() { return *stub_; }
  modelvault::v1::AuthService::Stub& auth_stub() { return *auth_stub_; }
  modelvault::v1::AdminService::Stub& admin_stub() { return *admin_stub_; }
  modelvault::v1::AuditService::Stub& audit_stub() { return *audit_stub_; }
  modelvault::v1::TraceService::Stub& trace_stub() { return *trace_stub_; }
  const mvserver::StreamLimiter& open_streams() const { return *open_streams_; }
  // "127.0.0.1:PORT" of the running server.
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  const std::string& root_token() const { return root_token_; }
  const std::string& data_dir() const { return data_dir_; }
  // The open vault. REQUIRES: unsealed.
  mv::Vault& vault() { return *slot_->Acquire().value(); }
  mvserver::VaultSlot& slot() { return *slot_; }
  modelvault::v1::OperatorService::Stub& operator_stub() {
    return *operator_stub_;
  }
  // The unseal keys of a vault made with key_shares.
  const std::vector<std::string>& shares() const { return shares_; }
  // Options of the next Start() (e.g. to turn the audit fault seam on).
  TestServerOptions& options() { return options_; }

  // A unary call of gRPC path `path` ("/pkg.Service/Method") with an empty
  // request, as `token` (root by default): reaches methods no generated stub
  // has.
  grpc::Status CallPath(const std::string& path,
                        const std::string& token = "") const;
  // A context carrying `authorization: Bearer <token>` (root by default).
  std::unique_ptr<grpc::ClientContext> Context(
      const std::string& token = "") const;

  // Uploads `data` as `name` in messages of `piece` bytes, with `trailer`
  // (nullptr: one holding the SHA-256 of `data`).
  grpc::Status Upload(const std::string& name, const std::string& data,
                      modelvault::v1::Version* out = nullptr,
                      size_t piece = 1 << 20,
                      const modelvault::v1::UploadTrailer* trailer = nullptr);
  DownloadResult Download(const std::string& ref, uint64_t offset = 0,
                          uint64_t length = 0);
  DownloadResult Download(const std::string& ref,
                          const DownloadOptions& options);
  // Uploads with an explicit header (format, token: "" = root).
  grpc::Status UploadWith(const modelvault::v1::UploadHeader& header,
                          const std::string& data,
                          modelvault::v1::Version* out = nullptr,
                          const std::string& token = "");
  // Streams `data` to TraceService.Trace (artifact "" = let it find one).
  grpc::Status Trace(const std::string& data, const std::string& artifact,
                     modelvault::v1::TraceResponse* out,
                     const std::string& token = "");

 private:
  TempDir dir_;
  std::string data_dir_, key_file_, root_token_;
  TestServerOptions options_;
  int port_ = 0;
  std::vector<std::string> shares_;
  std::unique_ptr<mvserver::VaultSlot> slot_;
  std::unique_ptr<mvserver::OperatorServiceImpl> operator_service_;
  std::unique_ptr<mvserver::StreamLimiter> open_streams_;
  std::unique_ptr<mvserver::ArtifactServiceImpl> service_;
  std::unique_ptr<mvserver::AuthServiceImpl> auth_service_;
  std::unique_ptr<mvserver::AdminServiceImpl> admin_service_;
  std::unique_ptr<mvserver::AuditServiceImpl> audit_service_;
  std::unique_ptr<mvserver::UnknownMethodService> unknown_methods_;
  std::unique_ptr<mvserver::TraceServiceImpl> trace_service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<modelvault::v1::ArtifactService::Stub> stub_;
  std::unique_ptr<modelvault::v1::AuthService::Stub> auth_stub_;
  std::unique_ptr<modelvault::v1::AdminService::Stub> admin_stub_;
  std::unique_ptr<modelvault::v1::AuditService::Stub> audit_stub_;
  std::unique_ptr<modelvault::v1::TraceService::Stub> trace_stub_;
  std::unique_ptr<modelvault::v1::OperatorService::Stub> operator_stub_;
};

std::string RandomBytes(size_t n, uint32_t seed);

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SERVER_TEST_SERVER_H_
