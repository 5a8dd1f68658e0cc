// A vault sealed by unseal keys, through the real server (issue #17,
// "Sealed vaults with unseal shares"): sealed at start, every method of
// every service of the generated descriptors UNAVAILABLE, health
// NOT_SERVING; unseal progress, refused keys (malformed, another vault's,
// keys that combine to a wrong key), the rate limit and the expiry of a
// half-finished unseal; after the threshold everything works; Seal returns
// to the sealed state and the vault (with every key) is destroyed.
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/bytes.h"
#include "crypto/sha256.h"
#include "crypto/unseal_shares.h"
#include "server/rpc_method.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;
using ::testing::HasSubstr;

constexpr absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TestServerOptions Sealed(const mv::Clock* clock, uint32_t burst = 5) {
  TestServerOptions options;
  options.key_shares = 5;
  options.key_threshold = 3;
  options.start_sealed = true;
  options.unseal.clock = clock;
  options.unseal.failure_burst = burst;
  return options;
}

// Every method of every service in every modelvault/v1 proto file, from
// the generated descriptor pool; the files are the ones in the source tree,
// so a new file or RPC is covered without a change here.
std::vector<const google::protobuf::MethodDescriptor*> AllMethods() {
  (void)mvserver::RpcServices();  // links every file's descriptors in
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (const auto& entry :
       std::filesystem::directory_iterator(MV_PROTO_V1_DIR)) {
    if (entry.path().extension() != ".proto") continue;
    const std::string name =
        "modelvault/v1/" + entry.path().filename().string();
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
            name);
    EXPECT_NE(file, nullptr) << name;
    if (file == nullptr) continue;
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m)
        methods.push_back(file->service(s)->method(m));
    }
  }
  return methods;
}

bool AnswersWhileSealed(const google::protobuf::MethodDescriptor& method) {
  return method.full_name() == "modelvault.v1.OperatorService.Unseal" ||
         method.full_name() == "modelvault.v1.OperatorService.SealStatus";
}

std::string PathOf(const google::protobuf::MethodDescriptor& method) {
  return "/" + method.service()->full_name() + "/" + method.name();
}

// A unary call of `path` with `request` bytes; the status and the response.
std::pair<grpc::Status, std::string> RawCall(TestServer& server,
                                             const std::string& path,
                                             const std::string& request) {
  grpc::GenericStub stub(server.channel());
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  auto context = server.Context();
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), path, grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) { done.set_value(s); });
  grpc::Status status = done.get_future().get();
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (status.ok() && out.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices)
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return {status, bytes};
}

// grpc.health.v1.Health/Check for the whole server: the response is field 1
// (status) as a varint: 1 SERVING, 2 NOT_SERVING.
int HealthStatus(TestServer& server) {
  auto [status, bytes] = RawCall(server, "/grpc.health.v1.Health/Check", "");
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (bytes.size() != 2 || bytes[0] != 0x08) return -1;
  return bytes[1];
}

// Every RPC but Unseal and SealStatus, with an empty request, as root.
void ExpectEveryRpcUnavailable(TestServer& server, const std::string& why) {
  int checked = 0;
  for (const auto* method : AllMethods()) {
    if (AnswersWhileSealed(*method)) continue;
    SCOPED_TRACE(method->full_name());
    grpc::Status status = server.CallPath(PathOf(*method));
    EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(), why);
    ++checked;
  }
  EXPECT_GE(checked, 28);
  // And a method no service has.
  grpc::Status unknown = server.CallPath("/modelvault.v1.Nope/Nothing");
  EXPECT_EQ(unknown.error_code(), StatusCode::UNAVAILABLE);
  EXPECT_EQ(unknown.error_message(), why);
}

absl::StatusOr<v1::SealState> Unseal(TestServer& server,
                                     const std::string& key) {
  grpc::ClientContext context;  // no credentials: none are needed
  v1::UnsealRequest request;
  request.set_key(key);
  v1::SealState state;
  grpc::Status s = server.operator_stub().Unseal(&context, request, &state);
  if (!s.ok())
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  return state;
}

// As root: sealed, the token is ignored; unsealed, it is needed.
v1::SealState Status(TestServer& server) {
  auto context = server.Context();
  v1::SealState state;
  grpc::Status s = server.operator_stub().SealStatus(
      context.get(), v1::SealStatusRequest(), &state);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return state;
}

