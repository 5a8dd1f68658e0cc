// Fuzzes the decoders of the records stored in LMDB (vault/records.h). Each
// input is offered to all four decoders. Invariants:
//   - a rejection is DATA_LOSS (corrupt) or FAILED_PRECONDITION (layout
//     byte other than 1), never anything else;
//   - whatever decodes re-encodes and decodes to the same record;
//   - a decoded version's chunk geometry is consistent (ChunkLength).
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "vault/records.h"

namespace {

void CheckRejection(const absl::Status& s) {
  MV_FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss ||
                s.code() == absl::StatusCode::kFailedPrecondition);
  MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(s.message()));
}

bool Same(const mv::VersionRecord& a, const mv::VersionRecord& b) {
  return a.name == b.name && a.number == b.number &&
         a.version_id == b.version_id && a.size == b.size &&
         a.sha256 == b.sha256 && a.format == b.format && a.labels == b.labels &&
         a.created_by == b.created_by &&
         a.created_at_unix_ms == b.created_at_unix_ms &&
         a.chunk_size == b.chunk_size && a.chunk_count == b.chunk_count &&
         a.key_version == b.key_version && a.wrapped_dek == b.wrapped_dek;
}

void FuzzVersion(std::string_view in) {
  absl::StatusOr<mv::VersionRecord> r = mv::DecodeVersion(in);
  if (!r.ok()) return CheckRejection(r.status());
  MV_FUZZ_CHECK(r->sha256.size() == 32);
  MV_FUZZ_CHECK(r->chunk_size > 0 && r->chunk_count > 0);
  // Every chunk is full but the last, which is non-empty unless size == 0.
  uint32_t last = r->ChunkLength(r->chunk_count - 1);
  MV_FUZZ_CHECK(last <= r->chunk_size);
  MV_FUZZ_CHECK(last > 0 || r->size == 0);
  if (r->chunk_count > 1) MV_FUZZ_CHECK(r->ChunkLength(0) == r->chunk_size);
  MV_FUZZ_CHECK((r->chunk_count - 1) *
                        static_cast<unsigned __int128>(r->chunk_size) +
                    last ==
                r->size);
  std::string encoded = mv::EncodeVersion(*r);
  absl::StatusOr<mv::VersionRecord> again = mv::DecodeVersion(encoded);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(Same(*r, *again));
  MV_FUZZ_CHECK(mv::EncodeVersion(*again) == encoded);
}

void FuzzArtifact(std::string_view in) {
  absl::StatusOr<mv::ArtifactRecord> r = mv::DecodeArtifact(in);
  if (!r.ok()) return CheckRejection(r.status());
  std::string encoded = mv::EncodeArtifact(*r);
  absl::StatusOr<mv::ArtifactRecord> again = mv::DecodeArtifact(encoded);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(again->last_number == r->last_number &&
                again->aliases == r->aliases);
  MV_FUZZ_CHECK(mv::EncodeArtifact(*again) == encoded);
}

void FuzzPending(std::string_view in) {
  absl::StatusOr<mv::PendingRecord> r = mv::DecodePending(in);
  if (!r.ok()) return CheckRejection(r.status());
  // No map, so the encoding is canonical: it must reproduce the input.
  std::string encoded = mv::EncodePending(*r);
  MV_FUZZ_CHECK(encoded == in);
  absl::StatusOr<mv::PendingRecord> again = mv::DecodePending(encoded);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(again->name == r->name &&
                again->last_active_unix_ms == r->last_active_unix_ms);
}

void FuzzToken(std::string_view in) {
  absl::StatusOr<mv::TokenRecord> r = mv::DecodeToken(in);
  if (!r.ok()) return CheckRejection(r.status());
  std::string encoded = mv::EncodeToken(*r);
  MV_FUZZ_CHECK(encoded == in);
  absl::StatusOr<mv::TokenRecord> again = mv::DecodeToken(encoded);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(again->principal == r->principal &&
                again->accessor == r->accessor &&
                again->created_at_unix_ms == r->created_at_unix_ms);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  FuzzVersion(in);
  FuzzArtifact(in);
  FuzzPending(in);
  FuzzToken(in);
  return 0;
}
