// Embedding (LEAK_TRACING.md, "Embedding"): a download's code and the
// patching of its bytes as they stream out.
//
//   const DownloadCode code = MakeDownloadCode(keys, table, download_id);
//   for each decrypted piece at file offset `at`:
//     MV_RETURN_IF_ERROR(ApplyMarks(table, code, at, &piece));  // then send
//
// Cost per piece: one binary search plus 2-4 byte writes per table entry in
// it; the code is 1 byte per entry (~12 KB), made once per download.
//
// ApplyMarks merge-joins the piece's byte range with the sorted table and
// writes the marked element computed from the table's original value, so
// the output is the same for any split of the file into pieces, including
// pieces that split an element (only the bytes inside the piece are
// written).
//
// Pure functions; thread-safe for distinct `bytes`.
#ifndef MODELVAULT_TRACE_EMBED_H_
#define MODELVAULT_TRACE_EMBED_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "trace/keys.h"
#include "trace/mark_table.h"

namespace mv {

// One download's code: a sign per table entry (+1/-1 for channel A, 0 for
// entries that are not marked).
struct DownloadCode {
  uint64_t download_id = 0;
  std::vector<int8_t> signs;  // parallel to MarkTable::entries
};

// s_i = +1 if U_i < P_i else -1, U_i the i-th u16 of the keystream of
// seed = kdf(K_code, download_id), i counting table entries.
DownloadCode MakeDownloadCode(const TraceKeys& keys, const MarkTable& table,
                              uint64_t download_id);

// Patches the bytes of [range_offset, range_offset + bytes->size()) of the
// file. DATA_LOSS if a byte at a table position differs from the table's
// original value (the table is not this file's), INVALID_ARGUMENT if the
// code does not belong to the table or the range runs past the file; in
// both cases `bytes` may be partly patched and must not be sent.
absl::Status ApplyMarks(const MarkTable& table, const DownloadCode& code,
                        uint64_t range_offset, std::string* bytes);

// The element bits download `code` carries at entry `i`.
uint32_t MarkedElement(const MarkTable& table, const DownloadCode& code,
                       size_t i);

}  // namespace mv

#endif  // MODELVAULT_TRACE_EMBED_H_
