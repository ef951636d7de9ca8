// The `command` plugin end to end: real programs run by the host for the wasm plugin.
#include <gtest/gtest.h>

#include <filesystem>

#include "plugins_e2e/e2e_support.h"

namespace reglet::e2e {
namespace {

namespace fs = std::filesystem;

const char* const kShellGrant = "exec:/bin/sh";

// The grant for a bare program name, where the host will find it.
std::string exec_grant(const std::string& name) {
  const std::string path = resolve_in_search_path(name);
  EXPECT_FALSE(path.empty()) << name << " is not in the fixed search path";
  return "exec:" + path;
}

TEST(CommandPlugin, CommandWithArgs) {
  const std::string echo = resolve_in_search_path("echo");
  json out = evidence_of(
      observe("command", {{"command", echo}, {"args", {"hello", "world"}}}, {"exec:" + echo}));
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["stdout"], "hello world");
  EXPECT_EQ(data["stdout_raw"], "hello world\n");
  EXPECT_EQ(data["stderr"], "");
  EXPECT_EQ(data["exit_code"], 0);
  EXPECT_EQ(data["success"], true);
  EXPECT_EQ(data["is_timeout"], false);
  EXPECT_TRUE(data["duration_ms"].is_number());
  EXPECT_EQ(data["command"], echo);
  EXPECT_EQ(data["args"], json({"hello", "world"}));
}

TEST(CommandPlugin, BareNameIsResolvedThroughTheFixedSearchPath) {
  json out = evidence_of(
      observe("command", {{"command", "uname"}, {"args", {"-s"}}}, {exec_grant("uname")}));
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["stdout"], "Linux");
}

TEST(CommandPlugin, CallersPathIsNotSearched) {
  // A program only reachable through the PATH of the reglet process is not found: bare names
  // go through the fixed search path only.
  const TempDir bin;
  bin.write("reglet-e2e-only-in-path", "#!/bin/sh\necho found\n", 0755);
  const RunResult result =
      observe("command", {{"command", "reglet-e2e-only-in-path"}}, {"exec:" + bin.str() + "/*"}, {},
              {{"PATH", bin.str() + ":/usr/bin:/bin"}});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "not_found") << result.describe();
  EXPECT_EQ(result.out.find("\"stdout\""), std::string::npos) << result.describe();
}

TEST(CommandPlugin, RunGoesThroughTheShell) {
  json out = evidence_of(
      observe("command", {{"run", "test -d / && printf 'a b\\n' | tr ' ' '-'"}}, {kShellGrant}));
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["stdout"], "a-b");
  EXPECT_EQ(out["data"]["exit_code"], 0);
  EXPECT_EQ(out["data"]["command"], "/bin/sh");
  EXPECT_EQ(out["data"]["args"], json({"-c", "test -d / && printf 'a b\\n' | tr ' ' '-'"}));
}

TEST(CommandPlugin, RunWithoutTheShellGrantIsDenied) {
  // Granting the programs the line names is not enough: run is /bin/sh -c.
  const RunResult result = observe("command", {{"run", "echo hi"}}, {exec_grant("echo")});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  const std::string message = out["error"]["message"];
  EXPECT_NE(message.find("exec:"), std::string::npos) << message;
  EXPECT_NE(message.find("/sh"), std::string::npos) << message;
}

TEST(CommandPlugin, UngrantedProgramIsDenied) {
  const std::string echo = resolve_in_search_path("echo");
  const RunResult result = observe("command", {{"command", echo}}, {exec_grant("true")});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("exec:" + echo), std::string::npos)
      << out.dump();
}

TEST(CommandPlugin, NonZeroExitIsEvidence) {
  const RunResult result =
      observe("command", {{"run", "printf 'out\\n'; printf 'err\\n' >&2; exit 3"}}, {kShellGrant});
  json out = evidence_of(result);
  EXPECT_EQ(out["status"], false);
  json& data = out["data"];
  EXPECT_EQ(data["exit_code"], 3);
  EXPECT_EQ(data["success"], false);
  EXPECT_EQ(data["is_timeout"], false);
  EXPECT_EQ(data["stdout"], "out");
  EXPECT_EQ(data["stdout_raw"], "out\n");
  EXPECT_EQ(data["stderr"], "err");
  EXPECT_EQ(data["stderr_raw"], "err\n");
}

