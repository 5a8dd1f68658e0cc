// Saving and removing the token file that `mvault login` writes and every
// command reads by default ($XDG_CONFIG_HOME/modelvault/token, see
// config.h).
//
// The file holds one token and a newline, mode 0600; missing parent
// directories are created mode 0700. Writes are atomic: the token goes to a
// temporary file (mode 0600 from creation) in the same directory, is
// fsynced and renamed over the old file, then the directory is fsynced — a
// reader sees the old token or the new one, never a mix, and a failure
// leaves the old file as it was and no temporary behind.
//
// Thread-compatible: concurrent writers of one path leave one of the tokens.
#ifndef MODELVAULT_CLIENT_LIB_TOKEN_STORE_H_
#define MODELVAULT_CLIENT_LIB_TOKEN_STORE_H_

#include <string>

#include "absl/status/statusor.h"

namespace mvclient {

// REQUIRES: `token` passes CheckTokenShape (config.h).
// Errors: InvalidArgumentError for an empty path or a bad token;
// PermissionDeniedError / InternalError with the path and errno text when
// the directory or file cannot be created, written or renamed.
absl::Status WriteTokenFile(const std::string& path, const std::string& token);

// Removes the file. Returns true if it existed, false if there was nothing
// to remove; an error (with the path) if it exists but cannot be removed.
absl::StatusOr<bool> RemoveTokenFile(const std::string& path);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_TOKEN_STORE_H_
