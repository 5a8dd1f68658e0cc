#include "crypto/unseal_shares.h"

extern "C" {
#include <libgfshare.h>
}
#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "crypto/master_key.h"

namespace mv {
namespace {

constexpr size_t kTagBytes = 4;
constexpr size_t kCheckBytes = 4;
constexpr std::string_view kSealPrefix = "mvseal1";

// libgfshare draws the random polynomial coefficients through a global hook
// whose fallback is random(), and gfshare_ctx_free overwrites its buffers
// through the same hook (null until set: a combine in a process that never
// split would crash). Point it at the OS CSPRNG once, before any context.
void UseSodiumRandom() {
  static std::once_flag once;
  std::call_once(once, [] {
    gfshare_fill_rand = [](unsigned char* buffer, unsigned int count) {
      randombytes_buf(buffer, count);
    };
  });
}

struct GfshareFree {
  void operator()(gfshare_ctx* ctx) const { gfshare_ctx_free(ctx); }
};
using GfshareCtx = std::unique_ptr<gfshare_ctx, GfshareFree>;

std::string Hex(const uint8_t* bytes, size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.resize(2 * n);
  return out;
}

// True if `text` is exactly 2*n lowercase/uppercase hex digits; writes them.
bool FromHex(std::string_view text, uint8_t* out, size_t n) {
  size_t written = 0;
  return text.size() == 2 * n &&
         sodium_hex2bin(out, n, text.data(), text.size(), nullptr, &written,
                        nullptr) == 0 &&
         written == n;
}

std::string Check(std::string_view body) {
  uint8_t hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash,
                     reinterpret_cast<const uint8_t*>(body.data()), body.size(),
                     nullptr, 0);
  return Hex(hash, kCheckBytes);
}

absl::Status NotAShare() {
  return absl::InvalidArgumentError(
      "not an unseal key: expected mvshare1-<tag>-<index>-<64 hex>-<check>");
}

// (Debian's Abseil has its own string_view, so these stay in std.)
std::string_view StripWhitespace(std::string_view text) {
  const char* space = " \t\r\n";
  const size_t first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

std::vector<std::string_view> Split(std::string_view text, char by) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = text.find(by);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// A decimal 1..999 without sign or leading zero.
bool ParseSmall(std::string_view text, uint32_t* out) {
  if (text.empty() || text.size() > 3 || text[0] == '0') return false;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = value;
  return true;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool IsHexTag(std::string_view tag) {
  uint8_t bytes[kTagBytes];
  return FromHex(tag, bytes, kTagBytes);
}

}  // namespace

UnsealShare::~UnsealShare() { sodium_memzero(payload.data(), payload.size()); }

absl::Status ValidateSealConfig(uint32_t shares, uint32_t threshold) {
  if (shares < 1 || shares > kMaxShares)
    return absl::InvalidArgumentError("key shares must be 1..255");
  if (threshold < 1 || threshold > shares)
    return absl::InvalidArgumentError("key threshold must be 1..key shares");
  if (shares > 1 && threshold < 2)
    return absl::InvalidArgumentError(
        "key threshold must be at least 2 when there are several key shares "
        "(a threshold of 1 makes every share the whole key)");
  return absl::OkStatus();
}

std::string ShareTag(const SecretKey& kek) {
  uint8_t hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash,
                     reinterpret_cast<const uint8_t*>(kTagLabel.data()),
                     kTagLabel.size(), kek.data(), SecretKey::kSize);
  return Hex(hash, kTagBytes);
}

absl::StatusOr<std::vector<std::string>> SplitKey(const SecretKey& kek,
                                                  uint32_t shares,
                                                  uint32_t threshold) {
  if (absl::Status s = ValidateSealConfig(shares, threshold); !s.ok()) return s;
  UseSodiumRandom();
  std::vector<unsigned char> indexes(shares);
  for (uint32_t i = 0; i < shares; ++i)
    indexes[i] = static_cast<unsigned char>(i + 1);
  GfshareCtx ctx(gfshare_ctx_init_enc(indexes.data(), shares,
                                      static_cast<unsigned char>(threshold),
                                      SecretKey::kSize));
  if (ctx == nullptr) return absl::InternalError("libgfshare: cannot split");
  // setsecret takes a non-const pointer; copy into wiped memory.
  std::array<unsigned char, SecretKey::kSize> secret;
  std::memcpy(secret.data(), kek.data(), secret.size());
  gfshare_ctx_enc_setsecret(ctx.get(), secret.data());
  sodium_memzero(secret.data(), secret.size());
  const std::string tag = ShareTag(kek);
  std::vector<std::string> out;
  std::array<unsigned char, SecretKey::kSize> y;
  for (uint32_t i = 0; i < shares; ++i) {
    // libgfshare's `sharenr` is the position in `indexes`, not the x.
    gfshare_ctx_enc_getshare(ctx.get(), static_cast<unsigned char>(i),
                             y.data());
    std::string body = std::string(kSharePrefix) + "-" + tag + "-" +
                       std::to_string(i + 1) + "-" + Hex(y.data(), y.size());
    out.push_back(body + "-" + Check(body));
    sodium_memzero(body.data(), body.size());
  }
  sodium_memzero(y.data(), y.size());
  return out;
}

absl::StatusOr<UnsealShare> ParseShare(std::string_view text) {
  text = StripWhitespace(text);
  std::vector<std::string_view> parts = Split(text, '-');
  if (parts.size() != 5 || parts[0] != kSharePrefix) return NotAShare();
  UnsealShare share;
  uint32_t index = 0;
  if (!IsHexTag(parts[1]) || !ParseSmall(parts[2], &index) ||
      index > kMaxShares ||
      !FromHex(parts[3], share.payload.data(), share.payload.size()) ||
      parts[4].size() != 2 * kCheckBytes) {
    return NotAShare();
  }
  const std::string_view body =
      text.substr(0, text.size() - parts[4].size() - 1);
  const std::string want = Check(body);
  if (sodium_memcmp(want.data(), Lower(parts[4]).data(), want.size()) != 0) {
    return absl::InvalidArgumentError(
        "unseal key checksum mismatch (a typo?): check the key and type it "
        "again");
  }
  share.tag = Lower(parts[1]);
  share.index = static_cast<uint8_t>(index);
  return share;
}

absl::StatusOr<SecretKey> CombineShares(std::span<const UnsealShare> shares) {
  if (shares.empty()) return absl::InvalidArgumentError("no unseal keys");
  UseSodiumRandom();
  std::vector<unsigned char> indexes;
  std::set<uint8_t> seen;
  for (const UnsealShare& share : shares) {
    if (share.tag != shares.front().tag)
      return absl::InvalidArgumentError("unseal keys of different vaults");
    if (!seen.insert(share.index).second)
      return absl::InvalidArgumentError("the same unseal key given twice");
    indexes.push_back(share.index);
  }
  GfshareCtx ctx(gfshare_ctx_init_dec(indexes.data(),
                                      static_cast<unsigned int>(indexes.size()),
                                      SecretKey::kSize));
  if (ctx == nullptr) return absl::InternalError("libgfshare: cannot combine");
  std::array<unsigned char, SecretKey::kSize> y;
  for (size_t i = 0; i < shares.size(); ++i) {
    std::memcpy(y.data(), shares[i].payload.data(), y.size());
    // The position in `indexes` (as for getshare), not the share's x.
    gfshare_ctx_dec_giveshare(ctx.get(), static_cast<unsigned char>(i),
                              y.data());
  }
  sodium_memzero(y.data(), y.size());
  std::array<unsigned char, SecretKey::kSize> secret;
  gfshare_ctx_dec_extract(ctx.get(), secret.data());
  absl::StatusOr<SecretKey> key = SecretKey::FromBytes(secret);
  sodium_memzero(secret.data(), secret.size());
  return key;
}

std::string FormatSealConfig(const SealConfig& config) {
  return std::string(kSealPrefix) + " shares=" + std::to_string(config.shares) +
         " threshold=" + std::to_string(config.threshold) +
         " tag=" + config.tag + "\n";
}

absl::StatusOr<SealConfig> ParseSealConfig(std::string_view text) {
  const auto bad = [](const std::string& why) {
    return absl::InvalidArgumentError("malformed seal file " +
                                      std::string(kSealFileName) + ": " + why);
  };
  std::vector<std::string_view> words = Split(StripWhitespace(text), ' ');
  if (words.size() != 4 || words[0] != kSealPrefix)
    return bad("expected \"mvseal1 shares=N threshold=M tag=T\"");
  SealConfig config;
  if (!words[1].starts_with("shares=") ||
      !ParseSmall(words[1].substr(7), &config.shares))
    return bad("shares");
  if (!words[2].starts_with("threshold=") ||
      !ParseSmall(words[2].substr(10), &config.threshold))
    return bad("threshold");
  if (!words[3].starts_with("tag=") || !IsHexTag(words[3].substr(4)))
    return bad("tag");
  config.tag = Lower(words[3].substr(4));
  if (absl::Status s = ValidateSealConfig(config.shares, config.threshold);
      !s.ok())
    return bad(std::string(s.message()));
  return config;
}

absl::Status WriteSealConfig(const std::string& data_dir,
                             const SealConfig& config) {
  if (absl::Status s = ValidateSealConfig(config.shares, config.threshold);
      !s.ok())
    return s;
  return WriteSecretFile(data_dir + "/" + std::string(kSealFileName),
                         FormatSealConfig(config));
}

absl::StatusOr<SealConfig> ReadSealConfig(const std::string& data_dir) {
  const std::string path = data_dir + "/" + std::string(kSealFileName);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError("no seal file " + path);
    return absl::FailedPreconditionError("cannot read " + path + ": " +
                                         std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > 256)
    return absl::InvalidArgumentError(path + ": too long");
  return ParseSealConfig(text.str());
}

}  // namespace mv
