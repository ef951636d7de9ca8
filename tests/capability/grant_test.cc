// GrantSet and CapabilityManager: the checks of SPEC §3 end to end, including its security cases.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "reglet/capability.h"
#include "test_support.h"

namespace reglet {
namespace {

using namespace std::string_literals;
using testing::real_path;
using testing::ScopedEnv;
using testing::TempDir;

GrantSet grants_of(std::initializer_list<std::string> capabilities) {
  GrantSet grants;
  for (const std::string& text : capabilities) {
    auto capability = Capability::parse(text);
    EXPECT_TRUE(capability.ok()) << text << ": " << capability.error().message;
    if (!capability.ok()) continue;
    const Status status = grants.add(*capability);
    EXPECT_TRUE(status.ok()) << text << ": " << status.error().message;
  }
  return grants;
}

IpAddress ip(const std::string& text) {
  auto address = IpAddress::parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

// ---------------------------------------------------------------------------------------------
// fs

class FsGrants : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.mkdir("granted/sub");
    dir_.write("granted/file");
    dir_.write("granted/sub/deep");
    dir_.mkdir("secret");
    dir_.write("secret/key");
    dir_.mkdir("out");
  }
  Decision read(const GrantSet& grants, const std::string& path, std::string_view base = "/") {
    return CapabilityManager::check_fs(grants, FsAccess::read, path, base);
  }
  Decision write(const GrantSet& grants, const std::string& path) {
    return CapabilityManager::check_fs(grants, FsAccess::write, path);
  }
  TempDir dir_;
};

TEST_F(FsGrants, GrantedTreeIsReadable) {
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "granted/**"});
  EXPECT_TRUE(read(grants, dir_ / "granted/file").allowed);
  EXPECT_TRUE(read(grants, dir_ / "granted/sub/deep").allowed);
  EXPECT_TRUE(read(grants, dir_ / "granted").allowed);
  EXPECT_TRUE(read(grants, dir_ / "granted/not-yet-there").allowed);
  EXPECT_TRUE(read(grants, "sub/deep", dir_ / "granted").allowed);  // relative to a base
  EXPECT_FALSE(read(grants, dir_ / "grantedx").allowed);
  EXPECT_FALSE(read(grants, dir_ / "secret/key").allowed);
  EXPECT_FALSE(read(grants, dir_.path()).allowed);
}

TEST_F(FsGrants, DecisionCarriesTheCanonicalCapability) {
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "granted/**"});
  const Decision allowed = read(grants, dir_ / "granted/./sub/../file");
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.capability, "fs:read:" + dir_ / "granted/file");
  EXPECT_EQ(allowed.resolved, dir_ / "granted/file");
  EXPECT_TRUE(allowed.reason.empty());

  const Decision denied = write(grants, dir_ / "granted/file");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.capability, "fs:write:" + dir_ / "granted/file");
  const Error error = denied.error();
  EXPECT_EQ(error.code, ErrorCode::capability_denied);
  EXPECT_EQ(error.message,
            "capability denied: fs:write:" + dir_ / "granted/file" + " is not granted");
}

TEST_F(FsGrants, SpecExampleMessage) {
  const std::string shadow =
      real_path("/etc").empty() ? "/etc/shadow" : real_path("/etc") + "/shadow";
  const Decision decision = read(GrantSet{}, "/etc/shadow");
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.error().message, "capability denied: fs:read:" + shadow + " is not granted");
  EXPECT_EQ(decision.error().to_string(),
            "capability_denied: capability denied: fs:read:" + shadow + " is not granted");
}

TEST_F(FsGrants, DotDotCannotEscapeTheGrantedTree) {
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "granted/**"});
  const Decision decision = read(grants, dir_ / "granted/../secret/key");
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.capability, "fs:read:" + dir_ / "secret/key");
  EXPECT_FALSE(read(grants, dir_ / "granted/sub/../../secret/key").allowed);
  EXPECT_FALSE(read(grants, "../secret/key", dir_ / "granted").allowed);
  EXPECT_FALSE(read(grants, dir_ / "granted/missing/../../secret/key").allowed);
}

TEST_F(FsGrants, SymlinkInsideTheTreePointingOutsideIsDenied) {
  dir_.symlink(dir_ / "secret/key", "granted/key_link");
  dir_.symlink("../secret", "granted/secret_dir");
  dir_.symlink("/", "granted/root");
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "granted/**"});

  const Decision file = read(grants, dir_ / "granted/key_link");
  EXPECT_FALSE(file.allowed);
  EXPECT_EQ(file.capability, "fs:read:" + dir_ / "secret/key");
  EXPECT_FALSE(read(grants, dir_ / "granted/secret_dir/key").allowed);
  EXPECT_FALSE(read(grants, dir_ / "granted/root/etc/passwd").allowed);
  // Writing a new file through the link is judged by where it would land.
  const GrantSet writes = grants_of({"fs:write:" + dir_ / "granted/**"});
  EXPECT_FALSE(write(writes, dir_ / "granted/secret_dir/new-file").allowed);
  EXPECT_TRUE(write(writes, dir_ / "granted/new-file").allowed);
}

