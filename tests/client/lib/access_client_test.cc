// AccessClient over a real gRPC channel against in-process fakes of
// AuthService and AdminService: what it sends (metadata, deadline, request
// fields) and how it converts answers and errors. The real server's
// behaviour is exercised by tests/e2e/access_e2e_test.sh.
#include "client/lib/access_client.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace mvclient {
namespace {

namespace v1 = modelvault::v1;
using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;

// What the fakes saw of the last call.
struct Seen {
  absl::Mutex mu;
  std::optional<std::string> authorization ABSL_GUARDED_BY(mu);
  std::chrono::system_clock::time_point deadline ABSL_GUARDED_BY(mu);

  void Record(ServerContext* ctx) {
    absl::MutexLock lock(&mu);
    auto it = ctx->client_metadata().find("authorization");
    authorization.reset();
    if (it != ctx->client_metadata().end()) {
      authorization = std::string(it->second.data(), it->second.size());
    }
    deadline = ctx->deadline();
  }
};

class FakeAuthService final : public v1::AuthService::Service {
 public:
  explicit FakeAuthService(Seen& seen) : seen_(seen) {}
  Status WhoAmI(ServerContext* ctx, const v1::WhoAmIRequest*,
                v1::WhoAmIResponse* out) override {
    seen_.Record(ctx);
    out->set_principal("alice");
    out->set_kind(v1::PRINCIPAL_KIND_SERVICE);
    out->add_policies("reader");
    out->set_token_accessor("acc_1");
    out->set_tls_identity("uri:spiffe://acme/alice");
    out->set_token_expires_at_unix_ms(1714564800000);
    out->set_token_uses_left(7);
    return Status::OK;
  }

 private:
  Seen& seen_;
};

class FakeAdminService final : public v1::AdminService::Service {
 public:
  explicit FakeAdminService(Seen& seen) : seen_(seen) {}
  v1::CreatePrincipalRequest last_create;
  v1::CreateTokenRequest last_token;

  Status CreatePrincipal(ServerContext* ctx,
                         const v1::CreatePrincipalRequest* req,
                         v1::Principal* out) override {
    seen_.Record(ctx);
    last_create = *req;
    out->set_name(req->name());
    out->set_kind(req->kind());
    *out->mutable_policies() = req->policies();
    out->set_cert_identity(req->cert_identity());
    out->set_created_at_unix_ms(42);
    return Status::OK;
  }
  Status GetPrincipal(ServerContext* ctx, const v1::GetPrincipalRequest* req,
                      v1::Principal*) override {
    seen_.Record(ctx);
    return Status(StatusCode::NOT_FOUND,
                  absl::StrCat("no principal ", req->name()));
  }
  Status DeletePrincipal(ServerContext* ctx, const v1::DeletePrincipalRequest*,
                         v1::DeletePrincipalResponse* out) override {
    seen_.Record(ctx);
    out->set_revoked_tokens(3);
    return Status::OK;
  }
  Status CreateToken(ServerContext* ctx, const v1::CreateTokenRequest* req,
                     v1::CreateTokenResponse* out) override {
    seen_.Record(ctx);
    last_token = *req;
    out->set_token("mvt_secret");
    out->mutable_info()->set_accessor("acc_2");
    out->mutable_info()->set_principal(req->principal());
    out->mutable_info()->set_uses_left(req->uses() == 0 ? -1 : req->uses());
    return Status::OK;
  }
  Status ListTokens(ServerContext* ctx, const v1::ListTokensRequest* req,
                    v1::ListTokensResponse* out) override {
    seen_.Record(ctx);
    for (const char* acc : {"a", "b"}) {
      v1::TokenInfo* t = out->add_tokens();
      t->set_accessor(acc);
      t->set_principal(req->principal());
    }
    return Status::OK;
  }
  Status RevokeToken(ServerContext* ctx, const v1::RevokeTokenRequest*,
                     v1::RevokeTokenResponse*) override {
    seen_.Record(ctx);
    return Status(StatusCode::PERMISSION_DENIED, "admin:tokens not allowed");
  }
  Status PutPolicy(ServerContext* ctx, const v1::PutPolicyRequest* req,
                   v1::PolicyDocument* out) override {
    seen_.Record(ctx);
    out->set_name(req->name());
    out->set_json("{\"rules\":[]}");
    return Status::OK;
  }
  Status ListPolicies(ServerContext* ctx, const v1::ListPoliciesRequest*,
                      v1::ListPoliciesResponse* out) override {
    seen_.Record(ctx);
    out->add_names("reader");
    out->add_names("writer");
    return Status::OK;
  }

