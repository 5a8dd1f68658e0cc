// Mutual TLS with certificates made at test time by `openssl`: only a
// client certificate signed by --client-ca, unexpired, whose SAN URI (else
// CN) maps to a principal gets in, as exactly that principal. Also the
// serve command's transport checks (ServerCredentialsFor).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_split.h"
#include "crypto/token.h"
#include "server/access_setup.h"
#include "server/listen_address.h"
#include "server/test_certs.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Pki {
  TestPki pki;
  CertFiles ca, other_ca, server, trainer, trainer_expired, trainer_other_ca,
      alice_cn, alice_self_signed, unmapped, cn_posing_as_uri, alice_with_uri,
      urn_worker;
  // The first certificate openssl could not make. Checked by each test's
  // SetUp: a failure in SetUpTestSuite would only mark the tests skipped,
  // which CTest counts as passing.
  absl::Status error;
};

// Made once: openssl takes a while per certificate.
Pki* MakePki() {
  auto* p = new Pki;
  auto must = [p](absl::StatusOr<CertFiles> files) {
    if (!files.ok()) {
      if (p->error.ok()) p->error = files.status();
      return CertFiles{};
    }
    return *std::move(files);
  };
  p->ca = must(p->pki.MakeCa("ca", "modelvault test CA"));
  p->other_ca = must(
      p->pki.MakeCa("other-ca", "modelvault test CA"));  // same name, other key
  p->server = must(p->pki.MakeLeaf(
      "server", p->ca, {"localhost", "DNS:localhost,IP:127.0.0.1"}));
  p->trainer = must(p->pki.MakeLeaf(
      "trainer", p->ca,
      {"trainer-node-1", "URI:spiffe://acme/trainer,DNS:node-1"}));
  p->trainer_expired = must(
      p->pki.MakeLeaf("trainer-expired", p->ca,
                      {"trainer-node-1", "URI:spiffe://acme/trainer", -1}));
  p->trainer_other_ca =
      must(p->pki.MakeLeaf("trainer-other-ca", p->other_ca,
                           {"trainer-node-1", "URI:spiffe://acme/trainer"}));
  p->alice_cn =
      must(p->pki.MakeLeaf("alice", p->ca, {"alice", "DNS:alice.example"}));
  p->alice_self_signed =
      must(p->pki.MakeSelfSigned("alice-self", {"alice", ""}));
  p->unmapped = must(p->pki.MakeLeaf("unmapped", p->ca,
                                     {"nobody", "URI:spiffe://acme/nobody"}));
  // A CN spelled like trainer's URI SAN, and no SAN at all.
  p->cn_posing_as_uri = must(p->pki.MakeLeaf("cn-posing-as-uri", p->ca,
                                             {"spiffe://acme/trainer", ""}));
  p->alice_with_uri = must(p->pki.MakeLeaf(
      "alice-with-uri", p->ca, {"alice", "URI:spiffe://acme/unregistered"}));
  // A URI SAN without "://" (RFC 3986 allows it; SPIFFE is not the only kind).
  p->urn_worker = must(
      p->pki.MakeLeaf("urn-worker", p->ca, {"worker", "URI:urn:acme:worker"}));
  return p;
}

class MutualTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = MakePki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(pki_->error.ok()) << "test certificates: " << pki_->error;
    TestServerOptions options;
    options.tls = mvserver::TlsMaterial{
        pki_->server.cert_pem, pki_->server.key_pem, pki_->ca.cert_pem};
    server_ = std::make_unique<TestServer>(options);
    mv::Vault& vault = server_->vault();
    absl::StatusOr<std::string> trainer = AddPrincipalWithPolicy(
        vault, "trainer", AllowJson("a/**", R"("read","list")"),
        "uri:spiffe://acme/trainer");
    absl::StatusOr<std::string> alice = AddPrincipalWithPolicy(
        vault, "alice", AllowJson("b/**", R"("read")"), "cn:alice");
    ASSERT_TRUE(trainer.ok() && alice.ok());
    trainer_token_ = *trainer;
    alice_token_ = *alice;
  }

  // A channel presenting `client` (nullptr: no certificate), trusting the
  // test CA for the server.
  std::shared_ptr<grpc::Channel> Channel(const CertFiles* client) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = pki_->ca.cert_pem;
    if (client != nullptr) {
      ssl.pem_private_key = client->key_pem;
      ssl.pem_cert_chain = client->cert_pem;
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                1);  // no connection reuse across tests
    return grpc::CreateCustomChannel(server_->Address(),
                                     grpc::SslCredentials(ssl), args);
  }

  grpc::Status WhoAmI(const CertFiles* client, const std::string& token = "",
                      v1::WhoAmIResponse* out = nullptr) {
    grpc::ClientContext context;
    if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    v1::WhoAmIResponse response;
    auto stub = v1::AuthService::NewStub(Channel(client));
    grpc::Status status =
        stub->WhoAmI(&context, v1::WhoAmIRequest(), &response);
    if (out != nullptr) *out = response;
    return status;
  }

  static Pki* pki_;
  std::unique_ptr<TestServer> server_;
  std::string trainer_token_, alice_token_;
};

Pki* MutualTlsTest::pki_ = nullptr;

TEST_F(MutualTlsTest, AValidCertificateIsExactlyItsPrincipal) {
  v1::WhoAmIResponse who;
  grpc::Status status = WhoAmI(&pki_->trainer, "", &who);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(who.principal(), "trainer");
  EXPECT_EQ(who.tls_identity(),
            "uri:spiffe://acme/trainer");  // the SAN URI, not the CN
  EXPECT_EQ(who.token_accessor(), "");
}

TEST_F(MutualTlsTest, WithoutASanUriTheCommonNameIsTheIdentity) {
  v1::WhoAmIResponse who;
  grpc::Status status = WhoAmI(&pki_->alice_cn, "", &who);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(who.principal(), "alice");
  EXPECT_EQ(who.tls_identity(), "cn:alice");
}

TEST_F(MutualTlsTest, ACommonNameSpelledLikeAUriIsNotThatUri) {
  grpc::Status status = WhoAmI(&pki_->cn_posing_as_uri);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  v1::WhoAmIResponse who;  // the real trainer, in the same test
  ASSERT_TRUE(WhoAmI(&pki_->trainer, "", &who).ok());
  EXPECT_EQ(who.principal(), "trainer");
}

TEST_F(MutualTlsTest, AnUnregisteredUriDoesNotHideARegisteredCommonName) {
  v1::WhoAmIResponse who;
  grpc::Status status = WhoAmI(&pki_->alice_with_uri, "", &who);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(who.principal(), "alice");
  EXPECT_EQ(who.tls_identity(), "cn:alice");
}

TEST_F(MutualTlsTest, AnyUriSanIsAUriIdentity) {
  ASSERT_TRUE(AddPrincipalWithPolicy(server_->vault(), "worker",
                                     AllowJson("a/**", R"("read")"),
                                     "uri:urn:acme:worker")
                  .ok());
  v1::WhoAmIResponse who;
  grpc::Status status = WhoAmI(&pki_->urn_worker, "", &who);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(who.principal(), "worker");
  EXPECT_EQ(who.tls_identity(), "uri:urn:acme:worker");
}

