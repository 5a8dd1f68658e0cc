// The server's limits at limit and limit+1 (server/server_limits.h,
// server/stream_limiter.h), through the real server builder configuration
// (TestServer applies mvserver::ApplyServerLimits like `modelvaultd serve`):
// handshake timeout, streams per principal, message size, streams per
// connection, ping enforcement, idle connections, thread quota.
//
// Streams are held open by a slow reader: a download of an artifact far
// larger than the flow-control windows (BDP probing off on the test
// channels) that reads its header and stops; the server's handler then
// waits in Write, holding its stream. No timing is asserted tightly: waits
// are bounded by 30 s for events expected after ~1 s.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "crypto/sha256.h"
#include "server/access_setup.h"
#include "server/test_certs.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;

constexpr size_t kBig = 24 << 20;  // far beyond the 64 KiB client windows
constexpr auto kBound = std::chrono::seconds(30);

// A channel with a connection of its own (no subchannel sharing with other
// channels to the same address) and fixed 64 KiB receive windows.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address,
                                          grpc::ChannelArguments args = {}) {
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<grpc::ClientContext> ContextFor(
    const std::string& token,
    std::chrono::seconds deadline = std::chrono::seconds(120)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  return context;
}

// A download that reads its header and then stops reading until told to.
class HeldDownload {
 public:
  HeldDownload(std::shared_ptr<grpc::Channel> channel, const std::string& token,
               const std::string& ref,
               std::chrono::seconds deadline = std::chrono::seconds(120))
      : context_(ContextFor(token, deadline)),
        stub_(v1::ArtifactService::NewStub(channel)) {
    request_.set_ref(ref);
  }
  ~HeldDownload() {
    if (stream_ != nullptr && !finished_) {
      context_->TryCancel();
      stream_->Finish();
    }
  }

  // Starts the call and waits for its header: OK once it has arrived, else
  // the call's final status.
  grpc::Status Open() {
    stream_ = stub_->Download(context_.get(), request_);
    v1::DownloadResponse message;
    if (stream_->Read(&message) && message.has_header())
      return grpc::Status::OK;
    finished_ = true;
    return stream_->Finish();
  }
  // Reads the rest; the final status. REQUIRES: Open() returned OK.
  grpc::Status ReadToEnd(size_t* received = nullptr) {
    v1::DownloadResponse message;
    size_t n = 0;
    while (stream_->Read(&message)) n += message.chunk().size();
    if (received != nullptr) *received = n;
    finished_ = true;
    return stream_->Finish();
  }
  void Cancel() { context_->TryCancel(); }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<v1::ArtifactService::Stub> stub_;
  v1::DownloadRequest request_;
  std::unique_ptr<grpc::ClientReader<v1::DownloadResponse>> stream_;
  bool finished_ = false;
};

// A whole download of `ref` as `token` on a connection of its own.
DownloadResult DownloadAs(const std::string& address, const std::string& token,
                          const std::string& ref) {
  auto stub = v1::ArtifactService::NewStub(OwnChannel(address));
  auto context = ContextFor(token);
  v1::DownloadRequest request;
  request.set_ref(ref);
  auto stream = stub->Download(context.get(), request);
  DownloadResult result;
  v1::DownloadResponse message;
  while (stream->Read(&message)) {
    if (message.has_header()) result.header = message.header();
    if (message.kind_case() == v1::DownloadResponse::kChunk)
      result.bytes += message.chunk();
  }
  result.status = stream->Finish();
  return result;
}

// Waits until the server's count of `principal`'s open streams satisfies
// `done` (at most until `give_up`) and returns the count. The limiter is the
// event under test: a slot is taken once the server has admitted a stream,
// and comes back when its handler returns, a moment after the client sees
// the end. Tests wait for that, then make one call whose outcome is certain.
template <typename Done>
uint32_t WaitForOpenStreams(TestServer& server, const std::string& principal,
                            Done done,
                            std::chrono::steady_clock::time_point give_up) {
  uint32_t open = server.open_streams().OpenStreams(principal);
  while (!done(open) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    open = server.open_streams().OpenStreams(principal);
  }
  return open;
}

// Waits until `principal` holds a stream on the server.
void WaitForOpenStream(TestServer& server, const std::string& principal,
                       std::chrono::steady_clock::time_point give_up) {
  EXPECT_GE(WaitForOpenStreams(
                server, principal, [](uint32_t n) { return n > 0; }, give_up),
            1u)
      << principal << " never held a stream";
}

// Waits until `principal` holds fewer than `limit` streams.
void WaitForAFreeSlot(TestServer& server, const std::string& principal,
                      uint32_t limit,
                      std::chrono::steady_clock::time_point give_up) {
  EXPECT_LT(
      WaitForOpenStreams(
          server, principal, [&](uint32_t n) { return n < limit; }, give_up),
      limit)
      << principal << "'s slots never came back";
}

DownloadResult DownloadSmallAsRoot(TestServer& server) {
  return DownloadAs(server.Address(), server.root_token(), "acme/small");
}

// Uploads `data` as `name` in one chunk message, as `token`.
grpc::Status UploadAs(const std::string& address, const std::string& token,
                      const std::string& name, const std::string& data) {
  auto stub = v1::ArtifactService::NewStub(OwnChannel(address));
  auto context = ContextFor(token);
  v1::UploadResponse response;
  auto stream = stub->Upload(context.get(), &response);
  v1::UploadRequest message;
  message.mutable_header()->set_name(name);
  if (stream->Write(message)) {
    message.set_chunk(data);
    if (stream->Write(message)) {
      message.mutable_trailer()->set_sha256(
          std::string(mv::AsChars(mv::Sha256::Of(data))));
      stream->Write(message);
    }
  }
  stream->WritesDone();
  return stream->Finish();
}

int PortOf(const std::string& address) {
  return std::stoi(address.substr(address.rfind(':') + 1));
}

// Connects to 127.0.0.1:`port`, sends `bytes`, then reads (discarding what
// the server sends, e.g. its SETTINGS) until the server closes the
// connection. How long that took from connect(); nullopt if the connection
// was still open after kBound.
std::optional<absl::Duration> TimeUntilServerCloses(int port,
                                                    const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  const absl::Time start = absl::Now();
  if (!bytes.empty() && send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
                            static_cast<ssize_t>(bytes.size())) {
    ADD_FAILURE() << "send: " << std::strerror(errno);
  }
  const absl::Time give_up = start + absl::FromChrono(kBound);
  std::optional<absl::Duration> closed;
  char buffer[4096];
  while (!closed && absl::Now() < give_up) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(
        &p, 1,
        static_cast<int>(absl::ToInt64Milliseconds(give_up - absl::Now())) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
      closed = absl::Now() - start;
  }
  close(fd);
  return closed;
}

TestServerOptions OneSecondHandshake() {
  TestServerOptions options;
  options.limits.handshake_timeout = absl::Seconds(1);
  return options;
}

// ---------------------------------------------------------------------------
// Handshake timeout (--handshake-timeout-seconds).

TEST(HandshakeTimeoutTest,
     APlaintextConnectionWithoutPrefaceOrSettingsIsClosedAfterTheTimeout) {
  TestServer server(OneSecondHandshake());
  ASSERT_TRUE(server.Upload("acme/big", RandomBytes(kBig, 1)).ok());
  HeldDownload established(OwnChannel(server.Address()), server.root_token(),
                           "acme/big");
  ASSERT_TRUE(established.Open().ok());
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const std::pair<const char*, std::string> cases[] = {
      {"sends nothing", ""},
      {"sends half the HTTP/2 preface", preface.substr(0, 12)},
      {"sends the preface but no SETTINGS", preface},
  };
  for (const auto& [what, sent] : cases) {
    SCOPED_TRACE(what);
    std::optional<absl::Duration> closed =
        TimeUntilServerCloses(PortOf(server.Address()), sent);
    ASSERT_TRUE(closed.has_value())
        << "still open after 30 s (gRPC's default is 120 s)";
    EXPECT_GE(*closed, absl::Milliseconds(500))
        << "closed long before the 1 s timeout: for another reason?";
  }
  // A connection that completed its handshake outlives the timeout (3 times
  // over).
  size_t received = 0;
  grpc::Status status = established.ReadToEnd(&received);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(received, kBig);
}

TEST(HandshakeTimeoutTest, AHalfSentTlsClientHelloIsClosedAfterTheTimeout) {
  TestPki pki;
  absl::StatusOr<CertFiles> ca = pki.MakeCa("ca", "limits test CA");
  ASSERT_TRUE(ca.ok()) << ca.status();
  absl::StatusOr<CertFiles> leaf =
      pki.MakeLeaf("server", *ca, {"localhost", "DNS:localhost,IP:127.0.0.1"});
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  TestServerOptions options = OneSecondHandshake();
  options.tls = mvserver::TlsMaterial{leaf->cert_pem, leaf->key_pem, ""};
  TestServer server(options);
  // A TLS record header announcing a 512-byte handshake record, then the
  // first bytes of a ClientHello: the server waits for the other ~500.
  const std::string half_hello(
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x00\x00\x00", 14);
  for (const std::string& sent : {std::string(), half_hello}) {
    SCOPED_TRACE(sent.empty() ? "sends nothing" : "sends half a ClientHello");
    std::optional<absl::Duration> closed =
        TimeUntilServerCloses(PortOf(server.Address()), sent);
    ASSERT_TRUE(closed.has_value())
        << "still open after 30 s (gRPC's default is 120 s)";
    EXPECT_GE(*closed, absl::Milliseconds(500))
        << "closed long before the 1 s timeout: for another reason?";
  }
  // A real TLS client still gets in.
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca->cert_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto stub = v1::AuthService::NewStub(grpc::CreateCustomChannel(
      server.Address(), grpc::SslCredentials(ssl), args));
  auto context = ContextFor(server.root_token());
  v1::WhoAmIResponse who;
  grpc::Status status = stub->WhoAmI(context.get(), v1::WhoAmIRequest(), &who);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// ---------------------------------------------------------------------------
// Open streams per principal (--max-streams-per-principal).

constexpr uint32_t kPerPrincipal = 3;

class StreamsPerPrincipalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestServerOptions options;
    options.limits.streams.max_streams_per_principal = kPerPrincipal;
    server_ = std::make_unique<TestServer>(options);
    absl::StatusOr<std::string> alice = AddPrincipalWithPolicy(
        server_->vault(), "alice", AllowJson("acme/**", R"("read","write")"));
    absl::StatusOr<std::string> bob = AddPrincipalWithPolicy(
        server_->vault(), "bob", AllowJson("acme/**", R"("read")"));
    ASSERT_TRUE(alice.ok() && bob.ok());
    alice_ = *alice;
    bob_ = *bob;
    ASSERT_TRUE(server_->Upload("acme/big", RandomBytes(kBig, 1)).ok());
    ASSERT_TRUE(server_->Upload("acme/small", "small").ok());
  }

  // A download of acme/big held open by `token`, each on its own connection.
  std::unique_ptr<HeldDownload> Hold(
      const std::string& token,
      std::chrono::seconds deadline = std::chrono::seconds(120)) {
    return std::make_unique<HeldDownload>(OwnChannel(server_->Address()), token,
                                          "acme/big", deadline);
  }

  // Holds a download open once the limiter shows one of the principal's
  // slots free (a finished handler gives its slot back just after the
  // client sees the end).
  std::unique_ptr<HeldDownload> HoldWhenFree(const std::string& principal,
                                             const std::string& token) {
    WaitForAFreeSlot(*server_, principal, kPerPrincipal,
                     std::chrono::steady_clock::now() + kBound);
    std::unique_ptr<HeldDownload> held = Hold(token);
    grpc::Status status = held->Open();
    if (status.ok()) return held;
    ADD_FAILURE() << status.error_code() << " " << status.error_message();
    return nullptr;
  }

  std::unique_ptr<TestServer> server_;
  std::string alice_, bob_;
};

TEST_F(StreamsPerPrincipalTest,
       TheStreamBeyondTheLimitIsRefusedAndOtherPrincipalsAreNot) {
  std::vector<std::unique_ptr<HeldDownload>> held;
  for (uint32_t i = 0; i < kPerPrincipal; ++i) {
    held.push_back(Hold(alice_));
    grpc::Status status = held.back()->Open();
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
  }
  // limit+1, on yet another connection: refused before the header.
  DownloadResult refused = DownloadAs(server_->Address(), alice_, "acme/small");
  EXPECT_EQ(refused.status.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.status.error_message(),
            "too many open streams for principal alice (limit 3)");
  EXPECT_FALSE(refused.header.has_version());
  EXPECT_EQ(refused.bytes, "");
  // Uploads count too, and a refused one stores nothing.
  grpc::Status upload =
      UploadAs(server_->Address(), alice_, "acme/refused", "data");
  EXPECT_EQ(upload.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << upload.error_message();
  EXPECT_EQ(server_->Download("acme/refused").status.error_code(),
            StatusCode::NOT_FOUND);
  // Another principal is unaffected.
  DownloadResult other = DownloadAs(server_->Address(), bob_, "acme/small");
  EXPECT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_EQ(other.bytes, "small");
  // Once one of alice's streams has ended, she may open another.
  size_t received = 0;
  ASSERT_TRUE(held[0]->ReadToEnd(&received).ok());
  EXPECT_EQ(received, kBig);
  held.erase(held.begin());
  std::unique_ptr<HeldDownload> again = HoldWhenFree("alice", alice_);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(
      DownloadAs(server_->Address(), alice_, "acme/small").status.error_code(),
      StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(StreamsPerPrincipalTest, CancelledAndExpiredStreamsGiveTheirSlotsBack) {
  std::vector<std::unique_ptr<HeldDownload>> held;
  held.push_back(Hold(alice_));
  held.push_back(Hold(alice_));
  held.push_back(
      Hold(alice_, std::chrono::seconds(3)));  // deadline passes while held
  for (auto& h : held) ASSERT_TRUE(h->Open().ok());
  EXPECT_EQ(
      DownloadAs(server_->Address(), alice_, "acme/small").status.error_code(),
      StatusCode::RESOURCE_EXHAUSTED);
  held[0]->Cancel();
  EXPECT_EQ(held[0]->ReadToEnd().error_code(), StatusCode::CANCELLED);
  std::unique_ptr<HeldDownload> after_cancel = HoldWhenFree("alice", alice_);
  ASSERT_NE(after_cancel, nullptr);
  // Only held[2]'s deadline can free the next slot (held[1] is untouched).
  std::unique_ptr<HeldDownload> after_deadline = HoldWhenFree("alice", alice_);
  ASSERT_NE(after_deadline, nullptr);
  EXPECT_EQ(held[2]->ReadToEnd().error_code(), StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(
      DownloadAs(server_->Address(), alice_, "acme/small").status.error_code(),
      StatusCode::RESOURCE_EXHAUSTED)
      << "still 3 open: held[1], after_cancel, after_deadline";
}

TEST(StreamsPerPrincipalSilentUploadTest,
     AnUploadThatNeverSendsItsHeaderHoldsASlotUntilCutOff) {
  TestServerOptions options;
  options.limits.streams.max_streams_per_principal = 1;
  options.limits.streams.idle_timeout = absl::Seconds(4);
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/small", "small").ok());
  auto stub = v1::ArtifactService::NewStub(OwnChannel(server.Address()));
  auto context = ContextFor(server.root_token());
  v1::UploadResponse response;
  auto silent = stub->Upload(context.get(),
                             &response);  // sends its metadata, then nothing
  // Once the server has admitted the silent upload, root's one slot is taken.
  const auto give_up = std::chrono::steady_clock::now() + kBound;
  WaitForOpenStream(server, "root", give_up);
  grpc::Status status = DownloadSmallAsRoot(server).status;
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  // The idle watchdog cuts it off; its slot comes back.
  EXPECT_EQ(silent->Finish().error_code(), StatusCode::CANCELLED);
  WaitForAFreeSlot(server, "root", 1, give_up);
  status = DownloadSmallAsRoot(server).status;
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(StreamsPerPrincipalTraceTest,
     ATraceThatNeverSendsItsHeaderHoldsASlotUntilCutOff) {
  TestServerOptions options;
  options.limits.streams.max_streams_per_principal = 1;
  options.trace.idle_timeout = absl::Seconds(4);  // serve sets both alike
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/small", "small").ok());
  auto context = ContextFor(server.root_token());
  v1::TraceResponse response;
  auto silent = server.trace_stub().Trace(context.get(), &response);
  // Sends its metadata, then nothing: the slot is taken before the header.
  const auto give_up = std::chrono::steady_clock::now() + kBound;
  WaitForOpenStream(server, "root", give_up);
  grpc::Status status = DownloadSmallAsRoot(server).status;
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(silent->Finish().error_code(), StatusCode::CANCELLED);
  WaitForAFreeSlot(server, "root", 1, give_up);
  status = DownloadSmallAsRoot(server).status;
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(StreamsPerPrincipalTraceTest,
     ATraceHoldsOneOfThePrincipalsStreamsWhileItsFileArrives) {
  TestServerOptions options;
  options.limits.streams.max_streams_per_principal = 1;
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/small", "small").ok());
  auto context = ContextFor(server.root_token());
  v1::TraceResponse response;
  auto trace = server.trace_stub().Trace(context.get(), &response);
  v1::TraceRequest message;
  message.mutable_header()->set_size(5);
  ASSERT_TRUE(trace->Write(message));
  // Once the server has read the header, root's one slot is the trace's.
  const auto give_up = std::chrono::steady_clock::now() + kBound;
  WaitForOpenStream(server, "root", give_up);
  grpc::Status status = DownloadSmallAsRoot(server).status;
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(status.error_message(),
            "too many open streams for principal root (limit 1)");
  // The trace ends (5 bytes are no model); its slot comes back.
  message.set_chunk("12345");
  ASSERT_TRUE(trace->Write(message));
  message.mutable_end();
  ASSERT_TRUE(trace->Write(message));
  trace->WritesDone();
  EXPECT_EQ(trace->Finish().error_code(), StatusCode::INVALID_ARGUMENT);
  WaitForAFreeSlot(server, "root", 1, give_up);
  status = DownloadSmallAsRoot(server).status;
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(StreamsPerPrincipalTraceTest,
     ATraceIsRefusedWhileThePrincipalsSlotsAreTaken) {
  TestServerOptions options;
  options.limits.streams.max_streams_per_principal = 1;
  TestServer server(options);
  // A silent upload holds root's one slot once the server has admitted it.
  auto upload_stub = v1::ArtifactService::NewStub(OwnChannel(server.Address()));
  auto upload_context = ContextFor(server.root_token());
  v1::UploadResponse upload_response;
  auto silent = upload_stub->Upload(upload_context.get(), &upload_response);
  WaitForOpenStream(server, "root", std::chrono::steady_clock::now() + kBound);
  ASSERT_EQ(server.open_streams().OpenStreams("root"), 1);
  auto context = ContextFor(server.root_token());
  v1::TraceResponse response;
  auto trace = server.trace_stub().Trace(context.get(), &response);
  v1::TraceRequest message;
  message.mutable_header()->set_size(5);
  trace->Write(message);  // may fail once the server has refused the call
  trace->WritesDone();
  grpc::Status status = trace->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << status.error_message();
  EXPECT_EQ(status.error_message(),
            "too many open streams for principal root (limit 1)");
  upload_context->TryCancel();
  EXPECT_EQ(silent->Finish().error_code(), StatusCode::CANCELLED);
}

// ---------------------------------------------------------------------------
// Max receive message size (ServerLimits::max_message_bytes, 4 MiB).

TEST(MaxMessageSizeTest,
     AMessageOfExactlyTheLimitIsAcceptedAndOneByteMoreIsRefused) {
  TestServer server;
  const size_t limit =
      static_cast<size_t>(mvserver::ServerLimits{}.max_message_bytes);
  // UploadRequest{chunk} = tag (1 byte) + varint length (4 bytes for ~4 MiB) +
  // data.
  const size_t fits = limit - 5;
  v1::UploadRequest probe;
  probe.set_chunk(std::string(fits, 'x'));
  ASSERT_EQ(probe.ByteSizeLong(), limit);
  probe.set_chunk(std::string(fits + 1, 'x'));
  ASSERT_EQ(probe.ByteSizeLong(), limit + 1);

  const std::string exact = RandomBytes(fits, 1);
  ASSERT_TRUE(server.Upload("acme/exact", exact, nullptr, exact.size()).ok());
  DownloadResult got = server.Download("acme/exact");
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_TRUE(got.bytes == exact);

  const std::string over = RandomBytes(fits + 1, 2);
  grpc::Status refused = server.Upload("acme/over", over, nullptr, over.size());
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_EQ(refused.error_message(), "Received message larger than max (" +
                                         std::to_string(limit + 1) + " vs. " +
                                         std::to_string(limit) + ")");
  EXPECT_EQ(server.Download("acme/over").status.error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_TRUE(server.Upload("acme/after", "still serving").ok());
}

// ---------------------------------------------------------------------------
// Max concurrent streams per connection
// (ServerLimits::max_streams_per_connection). HTTP/2's
// SETTINGS_MAX_CONCURRENT_STREAMS does not refuse the L+1-th stream: the client
// transport queues it until one of the L ends.

TEST(MaxStreamsPerConnectionTest,
     TheStreamBeyondTheLimitWaitsOnItsConnectionUntilOneEnds) {
  constexpr int kL = 2;
  TestServerOptions options;
  options.limits.max_streams_per_connection = kL;
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/big", RandomBytes(kBig, 1)).ok());
  ASSERT_TRUE(server.Upload("acme/small", "small").ok());
  auto channel = OwnChannel(server.Address());
  std::vector<std::unique_ptr<HeldDownload>> held;
  for (int i = 0; i < kL; ++i) {
    held.push_back(std::make_unique<HeldDownload>(channel, server.root_token(),
                                                  "acme/big"));
    ASSERT_TRUE(held.back()->Open().ok());
  }
  HeldDownload queued(channel, server.root_token(), "acme/small");
  std::future<grpc::Status> opened =
      std::async(std::launch::async, [&] { return queued.Open(); });
  EXPECT_EQ(opened.wait_for(std::chrono::seconds(1)),
            std::future_status::timeout)
      << "served while " << kL << " streams were open on its connection";
  // Other connections are not affected.
  DownloadResult elsewhere =
      DownloadAs(server.Address(), server.root_token(), "acme/small");
  EXPECT_TRUE(elsewhere.status.ok()) << elsewhere.status.error_message();
  // One ends: the queued stream starts.
  ASSERT_TRUE(held[0]->ReadToEnd().ok());
  ASSERT_EQ(opened.wait_for(kBound), std::future_status::ready);
  grpc::Status status = opened.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(queued.ReadToEnd().ok());
}

// ---------------------------------------------------------------------------
// Ping enforcement (ServerLimits::min_ping_interval 10 s, max_ping_strikes 3).

TEST(KeepaliveEnforcementTest,
     AClientPingingTooOftenIsSentAwayAndItsCallFailsUnavailable) {
  TestServer server;
  ASSERT_TRUE(server.Upload("acme/big", RandomBytes(kBig, 1)).ok());
  grpc::ChannelArguments rude_args;
  rude_args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10);
  rude_args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  rude_args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA,
                   0);  // no client-side cap
  rude_args.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, 10);
  auto rude_channel = OwnChannel(server.Address(), rude_args);
  auto calm_channel = OwnChannel(server.Address());
  HeldDownload rude(rude_channel, server.root_token(), "acme/big");
  HeldDownload calm(calm_channel, server.root_token(), "acme/big");
  ASSERT_TRUE(rude.Open().ok());
  ASSERT_TRUE(calm.Open().ok());
  // While no data moves the rude client pings every 10 ms; the fourth ping
  // within 10 s draws GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
  EXPECT_TRUE(rude_channel->WaitForStateChange(
      GRPC_CHANNEL_READY, std::chrono::system_clock::now() + kBound))
      << "the pinging connection is still up after 30 s";
  grpc::Status status = rude.ReadToEnd();
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(status.error_message(), "Too many pings");
  // The well-behaved client on its own connection is untouched.
  EXPECT_EQ(calm_channel->GetState(false), GRPC_CHANNEL_READY);
  size_t received = 0;
  status = calm.ReadToEnd(&received);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(received, kBig);
}

// ---------------------------------------------------------------------------
// Idle connections (ServerLimits::max_connection_idle): a connection without
// calls is sent away; one with a call in flight is not.

TEST(ConnectionIdleTest, AConnectionWithoutCallsIsClosedAndACallReconnects) {
  TestServerOptions options;
  options.limits.max_connection_idle = absl::Seconds(1);
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/big", RandomBytes(kBig, 3)).ok());
  auto idle_channel = OwnChannel(server.Address());
  auto busy_channel = OwnChannel(server.Address());
  v1::GetVersionRequest request;
  request.set_ref("acme/big");
  v1::Version version;
  auto context = ContextFor(server.root_token());
  ASSERT_TRUE(v1::ArtifactService::NewStub(idle_channel)
                  ->GetVersion(context.get(), request, &version)
                  .ok());
  ASSERT_EQ(idle_channel->GetState(false), GRPC_CHANNEL_READY);
  HeldDownload held(busy_channel, server.root_token(), "acme/big");
  ASSERT_TRUE(held.Open().ok());
  EXPECT_TRUE(idle_channel->WaitForStateChange(
      GRPC_CHANNEL_READY, std::chrono::system_clock::now() + kBound))
      << "the idle connection is still up after 30 s";
  // The connection with a download in flight outlived the idle limit.
  EXPECT_EQ(busy_channel->GetState(false), GRPC_CHANNEL_READY);
  size_t received = 0;
  grpc::Status status = held.ReadToEnd(&received);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(received, kBig);
  // Being sent away costs the client nothing: the next call reconnects.
  auto again = ContextFor(server.root_token());
  EXPECT_TRUE(v1::ArtifactService::NewStub(idle_channel)
                  ->GetVersion(again.get(), request, &version)
                  .ok());
}

// ---------------------------------------------------------------------------
// Server threads (ServerLimits::max_threads): each sync call holds a thread.

TEST(MaxThreadsTest,
     CallsBeyondTheThreadQuotaAreResourceExhaustedUntilOneEnds) {
  constexpr int kThreads = 6;
  TestServerOptions options;
  options.limits.max_threads = kThreads;
  options.limits.streams.max_streams_per_principal =
      0;  // only the thread quota binds
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/big", RandomBytes(kBig, 1)).ok());
  std::vector<std::unique_ptr<HeldDownload>> held;
  grpc::Status refused;
  for (int i = 0; i <= kThreads; ++i) {
    auto h = std::make_unique<HeldDownload>(OwnChannel(server.Address()),
                                            server.root_token(), "acme/big");
    refused = h->Open();
    if (!refused.ok()) break;
    held.push_back(std::move(h));
  }
  // Pollers take threads from the same quota, so fewer than kThreads calls fit.
  EXPECT_LT(held.size(), size_t{kThreads})
      << "more calls held than threads allowed";
  EXPECT_GE(held.size(), size_t{1});
  EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_EQ(refused.error_message(), "Server Threadpool Exhausted");
  ASSERT_FALSE(held.empty());
  ASSERT_TRUE(held[0]->ReadToEnd().ok());
  held.erase(held.begin());
  // The thread goes back to the pool just after the client sees the end.
  const auto give_up = std::chrono::steady_clock::now() + kBound;
  DownloadResult after;
  for (;;) {
    after = DownloadAs(server.Address(), server.root_token(), "acme/big");
    if (after.status.error_code() != StatusCode::RESOURCE_EXHAUSTED ||
        std::chrono::steady_clock::now() > give_up) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
  EXPECT_EQ(after.bytes.size(), kBig);
}

// ---------------------------------------------------------------------------
// Failed authentication per address (VaultOptions::auth_throttle).

grpc::Status WhoAmI(TestServer& server, const std::string& token) {
  auto context = ContextFor(token);
  v1::WhoAmIResponse response;
  return server.auth_stub().WhoAmI(context.get(), v1::WhoAmIRequest(),
                                   &response);
}

// Every audit record with status `code`.
std::vector<mv::AuditRecord> RecordsWithCode(TestServer& server,
                                             StatusCode code) {
  std::vector<mv::AuditRecord> out;
  EXPECT_TRUE(server.vault()
                  .audit_log()
                  .ScanRecords(1,
                               [&](const mv::AuditRecord& r, std::string_view) {
                                 if (r.status_code ==
                                     static_cast<uint32_t>(code))
                                   out.push_back(r);
                                 return true;
                               })
                  .ok());
  return out;
}

TEST(AuthThrottleServerTest,
     FailuresBeyondTheAllowanceAreRefusedOnEveryServiceAndCountedNotLogged) {
  TestServerOptions options;
  options.auth_throttle = {.burst = 3, .per_minute = 1};
  TestServer server(options);
  ASSERT_TRUE(server.Upload("acme/model", "weights").ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(WhoAmI(server, "mvt_bad").error_code(),
              StatusCode::UNAUTHENTICATED);
  }
  for (int i = 0; i < 5; ++i) {
    grpc::Status refused = WhoAmI(server, "mvt_bad");
    EXPECT_EQ(refused.error_code(), StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(refused.error_message(),
                ::testing::StartsWith("too many failed authentications from "
                                      "127.0.0.1; retry in "));
  }
  // The streaming services and methods no service implements as well.
  DownloadResult download =
      DownloadAs(server.Address(), "mvt_bad", "acme/model");
  EXPECT_EQ(download.status.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(download.bytes.empty());
  EXPECT_EQ(
      server.CallPath("/modelvault.v1.Nope/Nothing", "mvt_bad").error_code(),
      StatusCode::RESOURCE_EXHAUSTED);
  // A valid token from the same address is never refused.
  EXPECT_TRUE(WhoAmI(server, server.root_token()).ok());

  EXPECT_EQ(RecordsWithCode(server, StatusCode::UNAUTHENTICATED).size(), 3u);
  EXPECT_TRUE(RecordsWithCode(server, StatusCode::RESOURCE_EXHAUSTED).empty());
  ASSERT_TRUE(server.vault().identity().AuditThrottledAuthentications().ok());
  std::vector<mv::AuditRecord> counted =
      RecordsWithCode(server, StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_EQ(counted.size(), 1u);
  EXPECT_EQ(counted[0].peer, "127.0.0.1");
  EXPECT_EQ(counted[0].decision, mv::AuditDecision::kUnauthenticated);
  EXPECT_THAT(counted[0].reason,
              ::testing::StartsWith(
                  "rate limited: 7 failed authentications refused from "));
}

// ---------------------------------------------------------------------------
// Calls to unknown methods wait for their audit record on the service's own
// worker, never on a gRPC callback thread, and only so many may wait.

TEST(UnknownMethodQueueTest, CallsBeyondTheWaitingBoundAreRefusedAtOnce) {
  std::atomic<bool> hold{false};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServerOptions options;
  options.audit.fault = [&]() -> absl::Status {
    if (hold) released.wait();
    return absl::OkStatus();
  };
  TestServer server(options);
  hold = true;  // every audit commit now waits, the worker's first included

  constexpr size_t kCalls =
      mvserver::UnknownMethodService::kMaxWaitingCalls + 2;
  // Over several connections: each admits only 64 streams at once.
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (size_t i = 0; i * 64 < kCalls + 64; ++i) {
    stubs.push_back(
        std::make_unique<grpc::GenericStub>(OwnChannel(server.Address())));
  }
  grpc::CompletionQueue queue;
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (size_t i = 0; i < kCalls; ++i) {
    auto call = std::make_unique<Call>();
    call->context.AddMetadata("authorization", "Bearer " + server.root_token());
    call->context.set_deadline(std::chrono::system_clock::now() + kBound);
    call->reader = stubs[i % stubs.size()]->PrepareUnaryCall(
        &call->context, "/acme.Nope/Nothing", grpc::ByteBuffer(), &queue);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  // While the waiting calls hold, the ones beyond the bound are answered.
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(queue.Next(&tag, &ok));
  const grpc::Status& first = static_cast<Call*>(tag)->status;
  EXPECT_EQ(first.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(first.error_message(),
            "server busy: too many calls to unknown methods at once");
  release.set_value();
  size_t refused = 1, unimplemented = 0;
  for (size_t done = 1; done < kCalls; ++done) {
    ASSERT_TRUE(queue.Next(&tag, &ok));
    const StatusCode code = static_cast<Call*>(tag)->status.error_code();
    refused += code == StatusCode::RESOURCE_EXHAUSTED;
    unimplemented += code == StatusCode::UNIMPLEMENTED;
  }
  EXPECT_LE(refused, 2u);  // the worker may not yet have taken the first
  EXPECT_EQ(refused + unimplemented, kCalls);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

}  // namespace
}  // namespace mvtesting
