#include "server/rpc_method.h"

#include <map>

#include "modelvault/v1/access.pb.h"
#include "modelvault/v1/artifact.pb.h"
#include "modelvault/v1/audit.pb.h"
#include "modelvault/v1/operator.pb.h"
#include "modelvault/v1/trace.pb.h"

namespace mvserver {

namespace v1 = modelvault::v1;

const std::vector<const google::protobuf::ServiceDescriptor*>& RpcServices() {
  // Every service of every proto file, each file reached through a message
  // of it (which also links its descriptors into the binary).
  static const auto* const services = [] {
    auto* out = new std::vector<const google::protobuf::ServiceDescriptor*>;
    for (const google::protobuf::Descriptor* in_file :
         {v1::UploadRequest::descriptor(), v1::WhoAmIRequest::descriptor(),
          v1::QueryRecordsRequest::descriptor(), v1::TraceRequest::descriptor(),
          v1::UnsealRequest::descriptor()}) {
      const google::protobuf::FileDescriptor* file = in_file->file();
      for (int i = 0; i < file->service_count(); ++i)
        out->push_back(file->service(i));
    }
    return out;
  }();
  return *services;
}

std::string_view RpcMethodOf(const google::protobuf::Descriptor& request_type) {
  // Request type → method. A type taken by two RPCs maps to none of them
  // (the rpc_method test keeps every request type distinct).
  static const auto* const methods = [] {
    auto* out = new std::map<const google::protobuf::Descriptor*, std::string>;
    std::map<const google::protobuf::Descriptor*, int> uses;
    for (const google::protobuf::ServiceDescriptor* service : RpcServices()) {
      for (int i = 0; i < service->method_count(); ++i) {
        const google::protobuf::MethodDescriptor* method = service->method(i);
        (*out)[method->input_type()] = method->full_name();
        ++uses[method->input_type()];
      }
    }
    for (const auto& [type, count] : uses) {
      if (count > 1) out->erase(type);
    }
    return out;
  }();
  auto it = methods->find(&request_type);
  return it == methods->end() ? std::string_view() : it->second;
}

}  // namespace mvserver
