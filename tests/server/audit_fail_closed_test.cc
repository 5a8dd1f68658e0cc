// Fail-closed auditing through the real server (issue [audit]): while the
// audit log cannot be written (the AuditLog fault seam), every request fails
// UNAVAILABLE, downloads send no byte, uploads publish nothing and admin
// changes do not happen; once it can, everything works again and the chain
// is whole.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "common/bytes.h"
#include "crypto/sha256.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;

class AuditFailClosedTest : public ::testing::Test {
 protected:
  static TestServerOptions WithFaultSeam(
      std::shared_ptr<std::atomic<bool>> broken) {
    TestServerOptions options;
    options.audit.fault = [broken]() -> absl::Status {
      if (*broken) return absl::InternalError("injected: disk full");
      return absl::OkStatus();
    };
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(server_.Upload("acme/model", "the weights", &v1_).ok());
    head_before_ = server_.vault().audit_log().ReadHead()->sequence;
    *broken_ = true;
  }

  void ExpectRefused(const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE)
        << status.error_message();
    EXPECT_NE(status.error_message().find("audit log"), std::string::npos)
        << status.error_message();
  }

  std::shared_ptr<std::atomic<bool>> broken_ =
      std::make_shared<std::atomic<bool>>(false);
  TestServer server_{WithFaultSeam(broken_)};
  v1::Version v1_;
  uint64_t head_before_ = 0;
};

TEST_F(AuditFailClosedTest, ADownloadSendsNoByte) {
  DownloadResult got = server_.Download("acme/model@1");
  ExpectRefused(got.status);
  EXPECT_EQ(got.bytes, "");
  EXPECT_FALSE(got.header.has_version()) << "not even the header leaves";
  EXPECT_EQ(got.trailer_sha256, "");
}

TEST_F(AuditFailClosedTest, AnUploadPublishesNothing) {
  ExpectRefused(server_.Upload("acme/model", "new weights"));
  ExpectRefused(server_.Upload("acme/fresh", "new weights"));
  EXPECT_EQ(
      server_.vault().catalog().GetVersion("acme/model@2").status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(server_.vault().catalog().GetVersion("acme/fresh").status().code(),
            absl::StatusCode::kNotFound);
  *broken_ = false;
  v1::Version next;
  ASSERT_TRUE(server_.Upload("acme/model", "newer weights", &next).ok());
  EXPECT_EQ(next.number(), 2u) << "the refused upload took no version number";
}

TEST_F(AuditFailClosedTest, AnUnknownMethodIsRefusedToo) {
  ExpectRefused(server_.CallPath("/modelvault.v1.ArtifactService/Nope"));
}

TEST_F(AuditFailClosedTest, ArtifactChangesDoNotHappen) {
  {
    auto context = server_.Context();
    v1::SetAliasRequest request;
    request.set_ref("acme/model@1");
    request.set_alias("prod");
    v1::SetAliasResponse response;
    ExpectRefused(server_.stub().SetAlias(context.get(), request, &response));
  }
  {
    auto context = server_.Context();
    v1::DeleteVersionRequest request;
    request.set_ref("acme/model@1");
    v1::DeleteVersionResponse response;
    ExpectRefused(
        server_.stub().DeleteVersion(context.get(), request, &response));
  }
  absl::StatusOr<mv::VersionInfo> still =
      server_.vault().catalog().GetVersion("acme/model@1");
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(still->aliases.empty());
  *broken_ = false;
  EXPECT_EQ(server_.Download("acme/model@1").bytes, "the weights");
}

TEST_F(AuditFailClosedTest, AdminChangesDoNotHappen) {
  const size_t tokens_before = server_.vault().identity().ListTokens("").size();
  {
    auto context = server_.Context();
    v1::CreatePrincipalRequest request;
    request.set_name("eve");
    v1::Principal response;
    ExpectRefused(server_.admin_stub().CreatePrincipal(context.get(), request,
                                                       &response));
  }
  {
    auto context = server_.Context();
    v1::PutPolicyRequest request;
    request.set_name("open");
    request.set_json(
        R"({"rules":[{"effect":"allow","artifacts":["**"],"actions":["read"]}]})");
    v1::PolicyDocument response;
    ExpectRefused(
        server_.admin_stub().PutPolicy(context.get(), request, &response));
  }
  {
    auto context = server_.Context();
    v1::CreateTokenRequest request;
    request.set_principal("root");
    v1::CreateTokenResponse response;
    ExpectRefused(
        server_.admin_stub().CreateToken(context.get(), request, &response));
    EXPECT_EQ(response.token(), "") << "no token may leave without its record";
  }
  EXPECT_EQ(server_.vault().identity().GetPrincipal("eve").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(server_.vault().identity().GetPolicy("open").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(server_.vault().identity().ListTokens("").size(), tokens_before);
}

TEST_F(AuditFailClosedTest, ReadsDenialsAndUnauthenticatedCallsFailToo) {
  {
    auto context = server_.Context();
    v1::GetVersionRequest request;
    request.set_ref("acme/model@1");
    v1::Version response;
    ExpectRefused(server_.stub().GetVersion(context.get(), request, &response));
    EXPECT_EQ(response.name(), "");
  }
  {
    auto context = server_.Context("mvt_not-a-real-token");
    v1::WhoAmIRequest request;
    v1::WhoAmIResponse response;
    ExpectRefused(
        server_.auth_stub().WhoAmI(context.get(), request, &response));
  }
}

TEST_F(AuditFailClosedTest, NothingIsLoggedWhileBrokenAndTheChainStaysWhole) {
  (void)server_.Download("acme/model@1");
  (void)server_.Upload("acme/model", "more");
  EXPECT_EQ(server_.vault().audit_log().ReadHead()->sequence, head_before_);
  *broken_ = false;
  DownloadResult got = server_.Download("acme/model@1");
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.bytes, "the weights");
  // A download leaves a "download started" and an outcome record.
  EXPECT_EQ(server_.vault().audit_log().ReadHead()->sequence, head_before_ + 2);
  EXPECT_TRUE(server_.vault().audit_log().VerifyStored().ok());
}

}  // namespace
}  // namespace mvtesting
