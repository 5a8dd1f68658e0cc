// Handlers name their RPC by the request they were given (server/rpc_method.h):
// that holds only while every RPC of every proto file takes a request type
// of its own, and every service of the proto files is one RpcServices knows.
#include "server/rpc_method.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "modelvault/v1/access.pb.h"
#include "modelvault/v1/artifact.pb.h"
#include "modelvault/v1/audit.pb.h"
#include "modelvault/v1/operator.pb.h"
#include "modelvault/v1/trace.pb.h"

namespace mvserver {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

std::vector<const google::protobuf::ServiceDescriptor*> ProtoFileServices() {
  // Linked in by a message of each file (the pool loads only those).
  (void)modelvault::v1::WhoAmIRequest::descriptor();
  (void)modelvault::v1::UploadRequest::descriptor();
  (void)modelvault::v1::QueryRecordsRequest::descriptor();
  (void)modelvault::v1::TraceRequest::descriptor();
  (void)modelvault::v1::UnsealRequest::descriptor();
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const char* name :
       {"modelvault/v1/access.proto", "modelvault/v1/artifact.proto",
        "modelvault/v1/audit.proto", "modelvault/v1/trace.proto",
        "modelvault/v1/operator.proto"}) {
    const FileDescriptor* file =
        DescriptorPool::generated_pool()->FindFileByName(name);
    EXPECT_NE(file, nullptr) << name;
    if (file == nullptr) continue;
    for (int i = 0; i < file->service_count(); ++i)
      out.push_back(file->service(i));
  }
  return out;
}

TEST(RpcMethodTest, RpcServicesAreEveryServiceOfTheProtoFiles) {
  std::set<std::string> known, in_files;
  for (const auto* service : RpcServices()) {
    ASSERT_NE(service, nullptr);
    known.insert(service->full_name());
  }
  for (const auto* service : ProtoFileServices())
    in_files.insert(service->full_name());
  EXPECT_EQ(known, in_files);
  EXPECT_EQ(known.size(), 6u);
}

TEST(RpcMethodTest, EveryRpcTakesARequestTypeOfItsOwn) {
  std::map<std::string, std::string> method_of_type;
  for (const auto* service : ProtoFileServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      const auto [it, fresh] = method_of_type.emplace(
          method->input_type()->full_name(), method->full_name());
      EXPECT_TRUE(fresh) << method->full_name() << " and " << it->second
                         << " both take " << it->first;
      EXPECT_EQ(RpcMethodOf(*method->input_type()), method->full_name());
    }
  }
  EXPECT_GE(method_of_type.size(), 29u);
}

TEST(RpcMethodTest, NamesTheMethodOfARequest) {
  EXPECT_EQ(RpcMethodOf(modelvault::v1::CreateTokenRequest()),
            "modelvault.v1.AdminService.CreateToken");
  EXPECT_EQ(RpcMethodOf<modelvault::v1::UploadRequest>(),
            "modelvault.v1.ArtifactService.Upload");
  EXPECT_EQ(RpcMethodOf<modelvault::v1::TraceRequest>(),
            "modelvault.v1.TraceService.Trace");
}

TEST(RpcMethodTest, AMessageNoRpcTakesHasNoMethod) {
  // A response type: a handler that passed one would be refused INTERNAL by
  // AuthorizeCall (no row for ""), never served under another method's rules.
  EXPECT_EQ(RpcMethodOf(modelvault::v1::TokenInfo()), "");
  EXPECT_EQ(RpcMethodOf(modelvault::v1::Version()), "");
}

}  // namespace
}  // namespace mvserver
