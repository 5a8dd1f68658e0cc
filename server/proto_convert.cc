#include "server/proto_convert.h"

namespace mvserver {
namespace {
modelvault::v1::Format ToProto(mv::Format f) {
  switch (f) {
    case mv::Format::kSafetensors: return modelvault::v1::FORMAT_SAFETENSORS;
    case mv::Format::kGguf: return modelvault::v1::FORMAT_GGUF;
    case mv::Format::kBlob: break;
  }
  return modelvault::v1::FORMAT_BLOB;
}
}  // namespace

void ToProto(const mv::VersionInfo& info, modelvault::v1::Version* out) {
  out->set_name(info.name);
  out->set_number(info.number);
  out->set_size(info.size);
  out->set_sha256(info.sha256);
  out->set_format(ToProto(info.format));
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
  for (const std::string& alias : info.aliases) out->add_aliases(alias);
  out->set_created_by(info.created_by);
  out->set_created_at_unix_ms(info.created_at_unix_ms);
  out->set_chunk_size(info.chunk_size);
  out->set_cipher_suite(info.cipher_suite);
  out->set_key_version(info.key_version);
}

mv::UploadSpec FromProto(const modelvault::v1::UploadHeader& header) {
  mv::UploadSpec spec;
  spec.name = header.name();
  spec.labels.insert(header.labels().begin(), header.labels().end());
  spec.aliases.assign(header.aliases().begin(), header.aliases().end());
  spec.expected_size = header.expected_size();
  return spec;
}

}  // namespace mvserver
