// Client over a real gRPC channel against a small in-process fake of
// ArtifactService, so the client's own behaviour (metadata, pagination,
// verification, watchdog, cancellation, cleanup) is tested without the real
// server. The real server is exercised by tests/e2e.
#include <gmock/gmock.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/lib/client.h"
#include "common/xxh3.h"
#include "modelvault/v1/artifact.grpc.pb.h"
#include "test_util.h"

namespace mvclient {
namespace {

namespace fs = std::filesystem;
namespace v1 = modelvault::v1;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
using testing::Digest;
using testing::Pattern;

class FakeArtifactService final : public v1::ArtifactService::Service {
 public:
  std::atomic<bool> corrupt_trailer{false};
  std::atomic<bool> misreport_size{false};  // Upload answers one byte more
  std::atomic<bool> stall_after_header{false};
  std::atomic<bool> stalled{false};  // a download sent its header and waits
  std::atomic<bool> saw_cancel{false};
  std::atomic<int> busy_uploads{0};  // refuse this many as "server busy"
  std::atomic<int> uploads{0};

  Status Upload(ServerContext* ctx, grpc::ServerReader<v1::UploadRequest>* in,
                v1::UploadResponse* out) override {
    if (!Authorized(ctx)) return Unauthenticated();
    v1::UploadRequest msg;
    if (!in->Read(&msg) || !msg.has_header()) {
      return Status(StatusCode::INVALID_ARGUMENT, "header first");
    }
    v1::UploadHeader header = msg.header();
    ++uploads;
    if (busy_uploads > 0) {
      --busy_uploads;
      return Status(StatusCode::RESOURCE_EXHAUSTED,
                    "server busy: a model header needs 64 MiB and others "
                    "hold 200 of 256 MiB; retry");
    }
    std::string data;
    v1::UploadTrailer trailer;
    while (in->Read(&msg)) {
      if (msg.has_chunk()) data += msg.chunk();
      if (msg.has_trailer()) trailer = msg.trailer();
    }
    if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "gone");
    // Like modelvaultd: the client's check must be there and match.
    if (!trailer.has_xxh3_64() || trailer.xxh3_64() != mv::Xxh3::Of(data))
      return Status(StatusCode::DATA_LOSS, "checksum");
    absl::MutexLock lock(&mu_);
    v1::Version& v = versions_[header.name()].emplace_back();
    v.set_name(header.name());
    v.set_number(versions_[header.name()].size());
    v.set_size(data.size() + (misreport_size ? 1 : 0));
    v.set_sha256(Digest(data));
    v.set_format(v1::FORMAT_BLOB);
    v.mutable_labels()->insert(header.labels().begin(), header.labels().end());
    for (const auto& a : header.aliases()) v.add_aliases(a);
    data_[absl::StrCat(v.name(), "@", v.number())] = data;
    *out->mutable_version() = v;
    return Status::OK;
  }

