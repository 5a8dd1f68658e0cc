#include "storage/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {
namespace {

constexpr std::string_view kMagic = "MVKEYS";

absl::Status IoError(const char* what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

std::string Header(std::string_view vault_id) {
  std::string header(kMagic);
  header.push_back(static_cast<char>(KeyFile::kFormat >> 8));
  header.push_back(static_cast<char>(KeyFile::kFormat & 0xff));
  header.append(vault_id);
  header.resize(KeyFile::kHeaderSize, '\0');
  return header;
}

uint64_t KeyRingSlotOffset(int slot) {
  return KeyFile::kHeaderSize + slot * KeyFile::kKeyRingSlotSize;
}

uint64_t DataKeyOffset(uint64_t id, int half) {
  return KeyFile::kDataKeyBase + id * KeyFile::kDataKeySlotSize +
         half * KeyFile::kHalfSize;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyFile>> KeyFile::Create(
    const std::string& path, std::string_view vault_id) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create key file", path);
  std::unique_ptr<KeyFile> file(new KeyFile(fd, path, std::string(vault_id)));
  MV_RETURN_IF_ERROR(file->PWrite(0, Header(vault_id)));
  MV_RETURN_IF_ERROR(
      file->PWrite(kHeaderSize, std::string(2 * kKeyRingSlotSize, '\0')));
  MV_RETURN_IF_ERROR(file->Sync());
  return file;
}

absl::StatusOr<std::unique_ptr<KeyFile>> KeyFile::Open(
    const std::string& path, std::string_view vault_id) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the vault's key file ", path,
          " is missing: restore it from the backup it was taken with"));
    }
    return IoError("cannot open key file", path);
  }
  std::unique_ptr<KeyFile> file(new KeyFile(fd, path, std::string(vault_id)));
  absl::StatusOr<std::string> header = file->PRead(0, kHeaderSize);
  if (!header.ok() || *header != Header(vault_id)) {
    return absl::DataLossError(absl::StrCat(
        "key file ", path,
        " is not this vault's (wrong header: another vault's, or edited)"));
  }
  return file;
}

KeyFile::~KeyFile() { close(fd_); }

