// The client's TLS channel against an in-process AuthService served with
// TLS, using certificates made at test time by the openssl command (the test
// is skipped without it): server verification by CA and IP SAN, client
// certificates (mTLS) and the absence of a token header.
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client/lib/access_client.h"
#include "client/lib/tls_config.h"
#include "test_util.h"

namespace mvclient {
namespace {

namespace v1 = modelvault::v1;

// Answers with the peer's certificate URI SAN and whether a token came.
class PeerEchoAuthService final : public v1::AuthService::Service {
 public:
  grpc::Status WhoAmI(grpc::ServerContext* ctx, const v1::WhoAmIRequest*,
                      v1::WhoAmIResponse* out) override {
    for (const grpc::string_ref& v : ctx->auth_context()->FindPropertyValues(
             "x509_subject_alternative_name")) {
      std::string value(v.data(), v.size());
      if (value.rfind("spiffe://", 0) == 0) out->set_tls_identity(value);
    }
    bool has_token = ctx->client_metadata().count("authorization") > 0;
    out->set_principal(has_token ? "by-token" : "by-cert");
    return grpc::Status::OK;
  }
};

class TlsConnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "openssl not installed";
    }
    std::string pki = dir_.path().string();
    std::string script = absl::StrCat(
        "set -e; cd '", pki, "'\n",
        "ca() { openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
        "/CN=$1 -keyout $1.key -out $1.pem -addext "
        "basicConstraints=critical,CA:TRUE; }\n",
        "leaf() { openssl req -newkey rsa:2048 -nodes -subj /CN=$2 -keyout "
        "$2.key -out $2.csr; printf '%s\\n' \"$3\" > $2.ext; openssl x509 "
        "-req -in $2.csr -CA $1.pem -CAkey $1.key -CAcreateserial -days 1 "
        "-out $2.pem -extfile $2.ext; }\n",
        "ca ca; ca other\n", "leaf ca server 'subjectAltName=IP:127.0.0.1'\n",
        "leaf ca server-dns 'subjectAltName=DNS:localhost'\n",
        "leaf ca client 'subjectAltName=URI:spiffe://acme/trainer'\n");
    ASSERT_EQ(std::system(absl::StrCat("bash -c \"$(cat <<'MVEOF'\n", script,
                                       "MVEOF\n)\" >/dev/null 2>&1")
                              .c_str()),
              0);
    server_ = Serve("server", &port_);
    ASSERT_NE(port_, 0);
  }

  // A TLS server presenting certificate `name` (made in SetUp), requiring a
  // client certificate from the test CA; sets *port.
  std::unique_ptr<grpc::Server> Serve(const std::string& name, int* port) {
    grpc::SslServerCredentialsOptions ssl(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = testing::ReadFile(dir_.File("ca.pem"));
    ssl.pem_key_cert_pairs.push_back(
        {testing::ReadFile(dir_.File(name + ".key")),
         testing::ReadFile(dir_.File(name + ".pem"))});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl),
                             port);
    builder.RegisterService(&service_);
    return builder.BuildAndStart();
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  absl::StatusOr<Identity> WhoAmI(const TlsFiles& files,
                                  const std::string& token,
                                  const std::string& host = "127.0.0.1",
                                  int port = 0) {
    auto tls = LoadTlsCredentials(files);
    if (!tls.ok()) return tls.status();
    ConnectionOptions opts;
    opts.address = absl::StrCat(host, ":", port == 0 ? port_ : port);
    opts.token = token;
    opts.tls = *tls;
    opts.connect_timeout = absl::Seconds(5);
    auto client = Client::Connect(opts);
    if (!client.ok()) return client.status();
    return AccessClient(*std::move(client)).WhoAmI();
  }

  testing::TempDir dir_;
  PeerEchoAuthService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(TlsConnectTest, ClientCertificateAloneReachesTheServerWithoutToken) {
  auto id = WhoAmI(
      {dir_.File("ca.pem"), dir_.File("client.pem"), dir_.File("client.key")},
      "");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->principal, "by-cert");
  EXPECT_EQ(id->tls_identity, "spiffe://acme/trainer");
}

TEST_F(TlsConnectTest, TokenTravelsOverTls) {
  auto id = WhoAmI(
      {dir_.File("ca.pem"), dir_.File("client.pem"), dir_.File("client.key")},
      "mvt_x");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->principal, "by-token");
}

TEST_F(TlsConnectTest, MissingClientCertificateIsUnavailable) {
  auto id = WhoAmI({dir_.File("ca.pem"), "", ""}, "mvt_x");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnavailable) << id.status();
}

TEST_F(TlsConnectTest, ServerFromAnotherCaIsRefused) {
  auto id = WhoAmI({dir_.File("other.pem"), dir_.File("client.pem"),
                    dir_.File("client.key")},
                   "");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnavailable) << id.status();
  EXPECT_NE(id.status().message().find("TLS"), std::string::npos)
      << id.status();
}

// README: "the certificate must name the host of --addr". Two servers on
// 127.0.0.1, one whose certificate names only IP:127.0.0.1 and one whose
// names only DNS:localhost: each is reached by the name its certificate
// holds and refused by the other (both names reach both servers).
TEST_F(TlsConnectTest, TheServerCertificateMustNameTheHostOfTheAddress) {
  const TlsFiles files{dir_.File("ca.pem"), dir_.File("client.pem"),
                       dir_.File("client.key")};
  int dns_port = 0;
  std::unique_ptr<grpc::Server> dns_server = Serve("server-dns", &dns_port);
  ASSERT_NE(dns_port, 0);
  auto ip_by_ip = WhoAmI(files, "", "127.0.0.1", port_);
  EXPECT_TRUE(ip_by_ip.ok()) << ip_by_ip.status();
  auto ip_by_name = WhoAmI(files, "", "localhost", port_);
  EXPECT_EQ(ip_by_name.status().code(), absl::StatusCode::kUnavailable)
      << ip_by_name.status();
  auto dns_by_name = WhoAmI(files, "", "localhost", dns_port);
  EXPECT_TRUE(dns_by_name.ok()) << dns_by_name.status();
  auto dns_by_ip = WhoAmI(files, "", "127.0.0.1", dns_port);
  EXPECT_EQ(dns_by_ip.status().code(), absl::StatusCode::kUnavailable)
      << dns_by_ip.status();
  dns_server->Shutdown();
}

}  // namespace
}  // namespace mvclient