// Waits (bounded) until the vault a Seal dropped is destroyed.
bool WaitSealed(TestServer& server) {
  for (int i = 0; i < 2000 && server.slot().Sealing(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return !server.slot().Sealing();
}

TEST(SealedServer, StartsSealedAndAnswersEveryOtherRpcUnavailable) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  v1::SealState state = Status(server);
  EXPECT_TRUE(state.sealed());
  EXPECT_EQ(state.unlock(), "shares");
  EXPECT_EQ(state.threshold(), 3u);
  EXPECT_EQ(state.shares(), 5u);
  EXPECT_EQ(state.progress(), 0u);
  ExpectEveryRpcUnavailable(server,
                            "vault is sealed (0 of 3 unseal keys given)");
  EXPECT_EQ(HealthStatus(server), 2);
}

TEST(SealedServer, ProgressIsCountedAndNamedInTheRefusal) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  absl::StatusOr<v1::SealState> one = Unseal(server, server.shares()[3]);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(one->sealed());
  EXPECT_EQ(one->progress(), 1u);
  EXPECT_EQ(one->progress_expires_at_unix_ms(),
            absl::ToUnixMillis(kStart + absl::Minutes(10)));
  // The same key again adds nothing.
  EXPECT_THAT(Unseal(server, server.shares()[3]).status().message(),
              HasSubstr("already given"));
  absl::StatusOr<v1::SealState> two = Unseal(server, server.shares()[0]);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->progress(), 2u);
  ExpectEveryRpcUnavailable(server,
                            "vault is sealed (2 of 3 unseal keys given)");
  EXPECT_EQ(HealthStatus(server), 2);
}

TEST(SealedServer, AfterTheThresholdEverythingWorks) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  for (int i : {4, 1}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  absl::StatusOr<v1::SealState> done = Unseal(server, server.shares()[2]);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->sealed());
  EXPECT_EQ(HealthStatus(server), 1);
  ASSERT_TRUE(server.Upload("acme/m", "weights").ok());
  DownloadResult pulled = server.Download("acme/m");
  ASSERT_TRUE(pulled.status.ok()) << pulled.status.error_message();
  EXPECT_EQ(pulled.bytes, "weights");
  auto context = server.Context();
  v1::WhoAmIResponse me;
  ASSERT_TRUE(
      server.auth_stub().WhoAmI(context.get(), v1::WhoAmIRequest(), &me).ok());
  EXPECT_EQ(me.principal(), "root");
  // Unsealed, Unseal and SealStatus want credentials like any call.
  grpc::ClientContext anonymous;
  v1::SealState state;
  EXPECT_EQ(server.operator_stub()
                .SealStatus(&anonymous, v1::SealStatusRequest(), &state)
                .error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST(SealedServer, TooFewKeysLeaveItSealed) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  ASSERT_TRUE(Unseal(server, server.shares()[0]).ok());
  ASSERT_TRUE(Unseal(server, server.shares()[1]).ok());
  EXPECT_TRUE(Status(server).sealed());
  EXPECT_EQ(server.CallPath("/modelvault.v1.AuthService/WhoAmI").error_code(),
            StatusCode::UNAVAILABLE);
}

TEST(SealedServer, MalformedAndMistypedKeysAreRefused) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  EXPECT_THAT(Unseal(server, "mvt_not-a-share").status().message(),
              HasSubstr("not an unseal key"));
  std::string typo = server.shares()[0];
  typo[30] = typo[30] == 'a' ? 'b' : 'a';
  absl::Status refused = Unseal(server, typo).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("checksum mismatch"));
  EXPECT_THAT(std::string(refused.message()),
              ::testing::Not(HasSubstr(server.shares()[0].substr(20, 20))));
  EXPECT_EQ(Status(server).progress(), 0u);
}

TEST(SealedServer, AKeyOfAnotherVaultIsRefusedAtOnce) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  TestServer other(Sealed(&clock));
  ASSERT_TRUE(Unseal(server, server.shares()[0]).ok());
  absl::Status refused = Unseal(server, other.shares()[1]).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("another vault"));
  EXPECT_EQ(Status(server).progress(), 1u);  // nothing added, nothing lost
}

// Keys of another split of the same key carry the right tag, but mixed with
// this split's they combine to a wrong key: refused, progress reset.
TEST(SealedServer, KeysThatCombineToAWrongKeyResetTheProgress) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  std::vector<mv::UnsealShare> three;
  for (int i = 0; i < 3; ++i)
    three.push_back(*mv::ParseShare(server.shares()[i]));
  mv::SecretKey kek = *mv::CombineShares(three);
  std::vector<std::string> resplit = *mv::SplitKey(kek, 5, 3);
  ASSERT_TRUE(Unseal(server, server.shares()[0]).ok());
  ASSERT_TRUE(Unseal(server, server.shares()[1]).ok());
  absl::Status refused = Unseal(server, resplit[2]).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("do not combine"));
  v1::SealState state = Status(server);
  EXPECT_TRUE(state.sealed());
  EXPECT_EQ(state.progress(), 0u);
  // The right three still unseal it afterwards.
  for (int i : {0, 1, 2}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  EXPECT_FALSE(Status(server).sealed());
}

