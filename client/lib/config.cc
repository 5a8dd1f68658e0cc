#include "client/lib/config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace mvclient {
namespace {

std::optional<std::string> NonEmpty(const EnvLookup& env,
                                    absl::string_view name) {
  std::optional<std::string> value = env(name);
  if (value.has_value() && value->empty()) return std::nullopt;
  return value;
}

}  // namespace

absl::Status CheckTokenShape(absl::string_view token,
                             absl::string_view source) {
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
  }
  for (char c : token) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " must hold exactly one token on one line"));
    }
  }
  return absl::OkStatus();
}

EnvLookup ProcessEnv() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string ResolveAddress(const std::optional<std::string>& addr_flag,
                           const EnvLookup& env) {
  if (addr_flag.has_value() && !addr_flag->empty()) return *addr_flag;
  if (auto addr = NonEmpty(env, "MODELVAULT_ADDR")) return *addr;
  return std::string(kDefaultAddress);
}

std::string DefaultTokenPath(const EnvLookup& env) {
  if (auto xdg = NonEmpty(env, "XDG_CONFIG_HOME")) {
    return absl::StrCat(*xdg, "/modelvault/token");
  }
  if (auto home = NonEmpty(env, "HOME")) {
    return absl::StrCat(*home, "/.config/modelvault/token");
  }
  return "";
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string msg =
        absl::StrCat("cannot read token file ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(msg);
    return absl::PermissionDeniedError(msg);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(buf.str()));
  if (absl::Status s =
          CheckTokenShape(token, absl::StrCat("token file ", path));
      !s.ok()) {
    return s;
  }
  return token;
}

absl::StatusOr<std::string> ResolveToken(
    const std::optional<std::string>& token_file_flag, const EnvLookup& env) {
  if (token_file_flag.has_value()) return ReadTokenFile(*token_file_flag);
  if (auto token = NonEmpty(env, "MODELVAULT_TOKEN")) {
    std::string stripped(absl::StripAsciiWhitespace(*token));
    if (absl::Status s = CheckTokenShape(stripped, "$MODELVAULT_TOKEN");
        !s.ok()) {
      return absl::InvalidArgumentError(
          "$MODELVAULT_TOKEN must hold exactly one token");
    }
    return stripped;
  }
  std::string path = DefaultTokenPath(env);
  if (!path.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(path);
    if (token.ok() || !absl::IsNotFound(token.status())) return token;
  }
  return absl::UnauthenticatedError(
      absl::StrCat("no token: run `mvault login`, use --token-file FILE, set "
                   "MODELVAULT_TOKEN, or write it to ",
                   path.empty() ? "$XDG_CONFIG_HOME/modelvault/token" : path));
}

}  // namespace mvclient