absl::Status KeyFile::PWrite(uint64_t offset, std::string_view bytes) {
  ssize_t n = pwrite(fd_, bytes.data(), bytes.size(), offset);
  if (n != static_cast<ssize_t>(bytes.size()))
    return IoError("cannot write key file", path_);
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyFile::PRead(uint64_t offset, size_t n) const {
  std::string out(n, '\0');
  ssize_t got = pread(fd_, out.data(), n, offset);
  if (got < 0) return IoError("cannot read key file", path_);
  out.resize(got);  // short past the end: a slot never written
  out.resize(n, '\0');
  return out;
}

absl::Status KeyFile::Sync() {
  if (fdatasync(fd_) != 0) return IoError("cannot sync key file", path_);
  return absl::OkStatus();
}

std::string KeyFile::KeyRingAd(uint64_t generation) const {
  std::string ad = "mvkeyring";
  ad += vault_id_;
  AppendBigEndian64(&ad, generation);
  return ad;
}

absl::StatusOr<KeyFile::KeyRingSlot> KeyFile::ReadKeyRingSlot(int slot) const {
  MV_ASSIGN_OR_RETURN(std::string raw,
                      PRead(KeyRingSlotOffset(slot), kKeyRingSlotSize));
  const auto* bytes = reinterpret_cast<const uint8_t*>(raw.data());
  KeyRingSlot out{GetBigEndian64(bytes), ""};
  const uint32_t n = GetBigEndian32(bytes + 8);
  if (n <= kKeyRingSlotSize - 12) out.sealed = raw.substr(12, n);
  return out;  // a length past the slot leaves `sealed` empty: it never opens
}

bool KeyFile::OpenKeyRingSlot(const Aead& master, const KeyRingSlot& slot,
                              std::string* encoded) const {
  return master
      .Open(AsBytes(slot.sealed), AsBytes(KeyRingAd(slot.generation)), encoded)
      .ok();
}

absl::StatusOr<KeyFile::StoredKeyRing> KeyFile::ReadKeyRing(
    const SecretKey& master) const {
  const Aead aead(*SecretKey::FromBytes(master.span()));
  StoredKeyRing best;
  for (int slot = 0; slot < 2; ++slot) {
    MV_ASSIGN_OR_RETURN(KeyRingSlot stored, ReadKeyRingSlot(slot));
    std::string encoded;
    if (stored.generation == 0 || stored.generation <= best.generation ||
        !OpenKeyRingSlot(aead, stored, &encoded)) {
      continue;
    }
    absl::StatusOr<std::unique_ptr<const KeyRing>> ring =
        KeyRing::Decode(AsBytes(encoded));
    sodium_memzero(encoded.data(), encoded.size());
    if (!ring.ok()) return ring.status();
    best = {*std::move(ring), stored.generation};
  }
  if (best.ring == nullptr) {
    return absl::DataLossError(absl::StrCat(
        "no keyring in ", path_,
        " opens under this master key (edited, truncated, or another "
        "vault's key file)"));
  }
  return best;
}

absl::StatusOr<int> KeyFile::ForeignKeyRings(const SecretKey& master) const {
  const Aead aead(*SecretKey::FromBytes(master.span()));
  int foreign = 0;
  for (int slot = 0; slot < 2; ++slot) {
    MV_ASSIGN_OR_RETURN(KeyRingSlot stored, ReadKeyRingSlot(slot));
    if (stored.generation == 0) continue;
    std::string encoded;
    if (!OpenKeyRingSlot(aead, stored, &encoded)) ++foreign;
    sodium_memzero(encoded.data(), encoded.size());
  }
  return foreign;
}

absl::Status KeyFile::WriteKeyRing(const SecretKey& master, const KeyRing& ring,
                                   uint64_t after) {
  // The slot to overwrite: the one that does not hold `after`.
  int target = 0;
  for (int slot = 0; slot < 2; ++slot) {
    MV_ASSIGN_OR_RETURN(std::string raw, PRead(KeyRingSlotOffset(slot), 8));
    if (GetBigEndian64(reinterpret_cast<const uint8_t*>(raw.data())) == after)
      target = 1 - slot;
  }
  const uint64_t generation = after + 1;
  std::string encoded = ring.Encode();
  std::string sealed;
  Aead(*SecretKey::FromBytes(master.span()))
      .Seal(AsBytes(encoded), AsBytes(KeyRingAd(generation)), &sealed);
  sodium_memzero(encoded.data(), encoded.size());
  if (sealed.size() > kKeyRingSlotSize - 12) {
    return absl::ResourceExhaustedError(
        "the keyring has too many versions for its slot; retire old "
        "versions first (mvault admin key status)");
  }
  std::string slot;
  AppendBigEndian64(&slot, generation);
  AppendBigEndian32(&slot, static_cast<uint32_t>(sealed.size()));
  slot += sealed;
  slot.resize(kKeyRingSlotSize, '\0');
  MV_RETURN_IF_ERROR(PWrite(KeyRingSlotOffset(target), slot));
  return Sync();
}

absl::Status KeyFile::EraseKeyRingsBut(const SecretKey& master, uint64_t keep) {
  MV_ASSIGN_OR_RETURN(StoredKeyRing newest, ReadKeyRing(master));
  if (newest.generation != keep) {
    return absl::FailedPreconditionError(absl::StrCat(
        "keyring generation ", keep, " is not the newest in ", path_));
  }
  for (int slot = 0; slot < 2; ++slot) {
    MV_ASSIGN_OR_RETURN(std::string raw, PRead(KeyRingSlotOffset(slot), 8));
    if (GetBigEndian64(reinterpret_cast<const uint8_t*>(raw.data())) == keep)
      continue;
    MV_RETURN_IF_ERROR(
        PWrite(KeyRingSlotOffset(slot), std::string(kKeyRingSlotSize, '\0')));
  }
  return Sync();
}

absl::StatusOr<std::vector<KeyFile::WrappedDataKey>> KeyFile::ReadDataKey(
    uint64_t id) const {
  MV_ASSIGN_OR_RETURN(std::string raw,
                      PRead(DataKeyOffset(id, 0), kDataKeySlotSize));
  std::vector<WrappedDataKey> out;
  for (int half = 0; half < 2; ++half) {
    const char* p = raw.data() + half * kHalfSize;
    const uint32_t key_version =
        GetBigEndian32(reinterpret_cast<const uint8_t*>(p));
    if (key_version == 0) continue;
    out.push_back(
        {half, key_version, std::string(p + 4, KeyRing::kWrappedKeySize)});
  }
  return out;
}

absl::Status KeyFile::WriteDataKey(uint64_t id, int half, uint32_t key_version,
                                   std::string_view wrapped) {
  if (wrapped.size() != KeyRing::kWrappedKeySize || key_version == 0 ||
      (half != 0 && half != 1)) {
    return absl::InvalidArgumentError("malformed wrapped data key");
  }
  std::string bytes;
  AppendBigEndian32(&bytes, key_version);
  bytes.append(wrapped);
  bytes.resize(kHalfSize, '\0');
  return PWrite(DataKeyOffset(id, half), bytes);
}

absl::Status KeyFile::EraseDataKey(uint64_t id, int half) {
  if (half < 0)
    return PWrite(DataKeyOffset(id, 0), std::string(kDataKeySlotSize, '\0'));
  return PWrite(DataKeyOffset(id, half), std::string(kHalfSize, '\0'));
}

uint64_t KeyFile::DataKeyCapacity() const {
  struct stat st {};
  if (fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) <= kDataKeyBase)
    return 0;
  return (st.st_size - kDataKeyBase) / kDataKeySlotSize;
}

}  // namespace mv