// A seal file rewritten to another key's tag and threshold lets that key's
// share through the tag check; the vault's key check value still refuses it.
TEST(SealedServer, ATamperedSealFileDoesNotOpenTheVault) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  server.Stop();
  mv::SecretKey forged = *mv::SecretKey::Random();
  std::vector<std::string> one = *mv::SplitKey(forged, 1, 1);
  const std::string seal = server.data_dir() + "/unseal.conf";
  std::ofstream(seal, std::ios::trunc)
      << mv::FormatSealConfig({1, 1, mv::ShareTag(forged)});
  server.Start();
  absl::Status refused = Unseal(server, one[0]).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("do not combine"));
  EXPECT_TRUE(Status(server).sealed());
}

TEST(SealedServer, RefusedKeysAreRateLimitedPerAddress) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock, /*burst=*/3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Unseal(server, "garbage").status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Beyond the allowance even a right key is not looked at.
  absl::Status limited = Unseal(server, server.shares()[0]).status();
  EXPECT_EQ(limited.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(limited.message(), HasSubstr("too many refused unseal keys"));
  EXPECT_EQ(Status(server).progress(), 0u);
  clock.Advance(absl::Minutes(1));  // one failure earned back
  EXPECT_TRUE(Unseal(server, server.shares()[0]).ok());
}

TEST(SealedServer, AHalfFinishedUnsealExpires) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  ASSERT_TRUE(Unseal(server, server.shares()[0]).ok());
  ASSERT_TRUE(Unseal(server, server.shares()[1]).ok());
  clock.Advance(absl::Minutes(10));
  EXPECT_EQ(Status(server).progress(), 0u);
  EXPECT_EQ(
      server.CallPath("/modelvault.v1.AuthService/WhoAmI").error_message(),
      "vault is sealed (0 of 3 unseal keys given)");
  // The third key alone starts over.
  absl::StatusOr<v1::SealState> state = Unseal(server, server.shares()[2]);
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->sealed());
  EXPECT_EQ(state->progress(), 1u);
}

TEST(SealedServer, RefusedKeysAreAuditedWhenTheVaultOpens) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  ASSERT_FALSE(Unseal(server, "garbage").ok());
  for (int i : {0, 1, 2}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  std::vector<mv::AuditRecord> unseals;
  ASSERT_TRUE(server.vault()
                  .audit_log()
                  .ScanRecords(1,
                               [&](const mv::AuditRecord& r, std::string_view) {
                                 if (r.method ==
                                     mvserver::VaultSlot::kUnsealMethod)
                                   unseals.push_back(r);
                                 return true;
                               })
                  .ok());
  ASSERT_EQ(unseals.size(), 2u);
  EXPECT_EQ(unseals[0].decision, mv::AuditDecision::kFailed);
  EXPECT_THAT(unseals[0].reason, HasSubstr("not an unseal key"));
  EXPECT_THAT(unseals[0].reason, HasSubstr("while sealed"));
  EXPECT_FALSE(unseals[0].peer.empty());
  EXPECT_EQ(unseals[1].decision, mv::AuditDecision::kAllowed);
  EXPECT_THAT(unseals[1].reason, HasSubstr("vault unsealed"));
  for (const mv::AuditRecord& r : unseals) {
    for (const std::string& share : server.shares())
      EXPECT_THAT(r.reason, ::testing::Not(HasSubstr(share.substr(20, 20))));
  }
}