TEST_F(MutualTlsTest, ACertificateTwoPrincipalsClaimIsUnauthenticated) {
  ASSERT_TRUE(AddPrincipalWithPolicy(server_->vault(), "unregistered",
                                     AllowJson("a/**", R"("read")"),
                                     "uri:spiffe://acme/unregistered")
                  .ok());
  EXPECT_EQ(WhoAmI(&pki_->alice_with_uri).error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST_F(MutualTlsTest, CertificatesTheCaDidNotVouchForFailTheHandshake) {
  const std::pair<const char*, const CertFiles*> cases[] = {
      {"no certificate", nullptr},
      {"signed by another CA", &pki_->trainer_other_ca},
      {"expired", &pki_->trainer_expired},
      {"self-signed with a real principal's CN", &pki_->alice_self_signed},
  };
  for (const auto& [what, cert] : cases) {
    SCOPED_TRACE(what);
    // Even with a valid token: the connection never comes up.
    grpc::Status status = WhoAmI(cert, alice_token_);
    EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE)
        << status.error_message();
    // What the client sees: the connection itself failed (the server closes
    // it after the handshake), not a refusal of the call.
    EXPECT_THAT(status.error_message(),
                StartsWith("failed to connect to all addresses"));
    EXPECT_THAT(status.error_message(), HasSubstr(server_->Address()));
  }
  // The same server, a moment later, takes a certificate its CA vouches for.
  EXPECT_TRUE(WhoAmI(&pki_->trainer).ok());
}

TEST_F(MutualTlsTest, AValidCertificateWithNoPrincipalIsUnauthenticated) {
  grpc::Status status = WhoAmI(&pki_->unmapped);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), mv::kUnauthenticatedMessage);
}

TEST_F(MutualTlsTest, ACertificateAndATokenMustNameTheSamePrincipal) {
  grpc::Status mixed = WhoAmI(&pki_->trainer, alice_token_);
  EXPECT_EQ(mixed.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(mixed.error_message(), mv::kUnauthenticatedMessage);
  v1::WhoAmIResponse who;
  grpc::Status same = WhoAmI(&pki_->trainer, trainer_token_, &who);
  ASSERT_TRUE(same.ok()) << same.error_message();
  EXPECT_EQ(who.principal(), "trainer");
  EXPECT_NE(who.token_accessor(), "");
  EXPECT_EQ(who.tls_identity(), "uri:spiffe://acme/trainer");
}

// README: the audit record names the identity that authenticated in
// tls_identity; before authentication (a call refused as UNAUTHENTICATED),
// all of the certificate's identities, space-separated.
TEST_F(MutualTlsTest, TheAuditRecordNamesTheCertificateIdentity) {
  auto last_record = [&] {
    mv::AuditRecord last;
    EXPECT_TRUE(server_->vault()
                    .audit_log()
                    .ScanRecordsBackward(
                        0,
                        [&](const mv::AuditRecord& r, std::string_view) {
                          last = r;
                          return false;
                        })
                    .ok());
    return last;
  };
  ASSERT_TRUE(WhoAmI(&pki_->trainer).ok());
  mv::AuditRecord authenticated = last_record();
  EXPECT_EQ(authenticated.principal, "trainer");
  EXPECT_EQ(authenticated.tls_identity, "uri:spiffe://acme/trainer")
      << "only the identity that authenticated, not cn:trainer-node-1";

  ASSERT_EQ(WhoAmI(&pki_->unmapped).error_code(), StatusCode::UNAUTHENTICATED);
  mv::AuditRecord refused = last_record();
  EXPECT_EQ(refused.principal, "");
  EXPECT_EQ(refused.status_code,
            static_cast<uint32_t>(StatusCode::UNAUTHENTICATED));
  const std::vector<std::string> identities =
      absl::StrSplit(refused.tls_identity, ' ');
  EXPECT_THAT(identities, ::testing::UnorderedElementsAre(
                              "uri:spiffe://acme/nobody", "cn:nobody"));
}

TEST_F(MutualTlsTest, TheCertificatePrincipalsPoliciesApply) {
  ASSERT_TRUE(
      server_->vault()
          .identity()
          .PutPolicy(mv::RootCaller(), "x", AllowJson("x/**", R"("read")"))
          .ok());
  auto stub = v1::ArtifactService::NewStub(Channel(&pki_->trainer));
  for (const auto& [ref, code] :
       {std::pair{"a/model", StatusCode::NOT_FOUND},
        std::pair{"b/model", StatusCode::PERMISSION_DENIED}}) {
    grpc::ClientContext context;
    v1::GetVersionRequest request;
    request.set_ref(ref);
    v1::Version version;
    EXPECT_EQ(stub->GetVersion(&context, request, &version).error_code(), code)
        << ref;
  }
}

// ---- the serve command's transport checks ----

class ListenSecurityTest : public MutualTlsTest {};

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> For(
    const std::string& address, const mvserver::ListenSecurity& security,
    std::string* warning) {
  return mvserver::ServerCredentialsFor(address, security, warning);
}

TEST_F(ListenSecurityTest, PlaintextStaysOnLoopbackUnlessForcedWithAWarning) {
  std::string warning;
  EXPECT_TRUE(For("127.0.0.1:0", {}, &warning).ok());
  EXPECT_EQ(warning, "");
  absl::Status refused = For("0.0.0.0:7070", {}, &warning).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("non-loopback"), std::string::npos);
  EXPECT_NE(refused.message().find("--insecure-listen"), std::string::npos);
  mvserver::ListenSecurity forced;
  forced.insecure_listen = true;
  EXPECT_TRUE(For("0.0.0.0:7070", forced, &warning).ok());
  EXPECT_NE(warning.find("PLAINTEXT"), std::string::npos);
  EXPECT_EQ(warning.find('\n'), std::string::npos);
}