  Status Download(ServerContext* ctx, const v1::DownloadRequest* req,
                  grpc::ServerWriter<v1::DownloadResponse>* out) override {
    if (!Authorized(ctx)) return Unauthenticated();
    v1::Version v;
    std::string data;
    if (!Find(req->ref(), v, data))
      return Status(StatusCode::NOT_FOUND, req->ref());
    v1::DownloadResponse msg;
    *msg.mutable_header()->mutable_version() = v;
    msg.mutable_header()->set_length(data.size());
    out->Write(msg);
    if (stall_after_header) {
      stalled = true;
      while (!ctx->IsCancelled()) ::usleep(10'000);
      saw_cancel = true;
      return Status(StatusCode::CANCELLED, "client went away");
    }
    for (size_t i = 0; i < data.size(); i += kMaxChunkBytes) {
      msg.set_chunk(data.substr(i, kMaxChunkBytes));
      out->Write(msg);
    }
    msg.mutable_trailer()->set_sha256(corrupt_trailer ? Digest("x")
                                                      : Digest(data));
    out->Write(msg);
    return Status::OK;
  }

  Status GetVersion(ServerContext* ctx, const v1::GetVersionRequest* req,
                    v1::Version* out) override {
    if (!Authorized(ctx)) return Unauthenticated();
    std::string data;
    if (!Find(req->ref(), *out, data))
      return Status(StatusCode::NOT_FOUND, req->ref());
    return Status::OK;
  }

  // Pages of at most 2, token = index of the next version.
  Status ListVersions(ServerContext* ctx, const v1::ListVersionsRequest* req,
                      v1::ListVersionsResponse* out) override {
    if (!Authorized(ctx)) return Unauthenticated();
    absl::MutexLock lock(&mu_);
    std::vector<v1::Version> all;
    for (const auto& [name, vs] : versions_) {
      if (name.rfind(req->prefix(), 0) != 0) continue;
      all.insert(all.end(), vs.begin(), vs.end());
    }
    size_t start = 0;
    if (!req->page_token().empty() &&
        !absl::SimpleAtoi(req->page_token(), &start)) {
      return Status(StatusCode::INVALID_ARGUMENT, "token");
    }
    for (size_t i = start; i < all.size() && i < start + 2; ++i) {
      *out->add_versions() = all[i];
    }
    if (start + 2 < all.size())
      out->set_next_page_token(std::to_string(start + 2));
    return Status::OK;
  }

 private:
  static bool Authorized(ServerContext* ctx) {
    auto it = ctx->client_metadata().find("authorization");
    return it != ctx->client_metadata().end() &&
           std::string(it->second.data(), it->second.size()) ==
               "Bearer mvt_good";
  }
  static Status Unauthenticated() {
    return Status(StatusCode::UNAUTHENTICATED, "invalid or missing token");
  }
  bool Find(const std::string& ref, v1::Version& v, std::string& data) {
    absl::MutexLock lock(&mu_);
    std::string key = ref;
    if (ref.find('@') == std::string::npos) {
      auto it = versions_.find(ref);
      if (it == versions_.end() || it->second.empty()) return false;
      key = absl::StrCat(ref, "@", it->second.size());
    }
    auto d = data_.find(key);
    if (d == data_.end()) return false;
    size_t at = key.find('@');
    v = versions_[key.substr(0, at)][std::stoul(key.substr(at + 1)) - 1];
    data = d->second;
    return true;
  }

  absl::Mutex mu_;
  std::map<std::string, std::vector<v1::Version>> versions_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> data_ ABSL_GUARDED_BY(mu_);
};

class ClientFakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  std::unique_ptr<Client> Connect(const std::string& token = "mvt_good") {
    ConnectionOptions opts;
    opts.address = absl::StrCat("127.0.0.1:", port_);
    opts.token = token;
    opts.stream_idle_timeout = absl::Milliseconds(500);
    opts.busy_retries = 2;
    opts.busy_backoff = absl::Milliseconds(10);
    auto client = Client::Connect(opts);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  std::string WriteInput(const std::string& data) {
    std::string path = dir_.File("input.bin");
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  FakeArtifactService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  testing::TempDir dir_;
};

TEST_F(ClientFakeServerTest, PushThenPullIsByteIdentical) {
  auto client = Connect();
  std::string data = Pattern(3 * kMaxChunkBytes + 17);
  PushOptions opts;
  opts.labels = {{"team", "nlp"}};
  opts.aliases = {"prod"};
  auto pushed = client->Push(WriteInput(data), "acme/x", opts);
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->number(), 1u);
  EXPECT_EQ(pushed->labels().at("team"), "nlp");

  std::string dest = dir_.File("out.bin");
  uint64_t last = 0;
  auto pulled = client->Pull("acme/x@1", dest, {},
                             [&](uint64_t done, uint64_t) { last = done; });
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(testing::ReadFile(dest), data);
  EXPECT_EQ(last, data.size());
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST_F(ClientFakeServerTest, PushFromPipe) {
  auto client = Connect();
  std::string data = Pattern(kMaxChunkBytes + 5);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    ASSERT_EQ(::write(fds[1], data.data(), data.size()),
              static_cast<ssize_t>(data.size()));
    ::close(fds[1]);
  });
  auto pushed = client->PushFd(fds[0], 0, "acme/piped", {});
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->sha256(), Digest(data));
}

TEST_F(ClientFakeServerTest, APushRefusedAsServerBusyIsSentAgainFromItsStart) {
  auto client = Connect();
  const std::string data = Pattern(300000);
  service_.busy_uploads = 2;
  auto pushed = client->Push(WriteInput(data), "acme/x", {});
  ASSERT_TRUE(pushed.ok()) << pushed.status();
  EXPECT_EQ(pushed->sha256(), Digest(data));
  EXPECT_EQ(pushed->number(), 1u) << "one version, not three";
  EXPECT_EQ(service_.uploads, 3);
}

TEST_F(ClientFakeServerTest, ABusyServerIsRetriedABoundedNumberOfTimes) {
  auto client = Connect();
  service_.busy_uploads = 100;
  auto pushed = client->Push(WriteInput("abc"), "acme/x", {});
  EXPECT_EQ(pushed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(pushed.status().message()),
              ::testing::HasSubstr("server busy"));
  EXPECT_EQ(service_.uploads, 1 + 2) << "busy_retries = 2 in Connect()";
}

