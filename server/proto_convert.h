// Translation between core types and modelvault.v1 messages. Pure;
// thread-safe.
#ifndef MODELVAULT_SERVER_PROTO_CONVERT_H_
#define MODELVAULT_SERVER_PROTO_CONVERT_H_

#include "modelvault/v1/artifact.pb.h"
#include "vault/artifact_io.h"

namespace mvserver {

void ToProto(const mv::VersionInfo& info, modelvault::v1::Version* out);
void ToProto(const mv::FingerprintSummary& summary,
             modelvault::v1::Fingerprint* out);
modelvault::v1::Delivery ToProto(mv::Delivery delivery);
// header.format: UNSPECIFIED → detect from content, BLOB/SAFETENSORS/GGUF →
// store as that (UploadSpec::store_as).
mv::UploadSpec FromProto(const modelvault::v1::UploadHeader& header);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_PROTO_CONVERT_H_
