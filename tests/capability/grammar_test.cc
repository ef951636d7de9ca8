// Capability::parse: every form of SPEC §3, and clear errors for everything else.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reglet/capability.h"

namespace reglet {
namespace {

using namespace std::string_literals;

class ValidCapability : public ::testing::TestWithParam<std::string> {};

TEST_P(ValidCapability, ParsesAndRoundTrips) {
  auto parsed = Capability::parse(GetParam());
  ASSERT_TRUE(parsed.ok()) << GetParam() << ": " << parsed.error().message;
  EXPECT_EQ(parsed->to_string(), GetParam());
  // What a GrantSet accepts is exactly what parse accepts.
  GrantSet grants;
  EXPECT_TRUE(grants.add(*parsed).ok()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, ValidCapability,
    ::testing::Values(
        // fs
        "fs:read:/etc/**", "fs:write:/tmp/out.txt", "fs:read:/", "fs:read:/**",
        "fs:read:/etc/*.conf", "fs:read:/home/*/.ssh/id_[rd]sa", "fs:read:/var/log/??.log",
        "fs:write:/tmp/a\\*b", "fs:read:/usr/../etc/passwd", "fs:read:/etc/",
        "fs:read:/dev/tty[!0-9]",
        // network, port only
        "network:outbound:443", "network:outbound:80,443", "network:outbound:8000-9000",
        "network:outbound:*", "network:outbound:22,80,8000-9000,*", "network:outbound:1-65535",
        "network:outbound:65535",
        // network, host
        "network:outbound:*.example.com:443", "network:outbound:example.com:80,443",
        "network:outbound:EXAMPLE.com.:443", "network:outbound:*:443",
        "network:outbound:api-?.x_y.io:1", "network:outbound:10.0.0.0/8:*",
        "network:outbound:127.0.0.1:22", "network:outbound:0.0.0.0/0:443",
        "network:outbound:169.254.169.254/32:80", "network:outbound:::1:22",
        "network:outbound:fd00::/8:*", "network:outbound:::/0:443", "network:outbound:[::1]:22",
        "network:outbound:[fd00::]/8:443", "network:outbound:[fd00::/8]:443",
        "network:outbound:2001:db8::1:443", "network:outbound:::ffff:10.0.0.0/104:*",
        "network:outbound:::ffff:127.0.0.1:22",
        // env
        "env:HOME", "env:AWS_*", "env:*", "env:A?C", "env:lower_case",
        // exec
        "exec:/usr/bin/systemctl", "exec:/usr/bin/*", "exec:/bin/sh", "exec:uname", "exec:sh",
        "exec:system*", "exec:/opt/**/tool", "exec:/usr/bin/[a-c]at"));

struct Malformed {
  std::string text;
  std::string expected_fragment;
};

class MalformedCapability : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedCapability, IsRejectedWithAClearMessage) {
  const Malformed& param = GetParam();
  auto parsed = Capability::parse(param.text);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << param.text;
  EXPECT_EQ(parsed.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(parsed.error().message.find(param.expected_fragment), std::string::npos)
      << "message: " << parsed.error().message
      << "\nexpected to contain: " << param.expected_fragment;
  // Every message names the capability it is about (unless there was none), so an operator can
  // find it among many grants.
  if (!param.text.empty() && param.text.find('\0') == std::string::npos) {
    EXPECT_NE(parsed.error().message.find("'" + param.text + "'"), std::string::npos)
        << parsed.error().message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, MalformedCapability,
    ::testing::Values(
        Malformed{"", "empty capability"}, Malformed{"fs", "expected kind:pattern"},
        Malformed{"foo:bar", "unknown kind 'foo' (expected fs, network, env or exec)"},
        Malformed{"FS:read:/etc", "unknown kind 'FS'"}, Malformed{":read:/etc", "unknown kind ''"},
        Malformed{"fs:", "the pattern after 'fs:' is empty"},
        Malformed{"env:", "the pattern after 'env:' is empty"},
        Malformed{"exec:", "the pattern after 'exec:' is empty"},
        Malformed{"network:", "the pattern after 'network:' is empty"},
        // fs
        Malformed{"fs:/etc/**", "expected fs:read:<path-glob> or fs:write:<path-glob>"},
        Malformed{"fs:exec:/etc", "expected fs:read:<path-glob> or fs:write:<path-glob>"},
        Malformed{"fs:READ:/etc", "expected fs:read:<path-glob> or fs:write:<path-glob>"},
        Malformed{"fs:read:", "the path after 'read:' is empty"},
        Malformed{"fs:write:", "the path after 'write:' is empty"},
        Malformed{"fs:read:etc/**", "the path must be absolute"},
        Malformed{"fs:read:./etc", "the path must be absolute"},
        Malformed{"fs:read:~/x", "the path must be absolute"},
        Malformed{"fs:read:/etc/[abc", "unterminated character class"},
        Malformed{"fs:read:/a/[z-a]", "range 'z-a' is reversed"},
        Malformed{"fs:read:/a\\", "unfinished escape"},
        Malformed{"fs:read:/etc/*/../shadow", "'..' cannot follow a wildcard"},
        // network
        Malformed{"network:outbound:70000", "port '70000' is out of range (1-65535)"},
        Malformed{"network:outbound:0", "port '0' is out of range (1-65535)"},
        Malformed{"network:outbound:99999999999999999999", "is out of range"},
        Malformed{"network:outbound:90-80", "port range '90-80' is reversed"},
        Malformed{"network:outbound:80-", "is not a port number"},
        Malformed{"network:outbound:-80", "is not a port number"},
        Malformed{"network:outbound:80,,443", "has an empty entry"},
        Malformed{"network:outbound:80,", "has an empty entry"},
        Malformed{"network:outbound:8o", "is not a port number"},
        Malformed{"network:outbound: 80", "is not a port number"},
        Malformed{"network:outbound:10.0.0.0/33:*",
                  "prefix length /33 in CIDR '10.0.0.0/33' is "
                  "too long (at most /32)"},
        Malformed{"network:outbound:fd00::/129:*", "too long (at most /128)"},
        Malformed{"network:outbound:10.0.0.0/:*", "is not a number"},
        Malformed{"network:outbound:10.0.0.0/x:*", "is not a number"},
        Malformed{"network:outbound:10.0.0.1/8:*", "has bits set after the prefix"},
        Malformed{"network:outbound:10.0.0/8:*", "is not an IP address"},
        Malformed{"network:outbound:::ffff:10.0.0.0/8:*", "needs a prefix of at least /96"},
        Malformed{"network:inbound:80", "network direction 'inbound' is not supported"},
        Malformed{"network:443", "the direction is missing"},
        Malformed{"network:*", "the direction is missing"},
        Malformed{"network:outbound", "the ports are missing"},
        Malformed{"network:outbound:", "the ports are missing"},
        Malformed{"network:outbound:example.com", "a host needs ':<ports>' after it"},
        Malformed{"network:outbound:example.com:", "the port list is empty"},
        Malformed{"network:outbound::80", "the host before ':<ports>' is empty"},
        Malformed{"network:outbound:10.0.0.300:80", "'10.0.0.300' is not a valid IPv4 address"},
        Malformed{"network:outbound:127.1:80", "'127.1' is not a valid IPv4 address"},
        Malformed{"network:outbound:fd00::zz:80", "'fd00::zz' is not a valid IPv6 address"},
        Malformed{"network:outbound:exa mple.com:80", "may contain only letters, digits"},
        Malformed{"network:outbound:user@example.com:80", "may contain only letters, digits"},
        Malformed{"network:outbound:a..b:80", "has an empty label"},
        Malformed{"network:outbound:.example.com:80", "has an empty label"},
        Malformed{"network:outbound:[::1:22", "never closed"},
        Malformed{"network:outbound:[::1]", "the ports are missing after the host"},
        Malformed{"network:outbound:[1.2.3.4]:80", "is not a valid IPv6 address"},
        // env
        Malformed{"env:A=B", "a variable name cannot contain '='"},
        Malformed{"env:=", "a variable name cannot contain '='"},
        // exec
        Malformed{"exec:bin/sh", "not the relative path 'bin/sh'"},
        Malformed{"exec:./sh", "not the relative path './sh'"},
        Malformed{"exec:/usr/bin/", "names a directory"}, Malformed{"exec:/", "names a directory"},
        Malformed{"exec:/usr/bin/..", "names a directory"},
        Malformed{"exec:..", "'..' is not a program name"},
        Malformed{"exec:/usr/bin/[x", "unterminated character class"}));

TEST(CapabilityParse, NulBytesAreRejectedAndShownEscaped) {
  for (const std::string& text : {"fs:read:/etc/passwd\0/x"s, "env:HO\0ME"s, "exec:/bin/sh\0"s,
                                  "network:outbound:\0"s, "f\0s:read:/x"s}) {
    auto parsed = Capability::parse(text);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(parsed.error().message.find("NUL byte"), std::string::npos);
    EXPECT_NE(parsed.error().message.find("\\x00"), std::string::npos) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\0'), std::string::npos);
  }
}

TEST(CapabilityParse, SplitsKindAndPatternAtTheFirstColon) {
  auto parsed = Capability::parse("network:outbound:::1:22");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->kind, "network");
  EXPECT_EQ(parsed->pattern, "outbound:::1:22");
  auto fs = Capability::parse("fs:read:/etc/**");
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ(*fs, (Capability{"fs", "read:/etc/**"}));
}

TEST(CapabilityParse, VeryLongInputIsShortenedInMessages) {
  const std::string text = "bogus:" + std::string(100000, 'x');
  auto parsed = Capability::parse(text);
  ASSERT_FALSE(parsed.ok());
  EXPECT_LT(parsed.error().message.size(), 600u);
  EXPECT_NE(parsed.error().message.find("100006 bytes"), std::string::npos);
}

TEST(CapabilityParse, CapabilitiesOrderAndCompare) {
  const Capability a{"env", "A"};
  const Capability b{"env", "B"};
  EXPECT_LT(a, b);
  EXPECT_EQ(a, (Capability{"env", "A"}));
  EXPECT_NE(a, b);
}

TEST(GrantSetAdd, RejectsHandBuiltCapabilitiesThatDoNotParse) {
  GrantSet grants;
  const Status unknown = grants.add(Capability{"shell", "anything"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(unknown.error().message.find("unknown kind 'shell'"), std::string::npos);
  EXPECT_FALSE(grants.add(Capability{"fs", "read:relative"}).ok());
  EXPECT_FALSE(grants.add(Capability{"env", ""}).ok());
  EXPECT_FALSE(grants.add(Capability{"env", "A\0B"s}).ok());
  EXPECT_TRUE(grants.empty());
}

}  // namespace
}  // namespace reglet