 private:
  Seen& seen_;
};

class AccessClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&auth_);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  std::shared_ptr<Client> Connect(const std::string& token) {
    ConnectionOptions opts;
    opts.address = absl::StrCat("127.0.0.1:", port_);
    opts.token = token;
    opts.unary_deadline = absl::Seconds(7);
    auto client = Client::Connect(opts);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::shared_ptr<Client>(*std::move(client)) : nullptr;
  }

  Seen seen_;
  FakeAuthService auth_{seen_};
  FakeAdminService admin_{seen_};
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(AccessClientTest, WhoAmISendsBearerTokenAndDeadline) {
  AccessClient access(Connect("mvt_good"));
  auto before = std::chrono::system_clock::now();
  auto id = access.WhoAmI();
  ASSERT_TRUE(id.ok()) << id.status();
  absl::MutexLock lock(&seen_.mu);
  EXPECT_EQ(seen_.authorization, "Bearer mvt_good");
  EXPECT_LE(seen_.deadline, before + std::chrono::seconds(8));
  EXPECT_GE(seen_.deadline, before + std::chrono::seconds(5));
}

TEST_F(AccessClientTest, WhoAmIConvertsEveryField) {
  auto id = AccessClient(Connect("mvt_good")).WhoAmI();
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->principal, "alice");
  EXPECT_EQ(id->kind, PrincipalKind::kService);
  EXPECT_EQ(id->policies, std::vector<std::string>{"reader"});
  EXPECT_EQ(id->token_accessor, "acc_1");
  EXPECT_EQ(id->tls_identity, "uri:spiffe://acme/alice");
  EXPECT_EQ(id->token_expires_at_unix_ms, 1714564800000);
  EXPECT_EQ(id->token_uses_left, 7);
}

TEST_F(AccessClientTest, NoTokenSendsNoAuthorizationHeader) {
  ASSERT_TRUE(AccessClient(Connect("")).WhoAmI().ok());
  absl::MutexLock lock(&seen_.mu);
  EXPECT_FALSE(seen_.authorization.has_value());
}

TEST_F(AccessClientTest, CreatePrincipalSendsAllFields) {
  AccessClient access(Connect("mvt_good"));
  NewPrincipal p{"trainer",
                 PrincipalKind::kService,
                 {"writer", "reader"},
                 "uri:spiffe://acme/trainer"};
  auto created = access.CreatePrincipal(p);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(admin_.last_create.kind(), v1::PRINCIPAL_KIND_SERVICE);
  EXPECT_EQ(admin_.last_create.policies_size(), 2);
  EXPECT_EQ(created->name, "trainer");
  EXPECT_EQ(created->kind, PrincipalKind::kService);
  EXPECT_EQ(created->cert_identity, "uri:spiffe://acme/trainer");
  EXPECT_EQ(created->created_at_unix_ms, 42);
}

TEST_F(AccessClientTest, CreateTokenSendsTtlInSecondsAndUses) {
  AccessClient access(Connect("mvt_good"));
  TokenRequest req{"bob", absl::Hours(8), 5, {"reader"}};
  auto issued = access.CreateToken(req);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(admin_.last_token.ttl_seconds(), 8 * 3600);
  EXPECT_EQ(admin_.last_token.uses(), 5);
  EXPECT_EQ(admin_.last_token.policies(0), "reader");
  EXPECT_EQ(issued->token, "mvt_secret");
  EXPECT_EQ(issued->info.accessor, "acc_2");
  EXPECT_EQ(issued->info.uses_left, 5);
}

TEST_F(AccessClientTest, DefaultTokenRequestIsUnlimited) {
  AccessClient access(Connect("mvt_good"));
  TokenRequest req;
  req.principal = "bob";
  ASSERT_TRUE(access.CreateToken(req).ok());
  EXPECT_EQ(admin_.last_token.ttl_seconds(), 0);
  EXPECT_EQ(admin_.last_token.uses(), 0);
}

TEST_F(AccessClientTest, ListsAreConverted) {
  AccessClient access(Connect("mvt_good"));
  auto tokens = access.ListTokens("bob");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[1].accessor, "b");
  EXPECT_EQ((*tokens)[1].principal, "bob");
  auto names = access.ListPolicies();
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(*names, (std::vector<std::string>{"reader", "writer"}));
  auto revoked = access.DeletePrincipal("bob");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, 3u);
  auto doc = access.PutPolicy("reader", "{}");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->name, "reader");
  EXPECT_EQ(doc->json, "{\"rules\":[]}");
}

TEST_F(AccessClientTest, ServerErrorsKeepTheirCodeAndMessage) {
  AccessClient access(Connect("mvt_good"));
  auto missing = access.GetPrincipal("nobody");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no principal nobody");
  EXPECT_EQ(access.RevokeToken("acc").code(),
            absl::StatusCode::kPermissionDenied);
  // Not implemented by the fake: the code gRPC gives it.
  EXPECT_EQ(access.ListPrincipals().status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(AccessClientTest, CancelledClientFailsCallsAsInterrupted) {
  std::shared_ptr<Client> client = Connect("mvt_good");
  AccessClient access(client);
  client->Cancel();
  auto id = access.WhoAmI();
  EXPECT_EQ(id.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(id.status().message(), "interrupted");
}

}  // namespace
}  // namespace mvclient
