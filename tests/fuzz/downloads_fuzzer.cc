// Fuzzes the downloads index decoder (vault/download_index.h), whose entries
// name the downloader in a trace report. The first 16 bytes of an input are
// the record's key (serial ‖ download id), the rest its value. Invariants:
//   - a rejection is DATA_LOSS or FAILED_PRECONDITION (a newer layout) with
//     a printable message;
//   - an accepted record takes its serial and id from the key and
//     re-encodes to a value that decodes to the same record.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "vault/download_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = mv::fuzz::AsView(data, size);
  const size_t split = in.size() < 16 ? in.size() : 16;
  const mv::fuzz::HeapCopy key(in.substr(0, split));
  const mv::fuzz::HeapCopy value(in.substr(split));
  absl::StatusOr<mv::DownloadRecord> r =
      mv::DecodeDownload(key.view(), value.view());
  if (!r.ok()) {
    MV_FUZZ_CHECK(r.status().code() == absl::StatusCode::kDataLoss ||
                  r.status().code() == absl::StatusCode::kFailedPrecondition);
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(r.status().message()));
    return 0;
  }
  MV_FUZZ_CHECK(mv::DownloadKey(r->serial, r->download_id) == key.view());
  MV_FUZZ_CHECK(r->delivered_sha256.empty() ||
                r->delivered_sha256.size() == 32);
  absl::StatusOr<mv::DownloadRecord> again =
      mv::DecodeDownload(key.view(), mv::EncodeDownload(*r));
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(*again == *r);
  return 0;
}
