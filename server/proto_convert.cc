#include "server/proto_convert.h"

namespace mvserver {
namespace {
modelvault::v1::Format ToProto(mv::Format f) {
  switch (f) {
    case mv::Format::kSafetensors:
      return modelvault::v1::FORMAT_SAFETENSORS;
    case mv::Format::kGguf:
      return modelvault::v1::FORMAT_GGUF;
    case mv::Format::kBlob:
      break;
  }
  return modelvault::v1::FORMAT_BLOB;
}

mv::UploadSpec::As StoreAs(modelvault::v1::Format f) {
  switch (f) {
    case modelvault::v1::FORMAT_BLOB:
      return mv::UploadSpec::As::kBlob;
    case modelvault::v1::FORMAT_SAFETENSORS:
      return mv::UploadSpec::As::kSafetensors;
    case modelvault::v1::FORMAT_GGUF:
      return mv::UploadSpec::As::kGguf;
    default:
      return mv::UploadSpec::As::kDetect;
  }
}
}  // namespace

void ToProto(const mv::FingerprintSummary& summary,
             modelvault::v1::Fingerprint* out) {
  out->set_markable(summary.markable());
  out->set_positions(summary.tardos_positions);
  out->set_tensors(summary.tensors);
  out->set_unmarked_reason(summary.unmarked_reason);
}

modelvault::v1::Delivery ToProto(mv::Delivery delivery) {
  switch (delivery) {
    case mv::Delivery::kUnmarked:
      return modelvault::v1::DELIVERY_UNMARKED;
    case mv::Delivery::kFingerprinted:
      return modelvault::v1::DELIVERY_FINGERPRINTED;
    case mv::Delivery::kExact:
      return modelvault::v1::DELIVERY_EXACT;
  }
  return modelvault::v1::DELIVERY_UNSPECIFIED;
}

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
  ToProto(info.fingerprint, out->mutable_fingerprint());
}

mv::UploadSpec FromProto(const modelvault::v1::UploadHeader& header) {
  mv::UploadSpec spec;
  spec.name = header.name();
  spec.labels.insert(header.labels().begin(), header.labels().end());
  spec.aliases.assign(header.aliases().begin(), header.aliases().end());
  spec.expected_size = header.expected_size();
  spec.store_as = StoreAs(header.format());
  return spec;
}

}  // namespace mvserver
