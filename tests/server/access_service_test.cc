// Access control through the real server: filtered listings, download
// budgets, denials that reveal nothing, conditions on the real peer address,
// and the AuthService/AdminService handlers.
#include <gtest/gtest.h>

#include <set>

#include "common/bytes.h"
#include "crypto/sha256.h"
#include "crypto/token.h"
#include "server/access_setup.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;

class AccessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CallerTokens> tokens = SetUpCallers(server_.vault());
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *tokens;
  }

  DownloadResult Download(const std::string& token, const std::string& ref,
                          uint64_t offset = 0, uint64_t length = 0) {
    auto context = server_.Context(token);
    v1::DownloadRequest request;
    request.set_ref(ref);
    request.set_offset(offset);
    request.set_length(length);
    DownloadResult result;
    bool header_seen = false;
    auto stream = server_.stub().Download(context.get(), request);
    v1::DownloadResponse message;
    while (stream->Read(&message)) {
      if (message.has_header()) header_seen = true;
      if (message.kind_case() == v1::DownloadResponse::kChunk)
        result.bytes += message.chunk();
    }
    result.status = stream->Finish();
    if (!header_seen) result.header.Clear();
    header_seen_ = header_seen;
    return result;
  }

  // Every version `token` sees under `prefix`, following page tokens.
  std::vector<std::string> ListAll(const std::string& token,
                                   const std::string& prefix,
                                   uint32_t page_size, int* pages = nullptr) {
    std::vector<std::string> seen;
    std::string page_token;
    int count = 0;
    do {
      auto context = server_.Context(token);
      v1::ListVersionsRequest request;
      request.set_prefix(prefix);
      request.set_page_size(page_size);
      request.set_page_token(page_token);
      v1::ListVersionsResponse response;
      grpc::Status status =
          server_.stub().ListVersions(context.get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const v1::Version& v : response.versions()) {
        seen.push_back(v.name() + "@" + std::to_string(v.number()));
      }
      page_token = response.next_page_token();
      ++count;
    } while (!page_token.empty() && count < 100);
    if (pages != nullptr) *pages = count;
    return seen;
  }

  grpc::Status GetVersion(const std::string& token, const std::string& ref) {
    auto context = server_.Context(token);
    v1::GetVersionRequest request;
    request.set_ref(ref);
    v1::Version response;
    return server_.stub().GetVersion(context.get(), request, &response);
  }

  TestServer server_;
  CallerTokens tokens_;
  bool header_seen_ = false;
};

TEST_F(AccessServiceTest, ListingShowsOnlyWhatTheCallerMayList) {
  for (const char* name : {"a/one", "a/two", "ab/three", "b/one", "c/secret"}) {
    ASSERT_TRUE(server_.Upload(name, name).ok());
  }
  EXPECT_EQ(ListAll(tokens_.reader_a, "", 0),
            (std::vector<std::string>{"a/one@1", "a/two@1"}));
  EXPECT_EQ(ListAll(tokens_.reader_b, "", 0),
            (std::vector<std::string>{"b/one@1"}));
  // A prefix covering names the caller may not list returns only its own.
  EXPECT_EQ(ListAll(tokens_.reader_a, "a", 0),
            (std::vector<std::string>{"a/one@1", "a/two@1"}));
  // Nothing visible is an empty list, not an error.
  EXPECT_TRUE(ListAll(tokens_.reader_b, "c/", 0).empty());
  EXPECT_TRUE(ListAll(tokens_.admin, "", 0).empty());
  EXPECT_EQ(ListAll(server_.root_token(), "", 0).size(), 5u);
}

TEST_F(AccessServiceTest, PagesSkipHiddenVersionsAndNeverEndOnOne) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(server_.Upload("a/m" + std::to_string(i), "x").ok());
    ASSERT_TRUE(server_.Upload("b/m" + std::to_string(i), "x").ok());
    ASSERT_TRUE(server_.Upload("c/m" + std::to_string(i), "x").ok());
  }
  int pages = 0;
  std::vector<std::string> seen = ListAll(tokens_.reader_b, "", 2, &pages);
  ASSERT_EQ(seen.size(), 7u);
  for (const std::string& name : seen)
    EXPECT_TRUE(name.starts_with("b/")) << name;
  // 7 visible in pages of 2: four pages, none of them empty but the last.
  EXPECT_LE(pages, 5);
}