TEST_F(FsGrants, LiteralGrantOfASymlinkCoversTheLinkAndItsTarget) {
  // /etc/os-release -> ../usr/lib/os-release: a grant of the link's path lets a plugin lstat the
  // link itself and read what it points to, and nothing beside them.
  dir_.symlink("secret/key", "alias");
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "alias"});
  EXPECT_TRUE(grants.allows_fs(FsAccess::read, dir_ / "alias"));       // the link itself
  EXPECT_TRUE(grants.allows_fs(FsAccess::read, dir_ / "secret/key"));  // its target
  EXPECT_TRUE(read(grants, dir_ / "alias").allowed);                   // resolved request
  EXPECT_FALSE(read(grants, dir_ / "secret").allowed);
  EXPECT_FALSE(grants.allows_fs(FsAccess::read, dir_ / "alias/x"));
  EXPECT_FALSE(grants.allows_fs(FsAccess::write, dir_ / "alias"));
}

TEST_F(FsGrants, SymlinkInsideTheTreePointingInsideIsAllowed) {
  dir_.symlink("sub/deep", "granted/inner_link");
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "granted/**"});
  const Decision decision = read(grants, dir_ / "granted/inner_link");
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.resolved, dir_ / "granted/sub/deep");
}

TEST_F(FsGrants, GrantThroughASymlinkedDirectoryStillWorks) {
  dir_.symlink(dir_ / "granted", "alias");
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "alias/**"});
  EXPECT_TRUE(read(grants, dir_ / "granted/file").allowed);
  EXPECT_TRUE(read(grants, dir_ / "alias/file").allowed);
  EXPECT_TRUE(read(grants, dir_ / "alias/sub/deep").allowed);
  EXPECT_FALSE(read(grants, dir_ / "alias/../secret/key").allowed);
  // The grant as written is what is reported back.
  EXPECT_EQ(grants.capabilities().front().to_string(), "fs:read:" + dir_ / "alias/**");

  // Literal grants are resolved whole.
  const GrantSet literal = grants_of({"fs:read:" + dir_ / "alias/file"});
  EXPECT_TRUE(read(literal, dir_ / "granted/file").allowed);
  EXPECT_FALSE(read(literal, dir_ / "granted/sub/deep").allowed);

  // Wildcards in the middle: only the prefix before them is resolved.
  const GrantSet middle = grants_of({"fs:read:" + dir_ / "alias/*/deep"});
  EXPECT_TRUE(read(middle, dir_ / "granted/sub/deep").allowed);
  EXPECT_FALSE(read(middle, dir_ / "granted/file").allowed);
}

TEST_F(FsGrants, SystemLibIsReachableThroughItsSymlink) {
  if (real_path("/lib") == "/lib" || real_path("/lib").empty()) {
    GTEST_SKIP() << "/lib is not a symlink here";
  }
  const GrantSet grants = grants_of({"fs:read:/lib/**"});
  EXPECT_TRUE(grants.allows_fs(FsAccess::read, real_path("/lib") + "/x/libc.so"));
  EXPECT_TRUE(read(grants, "/lib/whatever").allowed);
  EXPECT_FALSE(read(grants, "/etc/passwd").allowed);
}

TEST_F(FsGrants, WriteDoesNotImplyReadNorTheOtherWayRound) {
  const GrantSet writes = grants_of({"fs:write:" + dir_ / "out/**"});
  EXPECT_TRUE(write(writes, dir_ / "out/report.json").allowed);
  EXPECT_FALSE(read(writes, dir_ / "out/report.json").allowed);
  const GrantSet reads = grants_of({"fs:read:" + dir_ / "out/**"});
  EXPECT_TRUE(read(reads, dir_ / "out/report.json").allowed);
  EXPECT_FALSE(write(reads, dir_ / "out/report.json").allowed);
  const GrantSet both = grants_of({"fs:read:" + dir_ / "out/**", "fs:write:" + dir_ / "out/**"});
  EXPECT_TRUE(read(both, dir_ / "out/x").allowed);
  EXPECT_TRUE(write(both, dir_ / "out/x").allowed);
}

TEST_F(FsGrants, RootGrants) {
  const GrantSet root_only = grants_of({"fs:read:/"});
  EXPECT_TRUE(read(root_only, "/").allowed);
  EXPECT_FALSE(read(root_only, dir_ / "granted/file").allowed);
  const GrantSet everything = grants_of({"fs:read:/**"});
  EXPECT_TRUE(read(everything, dir_ / "secret/key").allowed);
  EXPECT_TRUE(read(everything, "/").allowed);
}