TEST_F(ListenSecurityTest, TlsMayListenAnywhere) {
  std::string warning;
  mvserver::ListenSecurity tls{pki_->server.cert_path, pki_->server.key_path,
                               pki_->ca.cert_path, false};
  EXPECT_TRUE(For("0.0.0.0:7070", tls, &warning).ok());
  EXPECT_EQ(warning, "");
  tls.client_ca.clear();
  EXPECT_TRUE(For("[::]:7070", tls, &warning).ok());
}

TEST_F(ListenSecurityTest, BadTlsFlagsFailWithOneLineNamingTheFlag) {
  const std::string cert = pki_->server.cert_path, key = pki_->server.key_path;
  const std::string missing = pki_->pki.dir() + "/missing.pem";
  const std::string garbage = pki_->pki.dir() + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  const struct {
    mvserver::ListenSecurity flags;
    absl::StatusCode code;
    std::string message;
  } cases[] = {
      {{cert, "", "", false},
       absl::StatusCode::kInvalidArgument,
       "--tls-cert and --tls-key must be given together"},
      {{"", key, "", false},
       absl::StatusCode::kInvalidArgument,
       "--tls-cert and --tls-key must be given together"},
      {{"", "", cert, false},
       absl::StatusCode::kInvalidArgument,
       "--client-ca requires --tls-cert and --tls-key"},
      {{missing, key, "", false},
       absl::StatusCode::kNotFound,
       "cannot read --tls-cert " + missing + ": No such file or directory"},
      {{cert, missing, "", false},
       absl::StatusCode::kNotFound,
       "cannot read --tls-key " + missing + ": No such file or directory"},
      {{cert, key, missing, false},
       absl::StatusCode::kNotFound,
       "cannot read --client-ca " + missing + ": No such file or directory"},
      {{garbage, key, "", false},
       absl::StatusCode::kInvalidArgument,
       "--tls-cert " + garbage + ": not a PEM certificate"},
      {{cert, garbage, "", false},
       absl::StatusCode::kInvalidArgument,
       "--tls-key " + garbage + ": not an unencrypted PEM private key"},
      {{cert, pki_->trainer.key_path, "", false},
       absl::StatusCode::kInvalidArgument,
       "--tls-key " + pki_->trainer.key_path + " does not match --tls-cert " +
           cert},
      {{cert, key, garbage, false},
       absl::StatusCode::kInvalidArgument,
       "--client-ca " + garbage + ": not a PEM certificate"},
  };
  for (const auto& c : cases) {
    std::string warning;
    absl::Status status = For("127.0.0.1:0", c.flags, &warning).status();
    EXPECT_EQ(status.code(), c.code) << c.message;
    EXPECT_EQ(status.message(), c.message);
  }
}

}  // namespace
}  // namespace mvtesting
