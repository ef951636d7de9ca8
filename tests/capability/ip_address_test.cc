// IpAddress: strict parsing, canonical text, and which addresses count as special.
#include <gtest/gtest.h>

#include <string>

#include "reglet/capability.h"

namespace reglet {
namespace {

IpAddress must_parse(const std::string& text) {
  auto address = IpAddress::parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

struct RoundTrip {
  std::string input;
  std::string canonical;
  IpAddress::Family family;
};

class IpAddressRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(IpAddressRoundTrip, ParsesToCanonicalText) {
  const RoundTrip& param = GetParam();
  const IpAddress address = must_parse(param.input);
  EXPECT_EQ(address.family, param.family) << param.input;
  EXPECT_EQ(address.to_string(), param.canonical);
  // The canonical text parses back to the same address.
  EXPECT_EQ(must_parse(address.to_string()), address);
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, IpAddressRoundTrip,
    ::testing::Values(
        RoundTrip{"1.2.3.4", "1.2.3.4", IpAddress::Family::v4},
        RoundTrip{"0.0.0.0", "0.0.0.0", IpAddress::Family::v4},
        RoundTrip{"255.255.255.255", "255.255.255.255", IpAddress::Family::v4},
        RoundTrip{"10.0.0.1", "10.0.0.1", IpAddress::Family::v4},
        RoundTrip{"::", "::", IpAddress::Family::v6},
        RoundTrip{"::1", "::1", IpAddress::Family::v6},
        RoundTrip{"[::1]", "::1", IpAddress::Family::v6},
        RoundTrip{"2001:DB8:0:0:0:0:0:1", "2001:db8::1", IpAddress::Family::v6},
        RoundTrip{"2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329",
                  IpAddress::Family::v6},
        // A single zero group is not compressed; the longest run is, the first on a tie.
        RoundTrip{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", IpAddress::Family::v6},
        RoundTrip{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1", IpAddress::Family::v6},
        RoundTrip{"1:0:0:2:0:0:3:4", "1::2:0:0:3:4", IpAddress::Family::v6},
        RoundTrip{"1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0", IpAddress::Family::v6},
        RoundTrip{"0:0:0:0:0:0:0:1", "::1", IpAddress::Family::v6},
        RoundTrip{"fe80::1", "fe80::1", IpAddress::Family::v6},
        RoundTrip{"ff02::", "ff02::", IpAddress::Family::v6},
        RoundTrip{"64:ff9b::7f00:1", "64:ff9b::7f00:1", IpAddress::Family::v6},
        RoundTrip{"64:ff9b::127.0.0.1", "64:ff9b::7f00:1", IpAddress::Family::v6},
        // IPv4-mapped addresses become IPv4, in either spelling.
        RoundTrip{"::ffff:127.0.0.1", "127.0.0.1", IpAddress::Family::v4},
        RoundTrip{"::FFFF:7f00:1", "127.0.0.1", IpAddress::Family::v4},
        RoundTrip{"[::ffff:10.1.2.3]", "10.1.2.3", IpAddress::Family::v4},
        RoundTrip{"0:0:0:0:0:ffff:808:808", "8.8.8.8", IpAddress::Family::v4}));

class IpAddressRejected : public ::testing::TestWithParam<std::string> {};

TEST_P(IpAddressRejected, DoesNotParse) {
  EXPECT_FALSE(IpAddress::parse(GetParam()).has_value()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, IpAddressRejected,
    ::testing::Values("", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04",
                      "127.1", "0x7f.0.0.1", "0177.0.0.1", " 1.2.3.4", "1.2.3.4 ", "1.2.3.",
                      ".1.2.3", "-1.2.3.4", "1..2.3", "1.2.3.4/8", "[1.2.3.4]", "1234.1.1.1",
                      "example.com", ":::", "1::2::3", "fe80::1%eth0", "::g", "[::1", "::1]", "[]",
                      "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1", "1:", "::1.2.3",
                      "::ffff:1.2.3.256", std::string("1.2.3.4\0", 8), std::string(100, ':')));

TEST(IpAddress, FamiliesAndEquality) {
  EXPECT_TRUE(must_parse("1.2.3.4").is_v4());
  EXPECT_FALSE(must_parse("::1").is_v4());
  EXPECT_EQ(must_parse("::ffff:1.2.3.4"), must_parse("1.2.3.4"));
  EXPECT_NE(must_parse("::1.2.3.4"), must_parse("1.2.3.4"));  // IPv4-compatible stays IPv6
  EXPECT_NE(must_parse("1.2.3.4"), must_parse("1.2.3.5"));
}

class SpecialAddress : public ::testing::TestWithParam<std::string> {};

TEST_P(SpecialAddress, IsSpecial) {
  EXPECT_TRUE(must_parse(GetParam()).is_special()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Addresses, SpecialAddress,
                         ::testing::Values(
                             // IPv4
                             "0.0.0.0", "0.1.2.3", "0.255.255.255", "10.0.0.0", "10.0.0.1",
                             "10.255.255.255", "100.64.0.0", "100.64.0.1", "100.127.255.255",
                             "127.0.0.1", "127.255.255.254", "169.254.0.1", "169.254.169.254",
                             "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.255",
                             "192.168.0.1", "192.168.255.255", "198.18.0.1", "198.19.255.255",
                             "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
                             "::ffff:127.0.0.1", "::ffff:169.254.169.254",
                             // IPv6
                             "::", "::1", "::127.0.0.1", "::8.8.8.8", "fc00::1", "fd12:3456::1",
                             "fe80::1", "febf::1", "fec0::1", "feff::1", "ff02::1", "ff0e::1",
                             "100::1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe",
                             "64:ff9b:1::808:808", "2002:7f00:1::1",
                             "2002:a00:1::", "2002:a9fe:a9fe::1"));

class PublicAddress : public ::testing::TestWithParam<std::string> {};

TEST_P(PublicAddress, IsNotSpecial) {
  EXPECT_FALSE(must_parse(GetParam()).is_special()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Addresses, PublicAddress,
                         ::testing::Values("1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0",
                                           "93.184.216.34", "100.63.255.255", "100.128.0.0",
                                           "126.255.255.255", "128.0.0.0", "169.253.255.255",
                                           "169.255.0.0", "172.15.255.255", "172.32.0.0",
                                           "192.0.1.1", "192.167.255.255", "192.169.0.0",
                                           "198.17.255.255", "198.20.0.0", "223.255.255.255",
                                           "::ffff:8.8.8.8", "2001:4860:4860::8888",
                                           "2606:4700::1111", "2a00:1450::1", "64:ff9b::808:808",
                                           "2002:808:808::1", "fb00::1", "fe00::1"));

TEST(IpAddress, HandBuiltMappedAddressesAreClassifiedByTheirIpv4Part) {
  // parse() never produces these, but a caller may build one from a sockaddr_in6.
  IpAddress loopback;
  loopback.family = IpAddress::Family::v6;
  loopback.bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  EXPECT_TRUE(loopback.is_special());
  EXPECT_EQ(loopback.to_string(), "::ffff:127.0.0.1");

  IpAddress google = loopback;
  google.bytes[12] = 8;
  google.bytes[13] = 8;
  google.bytes[14] = 8;
  google.bytes[15] = 8;
  EXPECT_FALSE(google.is_special());
  EXPECT_EQ(google.to_string(), "::ffff:8.8.8.8");
}

}  // namespace
}  // namespace reglet