TEST_F(FsGrants, GlobCharactersInRealDirectoryNamesAreLiteral) {
  dir_.mkdir("we[ir]d");
  dir_.write("we[ir]d/f");
  dir_.mkdir("weid");
  dir_.write("weid/f");
  dir_.symlink(dir_ / "we[ir]d", "plain");
  // The grant names the directory through a symlink; its resolution contains '[' and ']', which
  // must not turn into a class.
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "plain/*"});
  EXPECT_TRUE(read(grants, dir_ / "we[ir]d/f").allowed);
  EXPECT_FALSE(read(grants, dir_ / "weid/f").allowed);

  dir_.mkdir("a*b");
  dir_.write("a*b/f");
  dir_.mkdir("axb");
  dir_.write("axb/f");
  const GrantSet escaped = grants_of({"fs:read:" + dir_ / "a\\*b/**"});
  EXPECT_TRUE(read(escaped, dir_ / "a*b/f").allowed);
  EXPECT_FALSE(read(escaped, dir_ / "axb/f").allowed);
}

TEST_F(FsGrants, UnresolvableRequestsAreDeniedWithAReason) {
  dir_.symlink("loop", "loop");
  const GrantSet grants = grants_of({"fs:read:/**"});
  const Decision loop = read(grants, dir_ / "loop/x");
  EXPECT_FALSE(loop.allowed);
  EXPECT_NE(loop.reason.find("too many levels of symbolic links"), std::string::npos);
  EXPECT_EQ(loop.error().code, ErrorCode::capability_denied);
  EXPECT_NE(loop.error().message.find("fs:read:" + dir_ / "loop/x"), std::string::npos);
  EXPECT_NE(loop.error().message.find("too many levels"), std::string::npos);

  const Decision nul = read(grants, "/etc/\0shadow"s);
  EXPECT_FALSE(nul.allowed);
  EXPECT_NE(nul.reason.find("NUL byte"), std::string::npos);
  EXPECT_EQ(nul.error().message.find('\0'), std::string::npos);

  EXPECT_FALSE(read(grants, "").allowed);
}

TEST_F(FsGrants, GrantWithASymlinkLoopInItsPrefixIsRejected) {
  dir_.symlink("loop", "loop");
  GrantSet grants;
  const Status status = grants.add(Capability{"fs", "read:" + dir_ / "loop/**"});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(status.error().message.find("too many levels of symbolic links"), std::string::npos);
  EXPECT_TRUE(grants.empty());
}

TEST_F(FsGrants, AllowsFsDoesNoResolutionItself) {
  // The matching half takes canonical input; an uncanonical one fails closed.
  const GrantSet grants = grants_of({"fs:read:" + dir_ / "granted/**"});
  EXPECT_TRUE(grants.allows_fs(FsAccess::read, dir_ / "granted/x"));
  EXPECT_FALSE(grants.allows_fs(FsAccess::read, dir_ / "granted/../secret/key"));
  EXPECT_FALSE(grants.allows_fs(FsAccess::read, "granted/x"));
}

// ---------------------------------------------------------------------------------------------
// env

TEST(EnvGrants, ExactNamesAndGlobs) {
  const GrantSet grants = grants_of({"env:HOME", "env:AWS_*", "env:A?C"});
  EXPECT_TRUE(grants.allows_env("HOME"));
  EXPECT_FALSE(grants.allows_env("home"));
  EXPECT_FALSE(grants.allows_env("HOME2"));
  EXPECT_FALSE(grants.allows_env("HOM"));
  EXPECT_TRUE(grants.allows_env("AWS_REGION"));
  EXPECT_TRUE(grants.allows_env("AWS_"));
  EXPECT_FALSE(grants.allows_env("AWS"));
  EXPECT_FALSE(grants.allows_env("XAWS_REGION"));
  EXPECT_FALSE(grants.allows_env("aws_region"));
  EXPECT_TRUE(grants.allows_env("ABC"));
  EXPECT_FALSE(grants.allows_env("AC"));
  EXPECT_FALSE(grants.allows_env("PATH"));
}

TEST(EnvGrants, StarAllowsEveryValidName) {
  const GrantSet grants = grants_of({"env:*"});
  EXPECT_TRUE(grants.allows_env("PATH"));
  EXPECT_TRUE(grants.allows_env("X"));
  EXPECT_FALSE(grants.allows_env(""));
  EXPECT_FALSE(grants.allows_env("A=B"));
  EXPECT_FALSE(grants.allows_env("A\0B"s));
}

