// A one-line transfer progress bar on stderr: bytes, percentage, rate, ETA.
//
// Drawn only when stderr is a terminal, so logs and pipes never collect
// carriage-return noise; redrawn at most 10 times a second so a fast local
// transfer does not spend its time on the terminal. Not thread-safe: use it
// from the thread that runs the transfer (where ProgressFn is called).
#ifndef MODELVAULT_CLIENT_CLI_PROGRESS_BAR_H_
#define MODELVAULT_CLIENT_CLI_PROGRESS_BAR_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "client/lib/transfer.h"

namespace mvcli {

// The bar's text for `done` of `total` bytes (total 0 = unknown) after
// `elapsed`, e.g. "push  42% [########------] 1.2 GiB/2.9 GiB 210.5 MiB/s
// ETA 8s". Pure; exposed for tests.
std::string RenderProgressLine(const std::string& label, uint64_t done,
                               uint64_t total, absl::Duration elapsed);

class ProgressBar {
 public:
  // Enabled iff `enabled` (callers pass isatty(STDERR_FILENO)).
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();  // Finishes the line if anything was drawn.

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // A callback for the client library; nullptr-equivalent when disabled.
  mvclient::ProgressFn Callback();

  void Update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line. Idempotent.
  void Finish();

 private:
  void Draw(uint64_t done, uint64_t total);

  const std::string label_;
  const bool enabled_;
  const absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  bool drawn_ = false;
};

// True if stderr is a terminal.
bool StderrIsTerminal();

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_PROGRESS_BAR_H_
