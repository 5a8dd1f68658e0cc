#include <gtest/gtest.h>

#include "access/policy.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using mvtesting::IsOk;
using mvtesting::StatusIs;
using testing::HasSubstr;

Cidr MustParse(std::string_view text) {
  absl::StatusOr<Cidr> c = Cidr::Parse(text);
  EXPECT_THAT(c, IsOk()) << text;
  return c.ok() ? *c : Cidr{};
}

TEST(CidrTest, Ipv4NetworkContainsItsAddressesOnly) {
  Cidr c = MustParse("10.0.0.0/8");
  EXPECT_EQ(c.prefix_bits, 104);
  EXPECT_TRUE(c.Contains("10.0.0.0"));
  EXPECT_TRUE(c.Contains("10.255.255.255"));
  EXPECT_FALSE(c.Contains("11.0.0.0"));
  EXPECT_FALSE(c.Contains("9.255.255.255"));
}

TEST(CidrTest, OddPrefixLengthsCompareThePartialByte) {
  Cidr c = MustParse("192.168.4.0/22");
  EXPECT_TRUE(c.Contains("192.168.7.255"));
  EXPECT_FALSE(c.Contains("192.168.8.0"));
  EXPECT_FALSE(c.Contains("192.168.3.255"));
}

TEST(CidrTest, BareAddressMeansTheHost) {
  Cidr c = MustParse("127.0.0.1");
  EXPECT_EQ(c.ToString(), "127.0.0.1/32");
  EXPECT_TRUE(c.Contains("127.0.0.1"));
  EXPECT_FALSE(c.Contains("127.0.0.2"));
  EXPECT_EQ(MustParse("::1").ToString(), "::1/128");
}

TEST(CidrTest, Ipv6Networks) {
  Cidr c = MustParse("2001:db8::/32");
  EXPECT_TRUE(c.Contains("2001:db8::1"));
  EXPECT_TRUE(c.Contains("2001:db8:ffff::"));
  EXPECT_FALSE(c.Contains("2001:db9::1"));
  EXPECT_FALSE(c.Contains("10.0.0.1"));
  EXPECT_TRUE(MustParse("::1/128").Contains("::1"));
  EXPECT_FALSE(MustParse("::1/128").Contains("::2"));
}

TEST(CidrTest, V4MappedPeersMatchIpv4Networks) {
  EXPECT_TRUE(MustParse("127.0.0.0/8").Contains("::ffff:127.0.0.1"));
  EXPECT_TRUE(MustParse("10.1.0.0/16").Contains("::FFFF:10.1.2.3"));
  EXPECT_FALSE(MustParse("10.1.0.0/16").Contains("::ffff:10.2.0.1"));
  // And the mapped network written in IPv6 form is the same network.
  EXPECT_EQ(MustParse("::ffff:10.0.0.0/104"), MustParse("10.0.0.0/8"));
}

TEST(CidrTest, ZeroPrefixesContainEverything) {
  EXPECT_TRUE(MustParse("0.0.0.0/0").Contains("8.8.8.8"));
  EXPECT_FALSE(MustParse("0.0.0.0/0").Contains("::1"));
  EXPECT_TRUE(MustParse("::/0").Contains("::1"));
  EXPECT_TRUE(MustParse("::/0").Contains("8.8.8.8"));
}

TEST(CidrTest, MalformedPeerAddressesAreOutside) {
  Cidr any = MustParse("::/0");
  for (std::string_view peer :
       {"", "bogus", "10.0.0.1:443", "[::1]", "::1%eth0", "10.0.0",
        "10.0.0.256", " 10.0.0.1", "ipv4:10.0.0.1"}) {
    EXPECT_FALSE(any.Contains(peer)) << peer;
  }
}

TEST(CidrTest, RejectsMalformedNetworks) {
  for (std::string_view bad : {"",
                               "/8",
                               "10.0.0.0/",
                               "10.0.0.0/33",
                               "10.0.0.0/-1",
                               "10.0.0.0/+8",
                               "10.0.0.0/08",
                               "10.0.0.0/8/8",
                               "10.0.0/8",
                               "300.0.0.0/8",
                               "10.0.0.0 /8",
                               "::/129",
                               "::1/1000",
                               "fe80::1%eth0/64",
                               "10.0.0.0/8x",
                               "example.com/8",
                               "2001:db8::/3 2",
                               "::ffff:10.0.0.0/-04",
                               "::/-0",
                               "10.0.0.0/-8"}) {
    EXPECT_THAT(Cidr::Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("not a CIDR (bad")))
        << bad;
  }
}

TEST(CidrTest, RejectsHostBitsBeyondThePrefix) {
  EXPECT_THAT(
      Cidr::Parse("10.0.0.1/8"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host bits")));
  EXPECT_THAT(
      Cidr::Parse("2001:db8::1/32"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host bits")));
  EXPECT_THAT(
      Cidr::Parse("10.0.0.64/25"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host bits")));
  EXPECT_THAT(
      Cidr::Parse("10.0.0.128/24"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host bits")));
}

TEST(CidrTest, ErrorsEscapeTheInput) {
  absl::Status s = Cidr::Parse("10.0.0.0/8\n\x01").status();
  EXPECT_EQ(std::string(s.message()).find('\n'), std::string::npos);
}

TEST(CidrTest, ToStringRoundTrips) {
  for (std::string_view text :
       {"10.0.0.0/8", "0.0.0.0/0", "192.168.4.0/22", "::/0", "2001:db8::/32",
        "::1/128", "fe80::/10"}) {
    Cidr c = MustParse(text);
    EXPECT_EQ(c.ToString(), text);
    EXPECT_EQ(MustParse(c.ToString()), c);
  }
}

}  // namespace
}  // namespace mv
