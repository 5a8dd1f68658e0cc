#include "client/cli/token_prompt.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/cli/exit_codes.h"
#include "client/cli/interrupt.h"
#include "client/lib/config.h"

namespace mvcli {
namespace {

constexpr size_t kMaxTokenInput = 64 << 10;

// The terminal to restore if a signal ends the process mid-prompt. Read by
// the signal thread: `saved_tty` is written before `saved_tty_fd` is
// published, and cleared only after the cleanup hook is removed.
std::atomic<int> saved_tty_fd{-1};
termios saved_tty;

void RestoreTerminal() {
  int fd = saved_tty_fd.load();
  if (fd >= 0) {
    ::tcsetattr(fd, TCSAFLUSH, &saved_tty);
    (void)!::write(fd, "\n", 1);
  }
}

absl::StatusOr<std::string> CheckedToken(std::string text,
                                         absl::string_view source) {
  std::string token(absl::StripAsciiWhitespace(text));
  if (absl::Status s = mvclient::CheckTokenShape(token, source); !s.ok()) {
    return s;
  }
  return token;
}

// Reads up to a newline (not included) or EOF.
absl::StatusOr<std::string> ReadLine(int fd) {
  std::string line;
  char c;
  while (line.size() < kMaxTokenInput) {
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(
          absl::StrCat("cannot read the terminal: ", std::strerror(errno)));
    }
    if (n == 0 || c == '\n') break;
    line.push_back(c);
  }
  return line;
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFromFd(int fd) {
  std::string text;
  char buf[4096];
  while (text.size() <= kMaxTokenInput) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(
          absl::StrCat("cannot read stdin: ", std::strerror(errno)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  if (text.size() > kMaxTokenInput) {
    return absl::InvalidArgumentError("stdin holds more than a token");
  }
  return CheckedToken(std::move(text), "the token on stdin");
}

absl::StatusOr<std::string> PromptForToken() {
  absl::StatusOr<std::string> line = PromptHiddenLine(
      "Token: ", "no terminal to prompt for the token on: use --token-stdin");
  if (!line.ok()) return line.status();
  return CheckedToken(*std::move(line), "the token entered");
}

absl::StatusOr<std::string> PromptHiddenLine(const std::string& prompt,
                                             const std::string& no_tty) {
  int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return UsageError(no_tty);
  termios old_tty;
  if (::tcgetattr(fd, &old_tty) != 0) {
    ::close(fd);
    return UsageError(no_tty);
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  termios quiet = old_tty;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  saved_tty = old_tty;
  saved_tty_fd = fd;
  SetInterruptCleanup(&RestoreTerminal);
  ::tcsetattr(fd, TCSAFLUSH, &quiet);
  absl::StatusOr<std::string> line = ReadLine(fd);
  ::tcsetattr(fd, TCSAFLUSH, &old_tty);
  SetInterruptCleanup(nullptr);
  saved_tty_fd = -1;
  ::close(fd);
  return line;
}

}  // namespace mvcli