TEST(EnvGrants, CheckEnvNamesTheVariable) {
  const GrantSet grants = grants_of({"env:HOME"});
  const Decision allowed = CapabilityManager::check_env(grants, "HOME");
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.capability, "env:HOME");
  const Decision denied = CapabilityManager::check_env(grants, "AWS_SECRET_ACCESS_KEY");
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.error().message, "capability denied: env:AWS_SECRET_ACCESS_KEY is not granted");
  const Decision malformed = CapabilityManager::check_env(grants_of({"env:*"}), "A=B");
  EXPECT_FALSE(malformed.allowed);
  EXPECT_NE(malformed.reason.find("not a valid variable name"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// exec

TEST(ExecGrants, BareNameGrantAllowsThatNameInTheSearchPath) {
  const GrantSet grants = grants_of({"exec:sh"});
  const Decision bare = CapabilityManager::check_exec(grants, "sh");
  EXPECT_TRUE(bare.allowed) << bare.capability;
  EXPECT_EQ(bare.capability, "exec:" + bare.resolved);
  EXPECT_EQ(bare.resolved.substr(bare.resolved.rfind('/')), "/sh");
  EXPECT_TRUE(CapabilityManager::check_exec(grants, "/bin/sh").allowed);
  EXPECT_TRUE(CapabilityManager::check_exec(grants, "/usr/bin/sh").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(grants, "uname").allowed);
}

TEST(ExecGrants, AbsoluteGrantResolvesItsDirectory) {
  const GrantSet grants = grants_of({"exec:/bin/sh"});
  EXPECT_TRUE(CapabilityManager::check_exec(grants, "/bin/sh").allowed);
  EXPECT_TRUE(CapabilityManager::check_exec(grants, real_path("/bin") + "/sh").allowed);
  EXPECT_TRUE(CapabilityManager::check_exec(grants, "sh").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(grants, "/bin/ls").allowed);
}

TEST(ExecGrants, OneNameOfAMultiCallBinaryDoesNotGrantTheOthers) {
  // On Debian /bin/sh is a symlink to dash: the same binary under two names.
  const std::string sh_target = real_path("/bin/sh");
  if (sh_target.empty() || sh_target == real_path("/bin") + "/sh") {
    GTEST_SKIP() << "/bin/sh is not a symlink here";
  }
  const GrantSet sh_only = grants_of({"exec:/bin/sh"});
  EXPECT_FALSE(CapabilityManager::check_exec(sh_only, sh_target).allowed);
  const GrantSet target_only = grants_of({"exec:" + sh_target});
  EXPECT_FALSE(CapabilityManager::check_exec(target_only, "/bin/sh").allowed);
  EXPECT_TRUE(CapabilityManager::check_exec(target_only, sh_target).allowed);
}

TEST(ExecGrants, BusyboxStyleLinksInATempDirectory) {
  TempDir dir;
  dir.mkdir("bin");
  dir.write("bin/busybox", "#!/bin/sh\n", 0755);
  dir.symlink("busybox", "bin/ls");
  dir.symlink(dir / "bin/busybox", "bin/cat");
  dir.symlink(dir / "bin", "binlink");

  const GrantSet ls_only = grants_of({"exec:" + dir / "bin/ls"});
  const Decision ls = CapabilityManager::check_exec(ls_only, dir / "bin/ls");
  EXPECT_TRUE(ls.allowed);
  EXPECT_EQ(ls.capability, "exec:" + dir / "bin/ls");
  EXPECT_EQ(ls.resolved, dir / "bin/ls");
  EXPECT_TRUE(CapabilityManager::check_exec(ls_only, dir / "binlink/ls").allowed);
  const Decision cat = CapabilityManager::check_exec(ls_only, dir / "bin/cat");
  EXPECT_FALSE(cat.allowed);
  EXPECT_EQ(cat.error().message, "capability denied: exec:" + dir / "bin/cat" + " is not granted");
  EXPECT_FALSE(CapabilityManager::check_exec(ls_only, dir / "bin/busybox").allowed);

  const GrantSet busybox_only = grants_of({"exec:" + dir / "bin/busybox"});
  EXPECT_TRUE(CapabilityManager::check_exec(busybox_only, dir / "bin/busybox").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(busybox_only, dir / "bin/ls").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(busybox_only, dir / "binlink/cat").allowed);

  // A grant written through the directory symlink resolves its directory, never the name.
  const GrantSet through_link = grants_of({"exec:" + dir / "binlink/ls"});
  EXPECT_TRUE(CapabilityManager::check_exec(through_link, dir / "bin/ls").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(through_link, dir / "bin/busybox").allowed);

  const GrantSet all_in_dir = grants_of({"exec:" + dir / "binlink/*"});
  EXPECT_TRUE(CapabilityManager::check_exec(all_in_dir, dir / "bin/ls").allowed);
  EXPECT_TRUE(CapabilityManager::check_exec(all_in_dir, dir / "bin/cat").allowed);
  const GrantSet two_letters = grants_of({"exec:" + dir / "bin/??"});
  EXPECT_TRUE(CapabilityManager::check_exec(two_letters, dir / "bin/ls").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(two_letters, dir / "bin/cat").allowed);

  // A bare-name grant covers the search path only, not the same name elsewhere.
  const GrantSet bare_ls = grants_of({"exec:ls"});
  EXPECT_FALSE(CapabilityManager::check_exec(bare_ls, dir / "bin/ls").allowed);
  EXPECT_FALSE(bare_ls.allows_exec(dir / "bin/ls"));
}

TEST(ExecGrants, CallersPathIsIgnored) {
  TempDir dir;
  dir.mkdir("fakebin");
  dir.write("fakebin/uname", "#!/bin/sh\n", 0755);
  const ScopedEnv path("PATH", dir / "fakebin");

  const GrantSet fake_only = grants_of({"exec:" + dir / "fakebin/uname"});
  const Decision decision = CapabilityManager::check_exec(fake_only, "uname");
  EXPECT_FALSE(decision.allowed);
  EXPECT_NE(decision.resolved, dir / "fakebin/uname");
  EXPECT_TRUE(decision.reason.empty());

  const GrantSet bare = grants_of({"exec:uname"});
  const Decision system = CapabilityManager::check_exec(bare, "uname");
  EXPECT_TRUE(system.allowed);
  EXPECT_EQ(system.resolved.substr(system.resolved.rfind('/')), "/uname");
  EXPECT_FALSE(CapabilityManager::check_exec(bare, dir / "fakebin/uname").allowed);
}

TEST(ExecGrants, BareNameGlobs) {
  const GrantSet grants = grants_of({"exec:una*"});
  EXPECT_TRUE(CapabilityManager::check_exec(grants, "uname").allowed);
  EXPECT_FALSE(CapabilityManager::check_exec(grants, "sh").allowed);
}

TEST(ExecGrants, UnresolvableCommandsAreDeniedWithAReason) {
  const GrantSet grants = grants_of({"exec:/**", "exec:*"});
  const Decision missing = CapabilityManager::check_exec(grants, "no-such-program-3b9f");
  EXPECT_FALSE(missing.allowed);
  EXPECT_EQ(missing.capability, "exec:no-such-program-3b9f");
  EXPECT_NE(missing.reason.find("not found"), std::string::npos);
  EXPECT_EQ(missing.error().code, ErrorCode::capability_denied);
  EXPECT_NE(missing.error().message.find("exec:no-such-program-3b9f"), std::string::npos);
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos);

  const Decision relative = CapabilityManager::check_exec(grants, "bin/sh");
  EXPECT_FALSE(relative.allowed);
  EXPECT_NE(relative.reason.find("relative path"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// network

bool allows(const GrantSet& grants, const std::string& host, const std::string& address,
            uint16_t port) {
  return grants.allows_network(host, ip(address), port);
}

TEST(NetworkGrants, PortOnlyGrantReachesPublicAddressesOnly) {
  const GrantSet grants = grants_of({"network:outbound:443"});
  EXPECT_TRUE(allows(grants, "example.com", "93.184.216.34", 443));
  EXPECT_TRUE(allows(grants, "example.com", "2606:2800:220:1:248:1893:25c8:1946", 443));
  EXPECT_TRUE(allows(grants, "nat64.example", "64:ff9b::808:808", 443));
  EXPECT_FALSE(allows(grants, "example.com", "93.184.216.34", 80));
  for (const char* special :
       {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1",
        "100.64.0.1", "0.0.0.0", "255.255.255.255", "fe80::1", "fd00::1", "2002:7f00:1::1",
        "172.16.5.4", "192.168.1.1", "224.0.0.1", "::"}) {
    EXPECT_FALSE(allows(grants, "example.com", special, 443)) << special;
    EXPECT_FALSE(allows(grants, special, special, 443)) << special;
  }
}

TEST(NetworkGrants, AnyPortGrant) {
  const GrantSet grants = grants_of({"network:outbound:*"});
  EXPECT_TRUE(allows(grants, "example.com", "1.1.1.1", 1));
  EXPECT_TRUE(allows(grants, "example.com", "1.1.1.1", 65535));
  EXPECT_FALSE(allows(grants, "example.com", "1.1.1.1", 0));
  EXPECT_FALSE(allows(grants, "localhost", "127.0.0.1", 22));
}

TEST(NetworkGrants, CidrGrantsReachTheirRangeEvenWhenSpecial) {
  const GrantSet grants = grants_of({"network:outbound:10.0.0.0/8:*"});
  EXPECT_TRUE(allows(grants, "db.internal", "10.1.2.3", 5432));
  EXPECT_TRUE(allows(grants, "10.255.255.255", "10.255.255.255", 1));
  EXPECT_FALSE(allows(grants, "x", "11.0.0.1", 5432));
  EXPECT_FALSE(allows(grants, "x", "127.0.0.1", 5432));
  EXPECT_FALSE(allows(grants, "x", "9.255.255.255", 5432));
  // An IPv4 range says nothing about IPv6 addresses.
  EXPECT_FALSE(allows(grants, "x", "::a01:203", 5432));

  const GrantSet narrow = grants_of({"network:outbound:192.168.1.0/24:22,80"});
  EXPECT_TRUE(allows(narrow, "h", "192.168.1.77", 22));
  EXPECT_FALSE(allows(narrow, "h", "192.168.2.77", 22));
  EXPECT_FALSE(allows(narrow, "h", "192.168.1.77", 443));

  const GrantSet everything_v4 = grants_of({"network:outbound:0.0.0.0/0:443"});
  EXPECT_TRUE(allows(everything_v4, "h", "127.0.0.1", 443));
  EXPECT_TRUE(allows(everything_v4, "h", "8.8.8.8", 443));
  EXPECT_FALSE(allows(everything_v4, "h", "::1", 443));
}

TEST(NetworkGrants, IpGrantsMatchExactlyThatAddress) {
  const GrantSet grants = grants_of({"network:outbound:127.0.0.1:22"});
  EXPECT_TRUE(allows(grants, "localhost", "127.0.0.1", 22));
  EXPECT_TRUE(allows(grants, "127.0.0.1", "::ffff:127.0.0.1", 22));
  EXPECT_FALSE(allows(grants, "localhost", "127.0.0.1", 23));
  EXPECT_FALSE(allows(grants, "localhost", "127.0.0.2", 22));
  EXPECT_FALSE(allows(grants, "localhost", "::1", 22));

  const GrantSet metadata = grants_of({"network:outbound:169.254.169.254:80"});
  EXPECT_TRUE(allows(metadata, "169.254.169.254", "169.254.169.254", 80));

  const GrantSet public_ip = grants_of({"network:outbound:8.8.8.8:53"});
  EXPECT_TRUE(allows(public_ip, "dns.google", "8.8.8.8", 53));
  EXPECT_FALSE(allows(public_ip, "dns.google", "8.8.4.4", 53));
}

TEST(NetworkGrants, Ipv6Grants) {
  for (const char* text : {"network:outbound:::1:22", "network:outbound:[::1]:22"}) {
    const GrantSet grants = grants_of({text});
    EXPECT_TRUE(allows(grants, "localhost", "::1", 22)) << text;
    EXPECT_FALSE(allows(grants, "localhost", "::1", 23)) << text;
    EXPECT_FALSE(allows(grants, "localhost", "127.0.0.1", 22)) << text;
  }
  const GrantSet ula = grants_of({"network:outbound:fd00::/8:*"});
  EXPECT_TRUE(allows(ula, "h", "fd12:3456::1", 443));
  EXPECT_TRUE(allows(ula, "h", "fdff:ffff::1", 1));
  EXPECT_FALSE(allows(ula, "h", "fc00::1", 443));
  EXPECT_FALSE(allows(ula, "h", "2001:db8::1", 443));
  const GrantSet bracketed = grants_of({"network:outbound:[fd00::]/8:443"});
  EXPECT_TRUE(allows(bracketed, "h", "fd00::5", 443));
  const GrantSet doc = grants_of({"network:outbound:2001:db8::/32:443"});
  EXPECT_TRUE(allows(doc, "h", "2001:db8:1::1", 443));
  EXPECT_FALSE(allows(doc, "h", "2001:db9::1", 443));
  const GrantSet mapped = grants_of({"network:outbound:::ffff:10.0.0.0/104:*"});
  EXPECT_TRUE(allows(mapped, "h", "10.9.8.7", 1));
  EXPECT_FALSE(allows(mapped, "h", "11.9.8.7", 1));
}

TEST(NetworkGrants, HostGlobs) {
  const GrantSet grants = grants_of({"network:outbound:*.example.com:443"});
  EXPECT_TRUE(allows(grants, "api.example.com", "93.184.216.34", 443));
  EXPECT_TRUE(allows(grants, "a.b.example.com", "93.184.216.34", 443));
  EXPECT_TRUE(allows(grants, "API.Example.COM", "93.184.216.34", 443));
  EXPECT_TRUE(allows(grants, "api.example.com.", "93.184.216.34", 443));
  EXPECT_FALSE(allows(grants, "example.com", "93.184.216.34", 443));
  EXPECT_FALSE(allows(grants, "evil-example.com", "93.184.216.34", 443));
  EXPECT_FALSE(allows(grants, "api.example.com.evil.net", "93.184.216.34", 443));
  EXPECT_FALSE(allows(grants, "api.example.com", "93.184.216.34", 80));
  // A name that resolves into a special range does not reach it.
  EXPECT_FALSE(allows(grants, "api.example.com", "10.0.0.1", 443));
  EXPECT_FALSE(allows(grants, "api.example.com", "127.0.0.1", 443));
  EXPECT_FALSE(allows(grants, "api.example.com", "::1", 443));

  const GrantSet exact = grants_of({"network:outbound:Example.com.:80,443"});
  EXPECT_TRUE(allows(exact, "example.com", "93.184.216.34", 80));
  EXPECT_TRUE(allows(exact, "EXAMPLE.COM", "93.184.216.34", 443));
  EXPECT_FALSE(allows(exact, "example.com", "93.184.216.34", 8080));
  EXPECT_FALSE(allows(exact, "www.example.com", "93.184.216.34", 80));
}

TEST(NetworkGrants, StarHostMatchesAnyNameIncludingIpLiteralsButOnlyPublic) {
  const GrantSet grants = grants_of({"network:outbound:*:443"});
  EXPECT_TRUE(allows(grants, "anything.test", "1.2.3.4", 443));
  EXPECT_TRUE(allows(grants, "1.2.3.4", "1.2.3.4", 443));
  EXPECT_TRUE(allows(grants, "[2606:4700::1111]", "2606:4700::1111", 443));
  EXPECT_FALSE(allows(grants, "127.0.0.1", "127.0.0.1", 443));
  EXPECT_FALSE(allows(grants, "1.2.3.4", "1.2.3.4", 80));
}

TEST(NetworkGrants, PortListsAndRanges) {
  const GrantSet range = grants_of({"network:outbound:8000-9000"});
  EXPECT_TRUE(allows(range, "h", "1.1.1.1", 8000));
  EXPECT_TRUE(allows(range, "h", "1.1.1.1", 8500));
  EXPECT_TRUE(allows(range, "h", "1.1.1.1", 9000));
  EXPECT_FALSE(allows(range, "h", "1.1.1.1", 7999));
  EXPECT_FALSE(allows(range, "h", "1.1.1.1", 9001));

  const GrantSet list = grants_of({"network:outbound:22,80,8000-8100"});
  EXPECT_TRUE(allows(list, "h", "1.1.1.1", 22));
  EXPECT_TRUE(allows(list, "h", "1.1.1.1", 80));
  EXPECT_TRUE(allows(list, "h", "1.1.1.1", 8050));
  EXPECT_FALSE(allows(list, "h", "1.1.1.1", 81));
  EXPECT_FALSE(allows(list, "h", "1.1.1.1", 443));

  const GrantSet full = grants_of({"network:outbound:1-65535"});
  EXPECT_TRUE(allows(full, "h", "1.1.1.1", 65535));
  EXPECT_TRUE(allows(full, "h", "1.1.1.1", 1));
  EXPECT_FALSE(allows(full, "h", "1.1.1.1", 0));
}

TEST(NetworkGrants, CheckNetworkNamesAddressAndPort) {
  const GrantSet grants = grants_of({"network:outbound:10.0.0.0/8:22"});
  const Decision v4 = CapabilityManager::check_network(grants, "db", ip("10.0.0.1"), 22);
  EXPECT_TRUE(v4.allowed);
  EXPECT_EQ(v4.capability, "network:outbound:10.0.0.1:22");
  EXPECT_EQ(v4.resolved, "10.0.0.1");

  const Decision v6 = CapabilityManager::check_network(grants, "localhost", ip("::1"), 22);
  EXPECT_FALSE(v6.allowed);
  EXPECT_EQ(v6.capability, "network:outbound:[::1]:22");
  EXPECT_EQ(v6.resolved, "::1");
  EXPECT_EQ(v6.error().code, ErrorCode::capability_denied);
  EXPECT_EQ(v6.error().message, "capability denied: network:outbound:[::1]:22 is not granted");

  // The capability in a denial is itself a valid grant that would allow the request.
  auto suggested = Capability::parse(v6.capability);
  ASSERT_TRUE(suggested.ok()) << suggested.error().message;
  GrantSet fixed;
  ASSERT_TRUE(fixed.add(*suggested).ok());
  EXPECT_TRUE(CapabilityManager::check_network(fixed, "localhost", ip("::1"), 22).allowed);
}

TEST(NetworkGrants, EveryResolvedAddressIsCheckedOnItsOwn) {
  // A name resolving to a public and a private address: only the public one may be used.
  const GrantSet grants = grants_of({"network:outbound:*.example.com:443"});
  EXPECT_TRUE(allows(grants, "mixed.example.com", "93.184.216.34", 443));
  EXPECT_FALSE(allows(grants, "mixed.example.com", "192.168.0.10", 443));
}

// ---------------------------------------------------------------------------------------------
// GrantSet bookkeeping and CapabilityManager

TEST(GrantSetBookkeeping, KeepsCapabilitiesAsWrittenWithoutRepeats) {
  GrantSet grants;
  EXPECT_TRUE(grants.empty());
  ASSERT_TRUE(grants.add(Capability{"env", "HOME"}).ok());
  ASSERT_TRUE(grants.add(Capability{"env", "HOME"}).ok());
  ASSERT_TRUE(grants.add(Capability{"fs", "read:/usr/../etc/**"}).ok());
  ASSERT_EQ(grants.capabilities().size(), 2u);
  EXPECT_EQ(grants.capabilities()[1].to_string(), "fs:read:/usr/../etc/**");
  EXPECT_FALSE(grants.empty());
}

TEST(GrantSetBookkeeping, EmptySetDeniesEverything) {
  const GrantSet none;
  EXPECT_FALSE(none.allows_fs(FsAccess::read, "/"));
  EXPECT_FALSE(none.allows_env("HOME"));
  EXPECT_FALSE(none.allows_exec("/usr/bin/sh"));
  EXPECT_FALSE(none.allows_network("example.com", ip("1.1.1.1"), 443));
  EXPECT_FALSE(CapabilityManager::check_exec(none, "sh").allowed);
}

TEST(GrantSetBookkeeping, KindsDoNotLeakIntoEachOther) {
  const GrantSet grants = grants_of({"fs:read:/**", "network:outbound:*"});
  EXPECT_FALSE(grants.allows_exec("/usr/bin/sh"));
  EXPECT_FALSE(grants.allows_env("HOME"));
  EXPECT_FALSE(grants.allows_fs(FsAccess::write, "/tmp/x"));
}

TEST(CapabilityManagerTest, GrantsArePerPlugin) {
  CapabilityManager manager;
  ASSERT_TRUE(manager.grant("file", "fs:read:/etc/**").ok());
  ASSERT_TRUE(manager.grant("env", Capability{"env", "HOME"}).ok());

  const auto file = manager.grants("file");
  const auto env = manager.grants("env");
  const auto unknown = manager.grants("nobody");
  ASSERT_NE(unknown, nullptr);
  EXPECT_TRUE(unknown->empty());
  EXPECT_TRUE(file->allows_fs(FsAccess::read, real_path("/etc") + "/hostname"));
  EXPECT_FALSE(env->allows_fs(FsAccess::read, real_path("/etc") + "/hostname"));
  EXPECT_TRUE(env->allows_env("HOME"));
  EXPECT_FALSE(file->allows_env("HOME"));
}

TEST(CapabilityManagerTest, RejectsBadGrants) {
  CapabilityManager manager;
  const Status malformed = manager.grant("p", "network:outbound:70000");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(malformed.error().message.find("out of range"), std::string::npos);
  const Status no_plugin = manager.grant("", "env:HOME");
  ASSERT_FALSE(no_plugin.ok());
  EXPECT_NE(no_plugin.error().message.find("plugin name is empty"), std::string::npos);
  EXPECT_TRUE(manager.grants("p")->empty());
}

TEST(CapabilityManagerTest, SnapshotsDoNotChangeUnderTheReader) {
  CapabilityManager manager;
  ASSERT_TRUE(manager.grant("p", "env:A").ok());
  const auto before = manager.grants("p");
  ASSERT_TRUE(manager.grant("p", "env:B").ok());
  const auto after = manager.grants("p");
  EXPECT_EQ(before->capabilities().size(), 1u);
  EXPECT_FALSE(before->allows_env("B"));
  EXPECT_EQ(after->capabilities().size(), 2u);
  EXPECT_TRUE(after->allows_env("A"));
  EXPECT_TRUE(after->allows_env("B"));
}

TEST(CapabilityManagerTest, ConcurrentGrantsAndChecks) {
  CapabilityManager manager;
  constexpr int kWriters = 4;
  constexpr int kGrantsPerWriter = 50;
  std::atomic<bool> writers_done{false};
  std::atomic<int> regressions{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      size_t seen = 0;
      while (!writers_done.load()) {
        const auto snapshot = manager.grants("shared");
        // Grants only ever grow, and a snapshot is internally consistent.
        if (snapshot->capabilities().size() < seen) ++regressions;
        seen = snapshot->capabilities().size();
        for (const Capability& capability : snapshot->capabilities()) {
          if (!snapshot->allows_env(capability.pattern)) ++regressions;
        }
        const Decision decision = CapabilityManager::check_env(*snapshot, "NEVER_GRANTED");
        if (decision.allowed) ++regressions;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&manager, w] {
      for (int i = 0; i < kGrantsPerWriter; ++i) {
        const Status status =
            manager.grant("shared", "env:VAR_" + std::to_string(w) + "_" + std::to_string(i));
        EXPECT_TRUE(status.ok());
        EXPECT_TRUE(manager.grant("own_" + std::to_string(w), "env:X").ok());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  writers_done = true;
  for (auto& reader : readers) reader.join();

  EXPECT_EQ(regressions.load(), 0);
  const auto final_grants = manager.grants("shared");
  // No grant was lost to a concurrent one.
  EXPECT_EQ(final_grants->capabilities().size(), size_t{kWriters * kGrantsPerWriter});
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(final_grants->allows_env("VAR_" + std::to_string(w) + "_0"));
    EXPECT_EQ(manager.grants("own_" + std::to_string(w))->capabilities().size(), 1u);
  }
}

}  // namespace
}  // namespace reglet
