// CIDR networks over the 128-bit address space (IPv4 v4-mapped).
#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "absl/strings/escaping.h"
#include "access/policy.h"

namespace mv {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0,    0,
                                                     0, 0, 0, 0, 0xff, 0xff};

bool IsV4Mapped(const std::array<uint8_t, 16>& a) {
  return std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), a.begin());
}

absl::Status NotACidr(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      "not a CIDR (" + std::string(why) +
      "): " + absl::CHexEscape(std::string(text.substr(0, 64))));
}

// Prefix length: 1-3 decimal digits, no sign, no leading zero.
std::optional<int> ParsePrefix(std::string_view s) {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) {
    return std::nullopt;
  }
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;  // from_chars takes '-'
  }
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::array<uint8_t, 16>> ParseIpAddress(
    std::string_view address) {
  // inet_pton wants a NUL-terminated string; anything longer than the
  // longest textual IPv6 address is malformed anyway.
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN)
    return std::nullopt;
  std::string text(address);
  std::array<uint8_t, 16> out{};
  if (text.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, text.c_str(), out.data() + 12) != 1)
      return std::nullopt;
    std::copy(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), out.begin());
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  size_t slash = text.find('/');
  std::optional<std::array<uint8_t, 16>> address =
      ParseIpAddress(text.substr(0, slash));
  if (!address) return NotACidr(text, "bad address");
  bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::optional<int> prefix = ParsePrefix(text.substr(slash + 1));
    if (!prefix || *prefix > max_bits)
      return NotACidr(text, "bad prefix length");
    bits = *prefix;
  }
  Cidr cidr;
  cidr.network = *address;
  cidr.prefix_bits = v4 ? 96 + bits : bits;
  for (int bit = cidr.prefix_bits; bit < 128; ++bit) {
    if (cidr.network[bit / 8] & (0x80 >> (bit % 8))) {
      return NotACidr(text, "host bits set");
    }
  }
  return cidr;
}

bool Cidr::Contains(const std::array<uint8_t, 16>& address) const {
  int full = prefix_bits / 8;
  if (!std::equal(network.begin(), network.begin() + full, address.begin())) {
    return false;
  }
  int rest = prefix_bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (network[full] & mask) == (address[full] & mask);
}

bool Cidr::Contains(std::string_view address) const {
  std::optional<std::array<uint8_t, 16>> parsed = ParseIpAddress(address);
  return parsed && Contains(*parsed);
}

std::string Cidr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (IsV4Mapped(network) && prefix_bits >= 96) {
    inet_ntop(AF_INET, network.data() + 12, buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(prefix_bits - 96);
  }
  inet_ntop(AF_INET6, network.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix_bits);
}

}  // namespace mv
