// Reading a token for `mvault login` without it ever appearing on the
// command line or the screen. Not thread-safe (touches the terminal).
#ifndef MODELVAULT_CLIENT_CLI_TOKEN_PROMPT_H_
#define MODELVAULT_CLIENT_CLI_TOKEN_PROMPT_H_

#include <string>

#include "absl/status/statusor.h"

namespace mvcli {

// Reads `fd` to EOF (at most 64 KiB), strips surrounding whitespace and
// checks the token's shape (config.h CheckTokenShape). InvalidArgumentError
// if it is empty or not one token on one line.
absl::StatusOr<std::string> ReadTokenFromFd(int fd);

// Prints "Token: " on /dev/tty and reads one line with echo off; echo is
// restored afterwards, also when Ctrl-C ends the process. Errors: a usage
// error (exit 2) when there is no terminal ("use --token-stdin"), and
// InvalidArgumentError for an empty or malformed token.
absl::StatusOr<std::string> PromptForToken();

// Prints `prompt` on /dev/tty and reads one line with echo off (restored
// afterwards, also on Ctrl-C). A usage error saying `no_tty` when there is
// no terminal. The line is returned unchecked.
absl::StatusOr<std::string> PromptHiddenLine(const std::string& prompt,
                                             const std::string& no_tty);

}  // namespace mvcli

#endif  // MODELVAULT_CLIENT_CLI_TOKEN_PROMPT_H_
