// Fuzzes the audit log's parsers of untrusted bytes (src/audit/): the
// canonical record decoder, the checkpoint decoder and the offline export
// verifier (whose input is an export file from anywhere). Invariants:
//   - a rejected record is DATA_LOSS or FAILED_PRECONDITION (newer layout)
//     with a printable message; an accepted one is canonical: it re-encodes
//     to exactly the input, and maps through a JSON line and back unchanged;
//   - the verifier never crashes, and a failure names a line of the input;
//     a success counts at least one record.
#include <string>
#include <string_view>

#include "audit/audit_export.h"
#include "audit/audit_record.h"
#include "audit/checkpoint.h"
#include "fuzz_check.h"

namespace {

void FuzzRecord(std::string_view in) {
  absl::StatusOr<mv::AuditRecord> r = mv::DecodeAuditRecord(in);
  if (!r.ok()) {
    MV_FUZZ_CHECK(r.status().code() == absl::StatusCode::kDataLoss ||
                  r.status().code() == absl::StatusCode::kFailedPrecondition);
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(r.status().message()));
    return;
  }
  MV_FUZZ_CHECK(mv::IsCanonical(*r).ok());
  MV_FUZZ_CHECK(mv::EncodeAuditRecord(*r) == in);
  const std::string prev = mv::GenesisHash();
  const std::string hash = mv::ChainHash(prev, in);
  absl::StatusOr<mv::ExportLine> line =
      mv::ParseExportLine(mv::RecordToJsonLine(*r, prev, hash));
  MV_FUZZ_CHECK(line.ok());
  MV_FUZZ_CHECK(line->is_record && line->record == *r && line->hash == hash);
}

void FuzzCheckpoint(std::string_view in) {
  absl::StatusOr<mv::Checkpoint> c = mv::DecodeCheckpoint(in);
  if (!c.ok()) return;
  MV_FUZZ_CHECK(mv::EncodeCheckpoint(*c) == in);
}

void FuzzVerifier(std::string_view in) {
  // Any fixed key: the verifier must cope with every input whatever the key.
  static const std::string kKey(mv::kPublicKeySize, '\x07');
  const mv::VerifyResult r = mv::VerifyExport(in, kKey);
  if (r.ok) {
    MV_FUZZ_CHECK(r.records > 0 && r.bad_line == 0);
  } else {
    MV_FUZZ_CHECK(r.bad_line >= 1 && !r.reason.empty());
  }
  (void)r.Summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  FuzzRecord(in);
  FuzzCheckpoint(in);
  FuzzVerifier(in);
  return 0;
}