TEST(SealedServer, SealReturnsToSealedAndDestroysTheVault) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  for (int i : {0, 1, 2}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  ASSERT_TRUE(server.Upload("acme/m", "weights").ok());
  std::weak_ptr<mv::Vault> vault = *server.slot().Acquire();
  ASSERT_FALSE(vault.expired());

  auto context = server.Context();
  v1::SealResponse sealed;
  grpc::Status status =
      server.operator_stub().Seal(context.get(), v1::SealRequest(), &sealed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(sealed.state().sealed());
  // The Vault object — its key ring, audit signing key, fingerprint key and
  // barrier, all SecretKeys wiped by their destructors — is gone once no
  // call holds it.
  ASSERT_TRUE(WaitSealed(server));
  EXPECT_TRUE(vault.expired());
  EXPECT_EQ(HealthStatus(server), 2);
  ExpectEveryRpcUnavailable(server,
                            "vault is sealed (0 of 3 unseal keys given)");
  // Sealing twice is refused, while sealed only by UNAVAILABLE.
  auto again = server.Context();
  EXPECT_EQ(server.operator_stub()
                .Seal(again.get(), v1::SealRequest(), &sealed)
                .error_code(),
            StatusCode::UNAVAILABLE);

  for (int i : {3, 4, 0}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  EXPECT_EQ(HealthStatus(server), 1);
  DownloadResult pulled = server.Download("acme/m");
  ASSERT_TRUE(pulled.status.ok()) << pulled.status.error_message();
  EXPECT_EQ(pulled.bytes, "weights");
}

// A push under way when the vault is sealed finishes on the vault it holds
// (the handler waits for the client's next message, so it is in flight for
// sure); the vault is destroyed only when it ends, new calls are refused
// meanwhile, and the version is there after the next unseal.
TEST(SealedServer, APushInFlightFinishesAndOnlyThenIsTheVaultDestroyed) {
  mv::FakeClock clock(kStart);
  TestServer server(Sealed(&clock));
  for (int i : {0, 1, 2}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  const std::string data = RandomBytes(300 << 10, 7);
  std::weak_ptr<mv::Vault> vault = *server.slot().Acquire();

  auto push_context = server.Context();
  v1::UploadResponse response;
  auto stream = server.stub().Upload(push_context.get(), &response);
  v1::UploadRequest message;
  message.mutable_header()->set_name("acme/late");
  ASSERT_TRUE(stream->Write(message));
  message.set_chunk(data.substr(0, 100 << 10));
  ASSERT_TRUE(stream->Write(message));
  // The handler has taken the vault once a second owner beside the slot
  // exists (a Write returns when the message is buffered, not received).
  for (int i = 0; i < 2000 && vault.use_count() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(vault.use_count(), 2);

  auto seal_context = server.Context();
  v1::SealResponse sealed;
  ASSERT_TRUE(server.operator_stub()
                  .Seal(seal_context.get(), v1::SealRequest(), &sealed)
                  .ok());
  EXPECT_EQ(server.CallPath("/modelvault.v1.AuthService/WhoAmI").error_code(),
            StatusCode::UNAVAILABLE);
  EXPECT_FALSE(vault.expired());  // the push still holds it
  EXPECT_TRUE(server.slot().Sealing());

  message.set_chunk(data.substr(100 << 10));
  ASSERT_TRUE(stream->Write(message));
  mv::Sha256Digest digest = mv::Sha256::Of(data);
  message.mutable_trailer()->set_sha256(std::string(mv::AsChars(digest)));
  ASSERT_TRUE(stream->Write(message));
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(WaitSealed(server));
  EXPECT_TRUE(vault.expired());

  for (int i : {2, 3, 4}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  DownloadResult pulled = server.Download("acme/late");
  ASSERT_TRUE(pulled.status.ok()) << pulled.status.error_message();
  EXPECT_EQ(pulled.bytes, data);
}

// Right keys, but the vault does not open (here: its audit witness is
// gone while the log has checkpoints): the reason stays on the server, the
// caller gets one line without paths, and the vault stays sealed.
TEST(SealedServer, AVaultThatDoesNotOpenSaysSoWithoutDetails) {
  mv::FakeClock clock(kStart);
  TestServerOptions options = Sealed(&clock);
  TempDir witness_dir;
  options.audit.witness_path = witness_dir.Sub("witness");
  TestServer server(options);
  for (int i : {0, 1, 2}) ASSERT_TRUE(Unseal(server, server.shares()[i]).ok());
  ASSERT_TRUE(server.slot().Seal().ok());
  ASSERT_TRUE(WaitSealed(server));  // the final checkpoint reached the witness
  ASSERT_TRUE(std::filesystem::remove(witness_dir.Sub("witness")));
  ASSERT_TRUE(Unseal(server, server.shares()[0]).ok());
  ASSERT_TRUE(Unseal(server, server.shares()[1]).ok());
  absl::Status refused = Unseal(server, server.shares()[2]).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("cannot be opened"));
  EXPECT_THAT(std::string(refused.message()),
              ::testing::Not(HasSubstr(witness_dir.path())));
  v1::SealState state = Status(server);
  EXPECT_TRUE(state.sealed());
  EXPECT_EQ(state.progress(), 0u);
}

TEST(SealedServer, AKeyFileVaultIsNeverSealed) {
  TestServer server;
  v1::SealState state = Status(server);
  EXPECT_FALSE(state.sealed());
  EXPECT_EQ(state.unlock(), "key-file");
  EXPECT_EQ(HealthStatus(server), 1);
  auto context = server.Context();
  v1::SealResponse sealed;
  grpc::Status status =
      server.operator_stub().Seal(context.get(), v1::SealRequest(), &sealed);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("cannot be sealed"));
  EXPECT_TRUE(server.Upload("acme/m", "still works").ok());
}

}  // namespace
}  // namespace mvtesting
