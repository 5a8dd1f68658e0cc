// Where downloaded bytes go: a file written atomically or a stream (stdout).
//
// A download writes every chunk through Write(), then calls exactly one of
// Commit() (all bytes arrived and verified) or Abort() (anything failed).
// Only after Commit() may the bytes become visible under their final name.
// Not thread-safe: one thread at a time; the download pipeline hands the sink
// from its writer thread back to the caller before Commit()/Abort().
#ifndef MODELVAULT_CLIENT_LIB_BYTE_SINK_H_
#define MODELVAULT_CLIENT_LIB_BYTE_SINK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mvclient {

class ByteSink {
 public:
  virtual ~ByteSink() = default;

  // Appends `data`. Returns an error (and the download fails) if the bytes
  // could not be stored.
  virtual absl::Status Write(absl::string_view data) = 0;

  // Makes the written bytes durable and visible. On error the sink has
  // already discarded what it wrote, as Abort() would.
  virtual absl::Status Commit() = 0;

  // Discards everything written so far. Idempotent; never fails.
  virtual void Abort() = 0;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_BYTE_SINK_H_