// README: a push from stdin (mvault push -: PushFd on fd 0) or from any
// pipe cannot be sent again, so "server busy" fails it at once.
TEST_F(ClientFakeServerTest, APipedPushRefusedAsServerBusyIsNotRetried) {
  auto client = Connect();
  service_.busy_uploads = 100;
  const std::string data = Pattern(1000);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], data.data(), data.size()),
            static_cast<ssize_t>(data.size()));  // fits in the pipe's buffer
  ::close(fds[1]);
  auto pushed = client->PushFd(fds[0], 0, "acme/piped", {});
  ::close(fds[0]);
  EXPECT_EQ(pushed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(pushed.status().message()),
              ::testing::HasSubstr("server busy"));
  EXPECT_EQ(service_.uploads, 1) << "sent once, although busy_retries = 2";
  // A named pipe given as the file is no different from stdin.
  const std::string fifo = dir_.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << data; });
  pushed = client->Push(fifo, "acme/piped", {});
  writer.join();
  EXPECT_EQ(pushed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(service_.uploads, 2);
}

TEST_F(ClientFakeServerTest, WrongTokenIsUnauthenticated) {
  auto client = Connect("mvt_bad");
  EXPECT_EQ(client->Get("acme/x").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(client->Push(WriteInput("abc"), "acme/x", {}).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(ClientFakeServerTest, MissingVersionIsNotFoundAndLeavesNoFile) {
  auto client = Connect();
  std::string dest = dir_.File("out.bin");
  EXPECT_EQ(client->Pull("acme/none@3", dest).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST_F(ClientFakeServerTest, CorruptTrailerIsDataLossAndLeavesNoFile) {
  auto client = Connect();
  ASSERT_TRUE(client->Push(WriteInput(Pattern(5000)), "acme/x", {}).ok());
  service_.corrupt_trailer = true;
  std::string dest = dir_.File("out.bin");
  EXPECT_EQ(client->Pull("acme/x", dest).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST_F(ClientFakeServerTest, PushAnsweredWithAnotherSizeIsDataLoss) {
  auto client = Connect();
  service_.misreport_size = true;
  auto pushed = client->Push(WriteInput(Pattern(5000)), "acme/x", {});
  EXPECT_EQ(pushed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(pushed.status().message(),
            "server stored 5001 bytes but we sent 5000");
}

TEST_F(ClientFakeServerTest, StalledDownloadTripsIdleWatchdog) {
  auto client = Connect();
  ASSERT_TRUE(client->Push(WriteInput("abc"), "acme/x", {}).ok());
  service_.stall_after_header = true;
  std::string dest = dir_.File("out.bin");
  auto pulled = client->Pull("acme/x", dest);
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

TEST_F(ClientFakeServerTest, CancelInterruptsPullAndCleansUp) {
  auto client = Connect();
  ASSERT_TRUE(client->Push(WriteInput("abc"), "acme/x", {}).ok());
  service_.stall_after_header = true;
  std::string dest = dir_.File("out.bin");
  // Cancels once the pull is under way (the server sent its header), so the
  // test interrupts a pull rather than refusing one not yet started.
  std::thread canceller([&] {
    while (!service_.stalled) ::usleep(1'000);
    client->Cancel();
  });
  auto pulled = client->Pull("acme/x", dest);
  canceller.join();
  // The server's handler notices the cancel on its next poll.
  for (int i = 0; i < 1000 && !service_.saw_cancel; ++i) ::usleep(10'000);
  EXPECT_TRUE(service_.saw_cancel) << "the server saw the pull end";
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pulled.status().message(), "interrupted");
  EXPECT_FALSE(fs::exists(dest + ".partial"));
  // Later calls fail fast too.
  EXPECT_EQ(client->Get("acme/x").status().code(),
            absl::StatusCode::kCancelled);
}

TEST_F(ClientFakeServerTest, ListAllWalksEveryPage) {
  auto client = Connect();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->Push(WriteInput("v"), "acme/x", {}).ok());
  }
  ASSERT_TRUE(client->Push(WriteInput("v"), "other/y", {}).ok());
  auto all = client->ListAll("acme/");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->back().number(), 5u);
  auto page = client->List("", 0, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->versions_size(), 2);
  EXPECT_FALSE(page->next_page_token().empty());
}

TEST(ClientConnectTest, ClosedPortIsUnavailableAndNamesTheAddress) {
  ConnectionOptions opts;
  opts.address = "127.0.0.1:1";
  auto client = Client::Connect(opts);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find(
                "cannot reach modelvault server at 127.0.0.1:1"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace mvclient
