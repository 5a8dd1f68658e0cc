#include "server/test_server.h"

#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>

#include <random>

#include "common/bytes.h"
#include "crypto/master_key.h"
#include "crypto/sha256.h"
#include "crypto/unseal_shares.h"

namespace mvtesting {

using modelvault::v1::DownloadRequest;
using modelvault::v1::DownloadResponse;
using modelvault::v1::UploadRequest;
using modelvault::v1::UploadResponse;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j)
      out[i + j] = static_cast<char>(r >> (8 * j));
  }
  return out;
}

namespace {

TestServerOptions OptionsWith(uint32_t chunk_size, size_t map_size,
                              mvserver::StreamLimits streams) {
  TestServerOptions options;
  options.chunk_size = chunk_size;
  options.map_size = map_size;
  options.limits.streams = streams;
  return options;
}

}  // namespace

TestServer::TestServer(uint32_t chunk_size, size_t map_size,
                       mvserver::StreamLimits streams)
    : TestServer(OptionsWith(chunk_size, map_size, streams)) {}

TestServer::TestServer(TestServerOptions options)
    : data_dir_(dir_.Sub("data")),
      key_file_(dir_.Sub("master.key")),
      options_(std::move(options)) {
  mv::VaultOptions vault_options;
  vault_options.data_dir = data_dir_;
  vault_options.map_size = options_.map_size;
  if (options_.key_shares > 0) {
    // As `modelvaultd init --key-shares`: no key file, a seal file.
    mv::SecretKey kek = *mv::SecretKey::Random();
    shares_ = *mv::SplitKey(kek, options_.key_shares, options_.key_threshold);
    const mv::SealConfig seal{options_.key_shares, options_.key_threshold,
                              mv::ShareTag(kek)};
    root_token_ = *mv::Vault::Init(vault_options, std::move(kek));
    if (!mv::WriteSealConfig(data_dir_, seal).ok()) std::abort();
  } else {
    auto kek = mv::CreateMasterKeyFile(key_file_);
    root_token_ = *mv::Vault::Init(vault_options, *std::move(kek));
  }
  Start();
}

TestServer::~TestServer() { Stop(); }

void TestServer::Start() {
  mv::VaultOptions options;
  options.data_dir = data_dir_;
  options.map_size = options_.map_size;
  options.chunk_size = options_.chunk_size;
  options.audit = options_.audit;
  options.auth_throttle = options_.auth_throttle;
  if (options_.key_shares > 0) {
    slot_ = mvserver::VaultSlot::Sealed(
        *mv::ReadSealConfig(data_dir_),
        [options](mv::SecretKey kek) {
          return mv::Vault::Open(options, std::move(kek));
        },
        options_.unseal);
  } else {
    slot_ = mvserver::VaultSlot::Unsealed(
        *mv::Vault::Open(options, *mv::LoadMasterKeyFile(key_file_)));
  }
  open_streams_ = std::make_unique<mvserver::StreamLimiter>(
      options_.limits.streams.max_streams_per_principal);
  service_ = std::make_unique<mvserver::ArtifactServiceImpl>(
      slot_.get(), open_streams_.get(), options_.limits.streams,
      options_.fingerprint);
  trace_service_ = std::make_unique<mvserver::TraceServiceImpl>(
      slot_.get(), open_streams_.get(), options_.trace);
  auth_service_ = std::make_unique<mvserver::AuthServiceImpl>(slot_.get());
  admin_service_ = std::make_unique<mvserver::AdminServiceImpl>(slot_.get());
  audit_service_ = std::make_unique<mvserver::AuditServiceImpl>(slot_.get());
  unknown_methods_ =
      std::make_unique<mvserver::UnknownMethodService>(slot_.get());
  operator_service_ =
      std::make_unique<mvserver::OperatorServiceImpl>(slot_.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  port_ = 0;
  builder.AddListeningPort("127.0.0.1:0",
                           options_.tls
                               ? mvserver::TlsServerCredentials(*options_.tls)
                               : grpc::InsecureServerCredentials(),
                           &port_);
  mvserver::ApplyServerLimits(options_.limits, builder);
  builder.RegisterService(service_.get());
  builder.RegisterService(auth_service_.get());
  builder.RegisterService(admin_service_.get());
  builder.RegisterService(audit_service_.get());
  builder.RegisterService(trace_service_.get());
  builder.RegisterService(operator_service_.get());
  builder.RegisterCallbackGenericService(unknown_methods_.get());
  server_ = builder.BuildAndStart();
  // Health follows the seal state, as in `modelvaultd serve`.
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(!slot_->Progress().sealed);
  slot_->SetHooks(mvserver::VaultSlot::Hooks{
      .unsealed =
          [health](const std::shared_ptr<mv::Vault>&) {
            health->SetServingStatus(true);
          },
      .sealing = [health] { health->SetServingStatus(false); },
  });
  if (options_.key_shares > 0 && !options_.start_sealed) {
    for (uint32_t i = 0; i < options_.key_threshold; ++i) {
      if (!slot_->Unseal(shares_[i], "", "test").ok()) std::abort();
    }
  }
  if (options_.tls) return;
  channel_ = grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials());
  stub_ = modelvault::v1::ArtifactService::NewStub(channel_);
  auth_stub_ = modelvault::v1::AuthService::NewStub(channel_);
  admin_stub_ = modelvault::v1::AdminService::NewStub(channel_);
  audit_stub_ = modelvault::v1::AuditService::NewStub(channel_);
  trace_stub_ = modelvault::v1::TraceService::NewStub(channel_);
  operator_stub_ = modelvault::v1::OperatorService::NewStub(channel_);
}

