// Unit tests of the pure parts of per-call access control: the peer address
// parser and the method → action table.
#include "server/call_auth.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include "modelvault/v1/access.pb.h"
#include "modelvault/v1/artifact.pb.h"
#include "server/method_access.h"

namespace mvserver {
namespace {

using mv::Action;

TEST(PeerIpTest, TakesTheAddressOutOfGrpcPeerStrings) {
  EXPECT_EQ(PeerIp("ipv4:127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(PeerIp("ipv4:10.1.2.3:1"), "10.1.2.3");
  EXPECT_EQ(PeerIp("ipv6:[::1]:5555"), "::1");
  EXPECT_EQ(PeerIp("ipv6:%5B::1%5D:5555"), "::1");
  EXPECT_EQ(PeerIp("ipv6:%5b2001:db8::7%5d:443"), "2001:db8::7");
  EXPECT_EQ(PeerIp("ipv6:[::ffff:10.0.0.1]:80"), "::ffff:10.0.0.1");
  EXPECT_EQ(PeerIp("ipv6:[fe80::1%25eth0]:80"), "fe80::1");
}

TEST(PeerIpTest, AnythingElseIsUnknown) {
  for (const char* peer :
       {"", "unix:/tmp/mv.sock", "ipv4:127.0.0.1", "ipv4:999.0.0.1:1",
        "ipv4:localhost:80", "ipv6:::1:5555", "ipv6:[::1:5555",
        "ipv6:%5G::1%5D:1", "ipv6:[::1]%", "IPV4:127.0.0.1:1", "ipv4::1"}) {
    EXPECT_EQ(PeerIp(peer), "") << peer;
  }
}

TEST(MethodAccessTest, MapsEachArtifactRpcToItsAction) {
  const std::pair<const char*, std::optional<Action>> cases[] = {
      {"modelvault.v1.ArtifactService.Upload", Action::kWrite},
      {"modelvault.v1.ArtifactService.Download", Action::kRead},
      {"modelvault.v1.ArtifactService.GetVersion", Action::kRead},
      {"modelvault.v1.ArtifactService.ListVersions", Action::kList},
      {"modelvault.v1.ArtifactService.DeleteVersion", Action::kDelete},
      {"modelvault.v1.ArtifactService.SetAlias", Action::kAlias},
      {"modelvault.v1.ArtifactService.DeleteAlias", Action::kAlias},
      {"modelvault.v1.AuthService.WhoAmI", std::nullopt},
      {"modelvault.v1.AdminService.CreatePrincipal", Action::kAdminPrincipals},
      {"modelvault.v1.AdminService.DetachPolicy", Action::kAdminPrincipals},
      {"modelvault.v1.AdminService.RevokeToken", Action::kAdminTokens},
      {"modelvault.v1.AdminService.PutPolicy", Action::kAdminPolicies},
  };
  for (const auto& [method, action] : cases) {
    const MethodAccess* row = FindMethodAccess(method);
    ASSERT_NE(row, nullptr) << method;
    EXPECT_EQ(row->action, action) << method;
  }
  EXPECT_EQ(FindMethodAccess("modelvault.v1.ArtifactService.Nope"), nullptr);
  EXPECT_EQ(FindMethodAccess("ArtifactService.Download"), nullptr);
}

TEST(MethodAccessTest, EveryRowNamesAStringFieldOfItsRequestOrNone) {
  for (const MethodAccess& row : AllMethodAccess()) {
    SCOPED_TRACE(std::string(row.method));
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            std::string(row.method));
    ASSERT_NE(method, nullptr);
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(
            method->input_type());
    absl::StatusOr<std::string> artifact = ArtifactOf(row, *prototype);
    if (row.source == ArtifactSource::kNone ||
        row.source == ArtifactSource::kEachResult) {
      EXPECT_TRUE(row.field.empty());
      ASSERT_TRUE(artifact.ok());
      EXPECT_EQ(*artifact, "");
    } else {
      // An empty name is invalid, but the field was found (not INTERNAL).
      EXPECT_EQ(artifact.status().code(), absl::StatusCode::kInvalidArgument)
          << artifact.status();
    }
    // Artifact actions name an artifact; admin actions and WhoAmI do not.
    const bool artifact_action =
        row.action && !ActionName(*row.action).starts_with("admin:");
    EXPECT_EQ(artifact_action, row.source != ArtifactSource::kNone);
  }
}

TEST(MethodAccessTest, TheArtifactOfAReferenceIsItsName) {
  const MethodAccess* download =
      FindMethodAccess("modelvault.v1.ArtifactService.Download");
  modelvault::v1::DownloadRequest request;
  for (const char* ref :
       {"acme/llama@prod", "acme/llama@3", "acme/llama", "acme/llama@latest"}) {
    request.set_ref(ref);
    EXPECT_EQ(*ArtifactOf(*download, request), "acme/llama") << ref;
  }
  request.set_ref("acme/../x@1");
  EXPECT_EQ(ArtifactOf(*download, request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MethodAccessTest, UploadActsOnTheHeaderName) {
  const MethodAccess* upload =
      FindMethodAccess("modelvault.v1.ArtifactService.Upload");
  modelvault::v1::UploadRequest request;
  request.mutable_header()->set_name("acme/run-42/ckpt");
  EXPECT_EQ(*ArtifactOf(*upload, request), "acme/run-42/ckpt");
  request.mutable_header()->set_name("Acme/Bad");
  EXPECT_EQ(ArtifactOf(*upload, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A name with "@" is not a reference here: it is refused, not truncated.
  request.mutable_header()->set_name("acme/x@1");
  EXPECT_EQ(ArtifactOf(*upload, request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MethodAccessTest, AFieldMissingFromTheRequestIsInternal) {
  MethodAccess bogus{"modelvault.v1.ArtifactService.Download", Action::kRead,
                     ArtifactSource::kReference, "header.ref"};
  modelvault::v1::DownloadRequest request;
  EXPECT_EQ(ArtifactOf(bogus, request).status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace mvserver