TEST_F(AccessServiceTest, AnExhaustedDownloadBudgetSendsNoByte) {
  ASSERT_TRUE(server_.Upload("q/model", std::string(1000, 'w')).ok());
  absl::StatusOr<std::string> token = AddPrincipalWithPolicy(
      server_.vault(), "budgeted",
      R"({"rules":[{"effect":"allow","artifacts":["q/**"],"actions":["read"],)"
      R"("conditions":{"max_downloads_per_day":2,"max_bytes_per_day":1500}}]})");
  ASSERT_TRUE(token.ok()) << token.status();
  DownloadResult first = Download(*token, "q/model", 0, 600);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.bytes.size(), 600u);
  // 600 + 1000 > 1500 bytes: refused before the header.
  DownloadResult over_bytes = Download(*token, "q/model");
  EXPECT_EQ(over_bytes.status.error_code(), StatusCode::RESOURCE_EXHAUSTED)
      << over_bytes.status.error_message();
  EXPECT_EQ(over_bytes.bytes.size(), 0u);
  EXPECT_FALSE(header_seen_);
  DownloadResult second = Download(*token, "q/model", 600, 0);
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(second.bytes.size(), 400u);
  // Third download of the day: the count budget is spent.
  DownloadResult third = Download(*token, "q/model", 0, 1);
  EXPECT_EQ(third.status.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(third.bytes.size(), 0u);
  EXPECT_FALSE(header_seen_);
  // Other principals are not charged.
  EXPECT_TRUE(Download(server_.root_token(), "q/model").status.ok());
}

TEST_F(AccessServiceTest, DenialIsTheSameWhetherOrNotTheArtifactExists) {
  ASSERT_TRUE(server_.Upload("a/model", "weights").ok());
  ASSERT_TRUE(server_.vault().catalog().SetAlias("a/model@1", "prod").ok());
  // Same name, existing vs missing version/alias: byte-identical answers.
  for (const auto& [present, absent] :
       std::vector<std::pair<std::string, std::string>>{
           {"a/model@1", "a/model@9"},
           {"a/model@prod", "a/model@nope"},
           {"a/model", "a/model@latest"}}) {
    SCOPED_TRACE(present + " vs " + absent);
    DownloadResult p = Download(tokens_.reader_b, present),
                   a = Download(tokens_.reader_b, absent);
    EXPECT_EQ(p.status.error_code(), StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(a.status.error_code(), StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(p.status.error_message(), a.status.error_message());
    grpc::Status gp = GetVersion(tokens_.reader_b, present),
                 ga = GetVersion(tokens_.reader_b, absent);
    EXPECT_EQ(gp.error_code(), StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(gp.error_message(), ga.error_message());
  }
  // Existing vs never-existing artifact: same code, messages differ only by
  // the name the caller sent.
  grpc::Status existing = GetVersion(tokens_.reader_b, "a/model");
  grpc::Status missing = GetVersion(tokens_.reader_b, "a/ghost");
  EXPECT_EQ(existing.error_code(), missing.error_code());
  std::string m = missing.error_message();
  m.replace(m.find("a/ghost"), 7, "a/model");
  EXPECT_EQ(existing.error_message(), m);
  // Deleting and aliasing likewise (reader of A may read, not delete).
  auto context = server_.Context(tokens_.reader_a);
  v1::DeleteVersionRequest del;
  del.set_ref("a/model@9");
  v1::DeleteVersionResponse del_response;
  EXPECT_EQ(server_.stub()
                .DeleteVersion(context.get(), del, &del_response)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(AccessServiceTest, AnUploadThatSetsAliasesAlsoNeedsTheAliasAction) {
  absl::StatusOr<std::string> pusher = AddPrincipalWithPolicy(
      server_.vault(), "pusher", AllowJson("a/**", R"("write")"));
  ASSERT_TRUE(pusher.ok()) << pusher.status();
  auto push = [&](const std::string& token, bool with_alias) {
    auto context = server_.Context(token);
    v1::UploadResponse response;
    auto stream = server_.stub().Upload(context.get(), &response);
    v1::UploadRequest message;
    message.mutable_header()->set_name("a/pushed");
    if (with_alias) message.mutable_header()->add_aliases("prod");
    stream->Write(message);
    message.set_chunk("w");
    stream->Write(message);
    message.mutable_trailer()->set_sha256(
        std::string(mv::AsChars(mv::Sha256::Of("w"))));
    stream->Write(message);
    stream->WritesDone();
    return stream->Finish();
  };
  grpc::Status denied = push(*pusher, true);
  EXPECT_EQ(denied.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "permission denied: alias on a/pushed");
  EXPECT_TRUE(push(*pusher, false).ok());
  EXPECT_TRUE(push(tokens_.writer_a, true).ok());
  // The denied upload published nothing.
  EXPECT_EQ(ListAll(server_.root_token(), "a/pushed", 0),
            (std::vector<std::string>{"a/pushed@1", "a/pushed@2"}));
}

TEST_F(AccessServiceTest, AMalformedNameIsInvalidBeforeAnyPolicyDecision) {
  EXPECT_EQ(GetVersion(tokens_.reader_b, "A/Bad").error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetVersion("", "A/Bad").error_code(),
            StatusCode::INVALID_ARGUMENT);  // root
  // But credentials come first.
  auto context = std::make_unique<grpc::ClientContext>();
  v1::GetVersionRequest request;
  request.set_ref("A/Bad");
  v1::Version response;
  EXPECT_EQ(
      server_.stub().GetVersion(context.get(), request, &response).error_code(),
      StatusCode::UNAUTHENTICATED);
}

TEST_F(AccessServiceTest, SourceCidrsSeeTheRealPeerAddress) {
  ASSERT_TRUE(server_.Upload("n/model", "bytes").ok());
  auto conditioned = [](const std::string& cidr) {
    return R"({"rules":[{"effect":"allow","artifacts":["n/**"],"actions":["read"],)"
           R"("conditions":{"source_cidrs":[")" +
           cidr + R"("]}}]})";
  };
  absl::StatusOr<std::string> local = AddPrincipalWithPolicy(
      server_.vault(), "local", conditioned("127.0.0.0/8"));
  absl::StatusOr<std::string> remote = AddPrincipalWithPolicy(
      server_.vault(), "remote", conditioned("10.0.0.0/8"));
  ASSERT_TRUE(local.ok() && remote.ok());
  EXPECT_EQ(Download(*local, "n/model").bytes, "bytes");
  EXPECT_EQ(Download(*remote, "n/model").status.error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(AccessServiceTest,
       ARuleRequiringFingerprintsDoesNotMatchUntilTraceExists) {
  ASSERT_TRUE(server_.Upload("f/model", "bytes").ok());
  absl::StatusOr<std::string> token = AddPrincipalWithPolicy(
      server_.vault(), "fp",
      R"({"rules":[{"effect":"allow","artifacts":["f/**"],"actions":["read"],)"
      R"("conditions":{"require_fingerprint":true}}]})");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(Download(*token, "f/model").status.error_code(),
            StatusCode::PERMISSION_DENIED);
}

TEST_F(AccessServiceTest, OneCallConsumesOneUseOfALimitedToken) {
  ASSERT_TRUE(server_.Upload("a/model", "weights").ok());
  mv::TokenSpec spec;
  spec.principal = "reader-a";
  spec.uses = 2;
  absl::StatusOr<mv::IssuedToken> issued =
      server_.vault().identity().CreateToken(mv::RootCaller(), spec);
  ASSERT_TRUE(issued.ok());
  EXPECT_TRUE(Download(issued->token, "a/model").status.ok());
  EXPECT_TRUE(GetVersion(issued->token, "a/model").ok());
  grpc::Status third = GetVersion(issued->token, "a/model");
  EXPECT_EQ(third.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(third.error_message(), mv::kUnauthenticatedMessage);
}

TEST_F(AccessServiceTest, TwoAuthorizationHeadersAreUnauthenticated) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + server_.root_token());
  context.AddMetadata("authorization", "Bearer " + server_.root_token());
  v1::WhoAmIResponse response;
  grpc::Status status =
      server_.auth_stub().WhoAmI(&context, v1::WhoAmIRequest(), &response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), mv::kUnauthenticatedMessage);
}

TEST_F(AccessServiceTest, WhoAmISaysWhoTheTokenBelongsTo) {
  auto context = server_.Context(tokens_.writer_a);
  v1::WhoAmIResponse who;
  ASSERT_TRUE(server_.auth_stub()
                  .WhoAmI(context.get(), v1::WhoAmIRequest(), &who)
                  .ok());
  EXPECT_EQ(who.principal(), "writer-a");
  EXPECT_EQ(who.kind(), v1::PRINCIPAL_KIND_USER);
  EXPECT_EQ(
      std::vector<std::string>(who.policies().begin(), who.policies().end()),
      std::vector<std::string>{"writer-a"});
  EXPECT_EQ(who.token_accessor(),
            server_.vault().identity().ListTokens("writer-a").at(0).accessor);
  EXPECT_EQ(who.tls_identity(), "");
  auto root = server_.Context();
  ASSERT_TRUE(
      server_.auth_stub().WhoAmI(root.get(), v1::WhoAmIRequest(), &who).ok());
  EXPECT_EQ(who.principal(), "root");
}

TEST_F(AccessServiceTest,
       AnAdminManagesPrincipalsTokensAndPoliciesThroughTheApi) {
  v1::AdminService::Stub& admin = server_.admin_stub();
  ASSERT_TRUE(server_.Upload("team/model", "team weights").ok());
  // A team's administrator: it may grant what it holds itself.
  absl::StatusOr<std::string> team_admin = AddPrincipalWithPolicy(
      server_.vault(), "team-admin",
      R"({"rules":[{"effect":"allow","actions":["admin:principals",
          "admin:tokens","admin:policies"]},
          {"effect":"allow","artifacts":["team/**"],"actions":["read","list"]}]})");
  ASSERT_TRUE(team_admin.ok()) << team_admin.status();
  {
    auto context = server_.Context(*team_admin);
    v1::PutPolicyRequest put;
    put.set_name("team-read");
    put.set_json(AllowJson("team/**", R"("read","list")"));
    v1::PolicyDocument document;
    ASSERT_TRUE(admin.PutPolicy(context.get(), put, &document).ok());
    EXPECT_EQ(document.name(), "team-read");
    EXPECT_NE(document.json().find("team/**"), std::string::npos);
  }
  {
    auto context = server_.Context(*team_admin);
    v1::CreatePrincipalRequest create;
    create.set_name("carol");
    create.set_kind(v1::PRINCIPAL_KIND_SERVICE);
    create.add_policies("team-read");
    v1::Principal carol;
    ASSERT_TRUE(admin.CreatePrincipal(context.get(), create, &carol).ok());
    EXPECT_EQ(carol.kind(), v1::PRINCIPAL_KIND_SERVICE);
    EXPECT_EQ(carol.policies_size(), 1);
  }
  v1::CreateTokenResponse issued;
  {
    auto context = server_.Context(*team_admin);
    v1::CreateTokenRequest create;
    create.set_principal("carol");
    create.set_ttl_seconds(3600);
    ASSERT_TRUE(admin.CreateToken(context.get(), create, &issued).ok());
    EXPECT_TRUE(issued.token().starts_with("mvt_"));
    EXPECT_EQ(issued.info().principal(), "carol");
    EXPECT_GT(issued.info().expires_at_unix_ms(), 0);
  }
  EXPECT_EQ(Download(issued.token(), "team/model").bytes, "team weights");
  {
    auto context = server_.Context(*team_admin);
    v1::ListTokensRequest list;
    list.set_principal("carol");
    v1::ListTokensResponse tokens;
    ASSERT_TRUE(admin.ListTokens(context.get(), list, &tokens).ok());
    ASSERT_EQ(tokens.tokens_size(), 1);
    EXPECT_EQ(tokens.tokens(0).accessor(), issued.info().accessor());
  }
  {
    auto context = server_.Context(*team_admin);
    v1::RevokeTokenRequest revoke;
    revoke.set_accessor(issued.info().accessor());
    v1::RevokeTokenResponse revoked;
    ASSERT_TRUE(admin.RevokeToken(context.get(), revoke, &revoked).ok());
  }
  // Revocation takes effect on the next call.
  EXPECT_EQ(Download(issued.token(), "team/model").status.error_code(),
            StatusCode::UNAUTHENTICATED);
  {
    auto context = server_.Context(*team_admin);
    v1::DeletePolicyRequest del;
    del.set_name("team-read");
    v1::DeletePolicyResponse deleted;
    EXPECT_EQ(admin.DeletePolicy(context.get(), del, &deleted).error_code(),
              StatusCode::FAILED_PRECONDITION);  // carol still holds it
  }
  {
    auto context = server_.Context(*team_admin);
    v1::DeletePrincipalRequest del;
    del.set_name("carol");
    v1::DeletePrincipalResponse deleted;
    ASSERT_TRUE(admin.DeletePrincipal(context.get(), del, &deleted).ok());
  }
}

TEST_F(AccessServiceTest, AdminRequestsWithBadFieldsAreInvalid) {
  v1::AdminService::Stub& admin = server_.admin_stub();
  {
    auto context = server_.Context();
    v1::CreatePrincipalRequest create;
    create.set_name("dave");
    create.set_kind(static_cast<v1::PrincipalKind>(7));
    v1::Principal out;
    grpc::Status s = admin.CreatePrincipal(context.get(), create, &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "CreatePrincipalRequest.kind: unknown value 7 (expected one of "
              "PRINCIPAL_KIND_UNSPECIFIED, PRINCIPAL_KIND_USER, "
              "PRINCIPAL_KIND_SERVICE)");
  }
  {
    auto context = server_.Context();
    v1::CreateTokenRequest create;
    create.set_principal("reader-a");
    create.set_ttl_seconds(-5);
    v1::CreateTokenResponse out;
    grpc::Status s = admin.CreateToken(context.get(), create, &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message(),
              "CreateTokenRequest.ttl_seconds: -5 is out of range "
              "[0, 315360000]");
  }
  {
    auto context = server_.Context();
    v1::PutPolicyRequest put;
    put.set_name("bad");
    put.set_json(
        R"({"rules":[{"effect":"allow","artifacts":["x"],"actions":["fly"]}]})");
    v1::PolicyDocument out;
    grpc::Status s = admin.PutPolicy(context.get(), put, &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("rules[0].actions"), std::string::npos)
        << s.error_message();
  }
}

}  // namespace
}  // namespace mvtesting