TEST(CommandPlugin, TrimmingRemovesTrailingNewlinesOnly) {
  json out =
      evidence_of(observe("command", {{"run", "printf '  two\\nlines  \\n\\n'"}}, {kShellGrant}));
  EXPECT_EQ(out["data"]["stdout_raw"], "  two\nlines  \n\n");
  EXPECT_EQ(out["data"]["stdout"], "  two\nlines  ");
}

TEST(CommandPlugin, EnvIsPassedWhenGranted) {
  const std::string env = resolve_in_search_path("env");
  json out = evidence_of(observe("command", {{"command", env}, {"env", {{"REGLET_E2E", "v a l"}}}},
                                 {"exec:" + env, "env:REGLET_E2E"}));
  // The command gets exactly the variables given: not PATH, not HOME, nothing of the host's.
  EXPECT_EQ(out["data"]["stdout"], "REGLET_E2E=v a l");
}

TEST(CommandPlugin, EnvInRegletsListForm) {
  const std::string env = resolve_in_search_path("env");
  json out = evidence_of(observe("command", {{"command", env}, {"env", {"A_ONE=1", "B_TWO=x=y"}}},
                                 {"exec:" + env, "env:A_ONE", "env:B_TWO"}));
  EXPECT_EQ(out["data"]["stdout"], "A_ONE=1\nB_TWO=x=y");

  const RunResult malformed =
      observe("command", {{"command", env}, {"env", {"NO_VALUE"}}}, {"exec:" + env, "env:*"});
  EXPECT_EQ(malformed.exit_code, 2) << malformed.describe();
  EXPECT_EQ(malformed.json_out()["error"]["code"], "invalid_config");
}

TEST(CommandPlugin, EnvNotGrantedIsDenied) {
  const std::string env = resolve_in_search_path("env");
  const RunResult result =
      observe("command", {{"command", env}, {"env", {{"REGLET_E2E", "x"}}}}, {"exec:" + env});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("env:REGLET_E2E"), std::string::npos)
      << out.dump();
}

TEST(CommandPlugin, WorkingDirectory) {
  const TempDir dir;
  dir.write("marker", "");
  json out = evidence_of(observe("command", {{"run", "pwd; ls"}, {"dir", dir.str()}},
                                 {kShellGrant, "fs:read:" + dir.str()}));
  EXPECT_EQ(out["data"]["stdout"], dir.str() + "\nmarker");

  const RunResult denied = observe("command", {{"run", "pwd"}, {"dir", dir.str()}}, {kShellGrant});
  EXPECT_EQ(denied.exit_code, 2) << denied.describe();
  EXPECT_EQ(denied.json_out()["error"]["code"], "capability_denied");
}

TEST(CommandPlugin, TimeoutKillsTheCommand) {
  const RunResult result = observe(
      "command", {{"command", "sleep"}, {"args", {"20"}}, {"timeout", 1}}, {exec_grant("sleep")});
  json out = evidence_of(result);
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["is_timeout"], true);
  EXPECT_EQ(out["data"]["success"], false);
  EXPECT_LT(out["data"]["duration_ms"].get<int64_t>(), 10'000);
}

TEST(CommandPlugin, TheObservationDeadlineIsATimeoutError) {
  // --timeout bounds the whole observation; running out of it is an error, not evidence.
  const RunResult result = observe("command", {{"command", "sleep"}, {"args", {"20"}}},
                                   {exec_grant("sleep")}, {"--timeout", "1s"});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "timeout") << result.describe();
}

TEST(CommandPlugin, OutputThatIsNotUtf8IsAlsoGivenExactly) {
  json out = evidence_of(observe("command", {{"run", "printf 'ok\\377\\376'"}}, {kShellGrant}));
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["stdout_b64"], base64("ok\xff\xfe"));
}

TEST(CommandPlugin, NeitherOrBothOfCommandAndRunIsAConfigError) {
  for (const json& config : {json::object(), json{{"command", "/bin/true"}, {"run", "true"}}}) {
    const RunResult result = observe("command", config, {kShellGrant});
    EXPECT_EQ(result.exit_code, 2) << result.describe();
    EXPECT_EQ(result.json_out()["error"]["code"], "invalid_config") << result.describe();
  }
}

TEST(CommandPlugin, TimeoutBelowOneIsAConfigError) {
  const RunResult result = observe("command", {{"run", "true"}, {"timeout", 0}}, {kShellGrant});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "invalid_config");
}

}  // namespace
}  // namespace reglet::e2e
