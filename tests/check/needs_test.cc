// Tests of what observations need (src/check/needs.h): the capabilities worked out from built-in
// plugins' configs for the pre-run grant check and --trust-plugins, and declared capabilities of
// other plugins.
#include "check/needs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "check/check_test_support.h"

namespace reglet::check {
namespace {

using nlohmann::json;
using test::TempDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::IsEmpty;
using ::testing::StartsWith;

GrantSet Grants(const std::vector<std::string>& caps) {
  GrantSet set;
  for (const std::string& text : caps) {
    auto cap = Capability::parse(text);
    EXPECT_TRUE(cap) << text;
    if (cap) {
      EXPECT_TRUE(set.add(*cap));
    }
  }
  return set;
}

// "capability" for needs not granted, "+capability" for granted ones.
std::vector<std::string> Needs(const std::string& plugin, const json& config,
                               const std::vector<std::string>& granted = {}) {
  std::vector<std::string> out;
  for (const Need& need : builtin_needs(plugin, config, Grants(granted))) {
    out.push_back((need.granted ? "+" : "") + need.capability);
  }
  return out;
}

TEST(Needs, File) {
  TempDir dir;
  const std::string file = dir.write("conf", "x");
  EXPECT_THAT(Needs("file", {{"path", file}}), ElementsAre("fs:read:" + file));
  EXPECT_THAT(Needs("file", {{"path", file}}, {"fs:read:" + dir.path() + "/**"}),
              ElementsAre("+fs:read:" + file));
  // Write does not imply read.
  EXPECT_THAT(Needs("file", {{"path", file}}, {"fs:write:" + dir.path() + "/**"}),
              ElementsAre("fs:read:" + file));
  // A file that does not exist yet is needed by its path all the same.
  EXPECT_THAT(Needs("file", {{"path", dir / "later"}}), ElementsAre("fs:read:" + (dir / "later")));
}

TEST(Needs, Command) {
  EXPECT_THAT(Needs("command", {{"command", "id"}, {"args", {"-u"}}}),
              ElementsAre("exec:/usr/bin/id"));  // a bare name by the fixed search path
  EXPECT_THAT(Needs("command", {{"command", "/usr/bin/id"}}, {"exec:/usr/bin/*"}),
              ElementsAre("+exec:/usr/bin/id"));
  // run: is /bin/sh -c.
  auto shell = Needs("command", {{"run", "echo hi"}});
  ASSERT_EQ(shell.size(), 1u);
  EXPECT_THAT(shell[0], AllOf(StartsWith("exec:/"), EndsWith("/bin/sh")));
  // Variables passed to the command and its working directory.
  TempDir dir;
  EXPECT_THAT(
      Needs("command",
            {{"command", "id"}, {"env", {{"LANG", "C"}, {"TZ", "UTC"}}}, {"dir", dir.path()}},
            {"env:LANG"}),
      ElementsAre("exec:/usr/bin/id", "+env:LANG", "env:TZ", "fs:read:" + dir.path()));
}

TEST(Needs, Env) {
  EXPECT_THAT(Needs("env", {{"name", "HOME"}}), ElementsAre("env:HOME"));
  EXPECT_THAT(Needs("env", {{"name", "HOME"}}, {"env:*"}), ElementsAre("+env:HOME"));
}

TEST(Needs, TcpPortAsNumberOrString) {
  EXPECT_THAT(Needs("tcp", {{"host", "127.0.0.1"}, {"port", 8080}}),
              ElementsAre("network:outbound:127.0.0.1:8080"));
  // Reglet's tcp plugin takes the port as a string; a variable inside a string gives one too.
  EXPECT_THAT(Needs("tcp", {{"host", "127.0.0.1"}, {"port", "8080"}}),
              ElementsAre("network:outbound:127.0.0.1:8080"));
  // Allowed: nothing to grant.
  EXPECT_THAT(Needs("tcp", {{"host", "127.0.0.1"}, {"port", 22}}, {"network:outbound:127.0.0.1:*"}),
              IsEmpty());
  // A port-only grant does not reach loopback (SPEC §3).
  EXPECT_THAT(Needs("tcp", {{"host", "127.0.0.1"}, {"port", 22}}, {"network:outbound:22"}),
              ElementsAre("network:outbound:127.0.0.1:22"));
  // Not a port: no need can be worked out (the host refuses the port at the call).
  for (const json& bad : {json("eighty"), json(0), json(70000), json("-1"), json(nullptr)}) {
    EXPECT_THAT(Needs("tcp", {{"host", "127.0.0.1"}, {"port", bad}}), IsEmpty()) << bad;
  }
}

TEST(Needs, HttpPortsFromTheUrl) {
  EXPECT_THAT(Needs("http", {{"url", "http://127.0.0.1/x"}}),
              ElementsAre("network:outbound:127.0.0.1:80"));
  EXPECT_THAT(Needs("http", {{"url", "https://127.0.0.1/x"}}),
              ElementsAre("network:outbound:127.0.0.1:443"));
  EXPECT_THAT(Needs("http", {{"url", "HTTP://127.0.0.1:8081/?q"}}),
              ElementsAre("network:outbound:127.0.0.1:8081"));
  EXPECT_THAT(Needs("http", {{"url", "http://[::1]:99/"}}),
              ElementsAre("network:outbound:[::1]:99"));
}

TEST(Needs, DnsNameserver) {
  EXPECT_THAT(Needs("dns", {{"hostname", "example.test"}, {"nameserver", "127.0.0.1:5353"}}),
              ElementsAre("network:outbound:127.0.0.1:5353"));
  EXPECT_THAT(Needs("dns", {{"hostname", "example.test"}, {"nameserver", "127.0.0.1"}}),
              ElementsAre("network:outbound:127.0.0.1:53"));
}

TEST(Needs, UnresolvableHostIsLeftToTheCall) {
  auto needs = builtin_needs("tcp", {{"host", "no-such-host.invalid"}, {"port", 443}}, GrantSet());
  ASSERT_EQ(needs.size(), 1u);
  EXPECT_TRUE(needs[0].granted);
  EXPECT_THAT(needs[0].note, ::testing::HasSubstr("does not resolve"));
}

TEST(Needs, DeclaredCapabilitiesMustBeGrantedAsWritten) {
  PluginInfo info;
  info.capabilities = {*Capability::parse("fs:read:/etc/**"), *Capability::parse("env:HOME")};
  auto needs = declared_needs(info, Grants({"env:HOME", "fs:read:/**"}));
  ASSERT_EQ(needs.size(), 2u);
  EXPECT_EQ(needs[0].capability, "fs:read:/etc/**");
  EXPECT_FALSE(needs[0].granted);  // a broader grant is not the declared one
  EXPECT_EQ(needs[1].capability, "env:HOME");
  EXPECT_TRUE(needs[1].granted);
}

TEST(Needs, RelativePathsAreMadeAbsoluteAgainstTheWorkingDirectory) {
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(absolutize_paths("file", {{"path", "a/../b.txt"}})["path"], cwd + "/b.txt");
  EXPECT_EQ(absolutize_paths("file", {{"path", "/etc/passwd"}})["path"], "/etc/passwd");
  EXPECT_EQ(absolutize_paths("command", {{"dir", "sub"}, {"command", "rel"}}),
            json({{"dir", cwd + "/sub"}, {"command", "rel"}}));
  // Other plugins' strings are not paths.
  EXPECT_EQ(absolutize_paths("env", {{"name", "rel"}}), json({{"name", "rel"}}));
}

}  // namespace
}  // namespace reglet::check
