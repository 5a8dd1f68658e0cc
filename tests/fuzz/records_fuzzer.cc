// Fuzzes the decoders of the records stored in LMDB (vault/records.h). Each
// input is offered to every decoder. Invariants:
//   - a rejection is DATA_LOSS (corrupt) or FAILED_PRECONDITION (a newer
//     layout byte), never anything else;
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
  MV_FUZZ_CHECK(r->uses_left >= -1 && r->expires_at_unix_ms >= 0);
  // Always written as layout 2, so only a layout-2 input is reproduced; a
  // layout-1 one decodes with the defaults of the fields it lacks.
  std::string encoded = mv::EncodeToken(*r);
  if (in[0] == 2) MV_FUZZ_CHECK(encoded == in);
  if (in[0] == 1) {
    MV_FUZZ_CHECK(r->policies.empty() && r->expires_at_unix_ms == 0 &&
                  r->uses_left == -1);
  }
  absl::StatusOr<mv::TokenRecord> again = mv::DecodeToken(encoded);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(again->principal == r->principal &&
                again->accessor == r->accessor &&
                again->created_at_unix_ms == r->created_at_unix_ms &&
                again->policies == r->policies &&
                again->expires_at_unix_ms == r->expires_at_unix_ms &&
                again->uses_left == r->uses_left);
}

void FuzzPrincipal(std::string_view in) {
  absl::StatusOr<mv::PrincipalRecord> r = mv::DecodePrincipal(in);
  if (!r.ok()) return CheckRejection(r.status());
  MV_FUZZ_CHECK(r->kind == mv::PrincipalKind::kUser ||
                r->kind == mv::PrincipalKind::kService);
  std::string encoded = mv::EncodePrincipal(*r);
  MV_FUZZ_CHECK(encoded == in);  // no map: the encoding is canonical
  absl::StatusOr<mv::PrincipalRecord> again = mv::DecodePrincipal(encoded);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(again->kind == r->kind && again->policies == r->policies &&
                again->cert_identity == r->cert_identity &&
                again->created_at_unix_ms == r->created_at_unix_ms);
}

void FuzzBudget(std::string_view in) {
  absl::StatusOr<mv::BudgetRecord> r = mv::DecodeBudget(in);
  if (!r.ok()) return CheckRejection(r.status());
  MV_FUZZ_CHECK(in.size() == 17);
  MV_FUZZ_CHECK(mv::EncodeBudget(*r) == in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  FuzzVersion(in);
  FuzzArtifact(in);
  FuzzPending(in);
  FuzzToken(in);
  FuzzPrincipal(in);
  FuzzBudget(in);
  return 0;
}
