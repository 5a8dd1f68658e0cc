#include "crypto/master_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mv {
namespace {

absl::Status ErrnoStatus(const std::string& what, const std::string& path) {
  int err = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EEXIST) return absl::AlreadyExistsError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<SecretKey> LoadMasterKeyFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open master key file", path);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return ErrnoStatus("cannot stat master key file", path);
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrFormat("master key file %s is accessible by group or others "
                        "(mode %04o); run: chmod 600 %s",
                        path, st.st_mode & 07777, path));
  }
  uint8_t buf[SecretKey::kSize + 1];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  absl::StatusOr<SecretKey> key =
      n == SecretKey::kSize
          ? SecretKey::FromBytes({buf, SecretKey::kSize})
          : absl::InvalidArgumentError(absl::StrCat(
                "master key file ", path, " must hold exactly 32 bytes"));
  sodium_memzero(buf, sizeof buf);
  return key;
}

absl::Status WriteSecretFile(const std::string& path,
                             std::string_view contents) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create", path);
  bool ok = write(fd, contents.data(), contents.size()) ==
                static_cast<ssize_t>(contents.size()) &&
            fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    errno = err;
    return ErrnoStatus("cannot write", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretKey> CreateMasterKeyFile(const std::string& path) {
  absl::StatusOr<SecretKey> key = SecretKey::Random();
  if (!key.ok()) return key.status();
  absl::Status written = WriteSecretFile(
      path, {reinterpret_cast<const char*>(key->data()), SecretKey::kSize});
  if (!written.ok()) return written;
  return key;
}

std::string KeyCheckValue(const SecretKey& kek) {
  static constexpr std::string_view kLabel = "modelvault key check value v1";
  std::string kcv(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(kcv.data()), kcv.size(),
                     reinterpret_cast<const uint8_t*>(kLabel.data()),
                     kLabel.size(), kek.data(), SecretKey::kSize);
  return kcv;
}

std::string KeyCheckValue(const SecretKey& kek, std::string_view vault_id) {
  std::string message = "modelvault key check value v2";
  message.append(vault_id.data(), vault_id.size());
  std::string kcv(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(kcv.data()), kcv.size(),
                     reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), kek.data(), SecretKey::kSize);
  return kcv;
}

absl::StatusOr<SecretKey> DeriveSubkey(const SecretKey& key, uint64_t id,
                                       const char context[8]) {
  uint8_t sub[SecretKey::kSize];
  crypto_kdf_derive_from_key(sub, sizeof sub, id, context, key.data());
  absl::StatusOr<SecretKey> out = SecretKey::FromBytes(sub);
  sodium_memzero(sub, sizeof sub);
  return out;
}

}  // namespace mv
