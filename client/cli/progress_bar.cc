#include "client/cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/cli/output.h"

namespace mvcli {
namespace {

constexpr int kBarWidth = 24;
constexpr absl::Duration kRedrawInterval = absl::Milliseconds(100);

std::string FormatEta(absl::Duration d) {
  int64_t s = absl::ToInt64Seconds(d);
  if (s >= 3600) return absl::StrCat(s / 3600, "h", (s % 3600) / 60, "m");
  if (s >= 60) return absl::StrCat(s / 60, "m", s % 60, "s");
  return absl::StrCat(s, "s");
}

}  // namespace

std::string RenderProgressLine(const std::string& label, uint64_t done,
                               uint64_t total, absl::Duration elapsed) {
  double secs = absl::ToDoubleSeconds(elapsed);
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string rate_text =
      absl::StrCat(HumanBytes(static_cast<uint64_t>(rate)), "/s");
  if (total == 0) {
    return absl::StrCat(label, " ", HumanBytes(done), " ", rate_text);
  }
  double frac = std::min(1.0, static_cast<double>(done) / total);
  int filled = static_cast<int>(frac * kBarWidth);
  std::string eta = "--";
  if (rate > 0 && done <= total) {
    eta = FormatEta(absl::Seconds((total - done) / rate));
  }
  return absl::StrCat(
      label, " ", static_cast<int>(frac * 100), "% [", std::string(filled, '#'),
      std::string(kBarWidth - filled, '-'), "] ", HumanBytes(done), "/",
      HumanBytes(total), " ", rate_text, " ETA ", eta);
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(absl::Now()) {}

ProgressBar::~ProgressBar() { Finish(); }

mvclient::ProgressFn ProgressBar::Callback() {
  if (!enabled_) return nullptr;
  return [this](uint64_t done, uint64_t total) { Update(done, total); };
}

void ProgressBar::Update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  absl::Time now = absl::Now();
  if (!enabled_ || now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw(done, total);
}

void ProgressBar::Draw(uint64_t done, uint64_t total) {
  std::string line =
      RenderProgressLine(label_, done, total, absl::Now() - start_);
  // \r returns to column 0; \x1b[K clears what a longer line left behind.
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!enabled_ || !drawn_) return;
  Draw(done_, total_);
  std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace mvcli