void TestServer::Stop() {
  if (audit_service_) audit_service_->Stop();
  if (server_)
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  server_.reset();
  service_.reset();
  auth_service_.reset();
  admin_service_.reset();
  audit_service_.reset();
  trace_service_.reset();
  unknown_methods_.reset();
  operator_service_.reset();
  open_streams_.reset();
  slot_.reset();
}

grpc::Status TestServer::CallPath(const std::string& path,
                                  const std::string& token) const {
  auto context = Context(token);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::internal::RpcMethod method(path.c_str(),
                                   grpc::internal::RpcMethod::NORMAL_RPC);
  return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
      channel_.get(), method, context.get(), request, &response);
}

std::unique_ptr<grpc::ClientContext> TestServer::Context(
    const std::string& token) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization",
                       "Bearer " + (token.empty() ? root_token_ : token));
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(120));
  return context;
}

grpc::Status TestServer::Upload(const std::string& name,
                                const std::string& data,
                                modelvault::v1::Version* out, size_t piece,
                                const modelvault::v1::UploadTrailer* trailer) {
  auto context = Context();
  UploadResponse response;
  auto stream = stub_->Upload(context.get(), &response);
  UploadRequest message;
  message.mutable_header()->set_name(name);
  stream->Write(message);
  for (size_t at = 0; at < data.size(); at += piece) {
    message.set_chunk(data.substr(at, piece));
    if (!stream->Write(message)) break;
  }
  if (trailer != nullptr) {
    *message.mutable_trailer() = *trailer;
  } else {
    mv::Sha256Digest digest = mv::Sha256::Of(data);
    message.mutable_trailer()->set_sha256(std::string(mv::AsChars(digest)));
  }
  stream->Write(message);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (out != nullptr) *out = response.version();
  return status;
}

DownloadResult TestServer::Download(const std::string& ref, uint64_t offset,
                                    uint64_t length) {
  DownloadOptions options;
  options.offset = offset;
  options.length = length;
  return Download(ref, options);
}

grpc::Status TestServer::UploadWith(const modelvault::v1::UploadHeader& header,
                                    const std::string& data,
                                    modelvault::v1::Version* out,
                                    const std::string& token) {
  auto context = Context(token);
  UploadResponse response;
  auto stream = stub_->Upload(context.get(), &response);
  UploadRequest message;
  *message.mutable_header() = header;
  stream->Write(message);
  for (size_t at = 0; at < data.size(); at += 1 << 20) {
    message.set_chunk(data.substr(at, 1 << 20));
    if (!stream->Write(message)) break;
  }
  mv::Sha256Digest digest = mv::Sha256::Of(data);
  message.mutable_trailer()->set_sha256(std::string(mv::AsChars(digest)));
  stream->Write(message);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (out != nullptr) *out = response.version();
  return status;
}

grpc::Status TestServer::Trace(const std::string& data,
                               const std::string& artifact,
                               modelvault::v1::TraceResponse* out,
                               const std::string& token) {
  auto context = Context(token);
  auto stream = trace_stub_->Trace(context.get(), out);
  modelvault::v1::TraceRequest message;
  message.mutable_header()->set_artifact(artifact);
  message.mutable_header()->set_size(data.size());
  stream->Write(message);
  for (size_t at = 0; at < data.size(); at += 1 << 20) {
    message.set_chunk(data.substr(at, 1 << 20));
    if (!stream->Write(message)) break;
  }
  message.mutable_end();
  stream->Write(message);
  stream->WritesDone();
  return stream->Finish();
}

DownloadResult TestServer::Download(const std::string& ref,
                                    const DownloadOptions& options) {
  auto context = Context(options.token);
  DownloadRequest request;
  request.set_ref(ref);
  request.set_offset(options.offset);
  request.set_length(options.length);
  request.set_download_id(options.download_id);
  request.set_exact(options.exact);
  DownloadResult result;
  auto stream = stub_->Download(context.get(), request);
  DownloadResponse message;
  while (stream->Read(&message)) {
    if (message.has_header()) result.header = message.header();
    if (message.kind_case() == DownloadResponse::kChunk)
      result.bytes += message.chunk();
    if (message.has_trailer())
      result.trailer_sha256 = message.trailer().sha256();
  }
  result.status = stream->Finish();
  return result;
}

}  // namespace mvtesting
