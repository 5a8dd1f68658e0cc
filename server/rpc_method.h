// The RPC a request message belongs to, from the generated service
// descriptors: every modelvault.v1 RPC takes a request type of its own, so a
// handler names its method by the request it was given, never by a string.
//
// Thread-safe (the table is built once, on first use).
#ifndef MODELVAULT_SERVER_RPC_METHOD_H_
#define MODELVAULT_SERVER_RPC_METHOD_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string_view>
#include <vector>

namespace mvserver {

// The full name of the RPC whose request type `request` is
// ("modelvault.v1.AdminService.CreateToken"); "" for a type no RPC takes
// (which AuthorizeCall refuses as INTERNAL: fail closed).
std::string_view RpcMethodOf(const google::protobuf::Descriptor& request_type);
inline std::string_view RpcMethodOf(const google::protobuf::Message& request) {
  return RpcMethodOf(*request.GetDescriptor());
}
template <typename Request>
std::string_view RpcMethodOf() {
  return RpcMethodOf(*Request::descriptor());
}

// Every service modelvault serves, from the generated descriptor pool.
const std::vector<const google::protobuf::ServiceDescriptor*>& RpcServices();

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_RPC_METHOD_H_
