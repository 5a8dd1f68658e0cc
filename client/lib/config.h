// Where the client finds its server address and bearer token.
//
// Precedence (most specific wins):
//   address: --addr flag > $MODELVAULT_ADDR > 127.0.0.1:7070
//   token:   --token-file flag > $MODELVAULT_TOKEN >
//            $XDG_CONFIG_HOME/modelvault/token (XDG default ~/.config)
// A token is never taken from argv: command lines are visible to every user
// through /proc and land in shell history.
//
// The environment is passed in as a lookup function so that tests can supply
// their own. Pure functions apart from reading the token file; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_CONFIG_H_
#define MODELVAULT_CLIENT_LIB_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvclient {

inline constexpr absl::string_view kDefaultAddress = "127.0.0.1:7070";

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(absl::string_view)>;

// The real process environment (std::getenv).
EnvLookup ProcessEnv();

// Never fails: falls back to kDefaultAddress. Empty values count as unset.
std::string ResolveAddress(const std::optional<std::string>& addr_flag,
                           const EnvLookup& env);

// $XDG_CONFIG_HOME/modelvault/token, else $HOME/.config/modelvault/token;
// "" when neither variable is set.
std::string DefaultTokenPath(const EnvLookup& env);

// OK if `token` is one non-empty word without spaces or control characters
// (anything else would corrupt the authorization header); otherwise
// InvalidArgumentError "<source> is empty" / "<source> must hold exactly one
// token on one line".
absl::Status CheckTokenShape(absl::string_view token, absl::string_view source);

// Reads a token file and strips surrounding whitespace (editors add a final
// newline). NotFoundError if it does not exist, PermissionDeniedError if it
// cannot be read, InvalidArgumentError if it is empty or holds more than one
// word (which would corrupt the authorization header).
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Applies the token precedence above. An explicit --token-file must be
// readable. If no source yields a token, returns UnauthenticatedError telling
// the user the three ways to supply one.
absl::StatusOr<std::string> ResolveToken(
    const std::optional<std::string>& token_file_flag, const EnvLookup& env);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_CONFIG_H_
