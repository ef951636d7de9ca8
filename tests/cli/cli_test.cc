// End-to-end tests of `reglet check` through the built binary (REGLET_BINARY): exit codes, report
// formats read back by real parsers, options, the pre-run refusal of ungranted capabilities, and
// the example profile against loopback servers started here.
#include <expat.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/loopback_servers.h"
#include "support/temp_dir.h"

extern char** environ;

namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

using ::reglet::test::TempDir;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs `reglet ARGS...` in `cwd` (stdin empty; stdout and stderr captured through files).
Outcome Reglet(const std::vector<std::string>& args, const std::string& cwd = "") {
  TempDir io;
  const std::string out_path = io / "stdout", err_path = io / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> argv_storage = {REGLET_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  Outcome outcome;
  const int rc = posix_spawn(&pid, REGLET_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << REGLET_BINARY << ": " << rc;
    return outcome;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.out = ReadFile(out_path);
  outcome.err = ReadFile(err_path);
  return outcome;
}

std::string Describe(const Outcome& o) {
  return "exit " + std::to_string(o.exit_code) + "\n--- stdout\n" + o.out + "\n--- stderr\n" +
         o.err;
}

// A profile in a temporary directory: a file that exists (pass), one that does not (fail), and
// an expectation that is not a boolean (error), selected by tags.
class CheckCli : public ::testing::Test {
 protected:
  void SetUp() override {
    present_ = dir_.write("present.txt", "hello\n");
    profile_ = dir_.write("profile.yaml",
                          "profile: {name: cli-test, version: 1.0.0}\n"
                          "grants:\n"
                          "  file: ['fs:read:" +
                              dir_.path() +
                              "/**']\n"
                              "controls:\n"
                              "  defaults: {tags: [all]}\n"
                              "  items:\n"
                              "    - id: present\n"
                              "      severity: high\n"
                              "      tags: [ok]\n"
                              "      observations:\n"
                              "        - plugin: file\n"
                              "          config: {path: '" +
                              present_ +
                              "', read_content: true}\n"
                              "          expect: ['data.content == \"hello\\n\"', 'exists']\n"
                              "    - id: absent\n"
                              "      severity: low\n"
                              "      tags: [failing]\n"
                              "      observations:\n"
                              "        - {plugin: file, config: {path: '" +
                              dir_.path() +
                              "/absent'}}\n"
                              "    - id: broken\n"
                              "      severity: critical\n"
                              "      tags: [erroring]\n"
                              "      observations:\n"
                              "        - {plugin: file, config: {path: '" +
                              present_ +
                              "'},\n"
                              "           expect: size}\n"
                              "    - id: after-absent\n"
                              "      tags: [failing]\n"
                              "      depends_on: [absent]\n"
                              "      observations:\n"
                              "        - {plugin: file, config: {path: '" +
                              present_ + "'}}\n");
  }

  // Controls of a JSON report: id -> status.
  static std::map<std::string, std::string> Statuses(const std::string& report) {
    std::map<std::string, std::string> out;
    const json parsed = json::parse(report);
    for (const json& c : parsed.at("controls")) out[c.at("id")] = c.at("status");
    return out;
  }

  TempDir dir_;
  std::string present_, profile_;
};

// ---- exit codes -------------------------------------------------------------------------------

TEST_F(CheckCli, ExitZeroWhenEveryControlPasses) {
  Outcome o = Reglet({"check", profile_, "--tags", "ok", "--format", "json"});
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_EQ(Statuses(o.out), (std::map<std::string, std::string>{{"present", "pass"}}));
}

TEST_F(CheckCli, ExitOneWhenAControlFails) {
  Outcome o = Reglet({"check", profile_, "--tags", "ok,failing", "--format", "json"});
  ASSERT_EQ(o.exit_code, 1) << Describe(o);
  EXPECT_EQ(Statuses(o.out),
            (std::map<std::string, std::string>{
                {"present", "pass"}, {"absent", "fail"}, {"after-absent", "skipped"}}));
}

TEST_F(CheckCli, ExitTwoWhenAControlErrors) {
  Outcome o = Reglet({"check", profile_, "--format", "json"});
  ASSERT_EQ(o.exit_code, 2) << Describe(o);  // an error outranks a failure
  auto statuses = Statuses(o.out);
  EXPECT_EQ(statuses["broken"], "error");
  EXPECT_EQ(statuses["absent"], "fail");
  const json report = json::parse(o.out);
  EXPECT_EQ(report["summary"]["total"], 4);
  EXPECT_EQ(report["summary"]["passed"], 1);
  EXPECT_EQ(report["summary"]["failed"], 1);
  EXPECT_EQ(report["summary"]["error"], 1);
  EXPECT_EQ(report["summary"]["skipped"], 1);
  for (const json& c : report["controls"]) {
    if (c["id"] == "after-absent") {
      EXPECT_EQ(c["message"], "dependency absent did not pass");
    }
  }
}

TEST_F(CheckCli, ExitThreeForABadProfile) {
  const std::string bad = dir_.write("bad.yaml",
                                     "profile: {name: p}\n"
                                     "controls:\n"
                                     "  items:\n"
                                     "    - id: a\n"
                                     "      severity: urgent\n"
                                     "      observations: [{plugin: env, config: {name: X}}]\n");
  Outcome o = Reglet({"check", bad});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr(bad + ":5:17: unknown severity \"urgent\""));
  EXPECT_THAT(o.out, IsEmpty());

  const std::string yaml = dir_.write("yaml.yaml", "profile: {name: p\n");
  o = Reglet({"check", yaml});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr(yaml + ":2:1: invalid YAML"));

  // A config that does not satisfy the plugin's schema: reported at the observation, and
  // nothing runs (the first control would create a file).
  const std::string config =
      dir_.write("config.yaml",
                 "profile: {name: p}\n"
                 "controls:\n"
                 "  items:\n"
                 "    - id: first\n"
                 "      observations: [{plugin: command, config: {command: touch, args: ['" +
                     (dir_ / "first-ran") +
                     "']}}]\n"
                     "    - id: second\n"
                     "      observations:\n"
                     "        - plugin: env\n"
                     "          config: {name: [not, a, string]}\n");
  o = Reglet({"check", config, "--trust-plugins"});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr(config + ":8:11: control second, observation 1 (env): "));
  EXPECT_THAT(o.err, HasSubstr("name"));
  EXPECT_FALSE(dir_.exists("first-ran"));

  o = Reglet({"check", dir_ / "does-not-exist.yaml"});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr("does-not-exist.yaml"));
}

TEST_F(CheckCli, ExitThreeForUsageErrors) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"check"},                                     // no profile
           {"check", "PROFILE", "--format", "html"},      // unknown format
           {"check", "PROFILE", "--bogus"},               // unknown option
           {"check", "PROFILE", "--severity", "urgent"},  // unknown severity
           {"check", "PROFILE", "--control", "ghost"},    // unknown control
           {"check", "PROFILE", "--exclude-control", "ghost"},
           {"check", "PROFILE", "--tags", "no-such-tag"},     // selects nothing
           {"check", "PROFILE", "--filter", "id =="},         // expression syntax
           {"check", "PROFILE", "--filter", "severity > 1"},  // string vs number
           {"check", "PROFILE", "--var", "novalue"},          // NAME=VALUE
           {"check", "PROFILE", "--grant", "file"},           // PLUGIN=CAPABILITY
           {"check", "PROFILE", "--grant", "file=fs:bad"},    // capability grammar
           {"check", "PROFILE", "--color", "sometimes"},
           {"check", "PROFILE", "--parallel", "many"},
           {"check", "PROFILE", "--timeout", "soon"},
           {"check", "PROFILE", "--grants-file", "/nonexistent/grants.yaml"},
       }) {
    std::vector<std::string> real = args;
    for (std::string& a : real) {
      if (a == "PROFILE") a = profile_;
    }
    Outcome o = Reglet(real);
    EXPECT_EQ(o.exit_code, 3) << ::testing::PrintToString(args) << "\n" << Describe(o);
    EXPECT_FALSE(o.err.empty()) << ::testing::PrintToString(args);
  }
}

TEST_F(CheckCli, MissingGrantsAreRefusedBeforeAnythingRuns) {
  // Two controls would create files: one is granted, the other is not. Neither may run.
  const std::string profile =
      dir_.write("touch.yaml",
                 "profile: {name: touch}\n"
                 "grants: {command: ['exec:/usr/bin/mkdir']}\n"
                 "controls:\n"
                 "  items:\n"
                 "    - id: granted\n"
                 "      observations: [{plugin: command, config: {command: mkdir, args: ['" +
                     (dir_ / "granted-ran") +
                     "']}}]\n"
                     "    - id: ungranted\n"
                     "      observations: [{plugin: command, config: {command: touch, args: ['" +
                     (dir_ / "ungranted-ran") + "']}}]\n");
  Outcome o = Reglet({"check", profile, "--format", "json"});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr("missing capabilities"));
  EXPECT_THAT(o.err, HasSubstr("command=exec:/usr/bin/touch  (control ungranted)"));
  EXPECT_THAT(o.err, Not(HasSubstr("mkdir")));
  EXPECT_THAT(o.out, IsEmpty()) << "no report for a run that did not start";
  EXPECT_FALSE(dir_.exists("granted-ran")) << "a control ran before the refusal";
  EXPECT_FALSE(dir_.exists("ungranted-ran"));

  // --grant supplies what is missing.
  o = Reglet({"check", profile, "--grant", "command=exec:/usr/bin/touch"});
  EXPECT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_TRUE(dir_.exists("granted-ran"));
  EXPECT_TRUE(dir_.exists("ungranted-ran"));
}

TEST_F(CheckCli, TrustPluginsGrantsWhatIsNeeded) {
  const std::string profile =
      dir_.write("trust.yaml",
                 "profile: {name: trust}\n"
                 "controls:\n"
                 "  items:\n"
                 "    - id: touch\n"
                 "      observations: [{plugin: command, config: {command: touch, args: ['" +
                     (dir_ / "trusted-ran") +
                     "']}}]\n"
                     "    - id: file\n"
                     "      depends_on: [touch]\n"
                     "      observations: [{plugin: file, config: {path: '" +
                     (dir_ / "trusted-ran") + "'}}]\n");
  Outcome refused = Reglet({"check", profile});
  EXPECT_EQ(refused.exit_code, 3) << Describe(refused);
  EXPECT_THAT(refused.err, HasSubstr("file=fs:read:" + (dir_ / "trusted-ran")));
  const std::string audit = dir_ / "audit.jsonl";
  Outcome o = Reglet({"check", profile, "--trust-plugins", "--audit-log", audit});
  EXPECT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_TRUE(dir_.exists("trusted-ran"));
  // The audit log has a JSON line per decision, all allowed.
  std::istringstream lines(ReadFile(audit));
  std::string line;
  size_t count = 0;
  while (std::getline(lines, line)) {
    const json record = json::parse(line);
    EXPECT_TRUE(record.contains("plugin"));
    ++count;
  }
  EXPECT_GE(count, 2u);
}

TEST_F(CheckCli, GrantsFile) {
  const std::string profile = dir_.write(
      "env.yaml",
      "profile: {name: env}\n"
      "controls: {items: [{id: home, observations: [{plugin: env, config: {name: PATH}}]}]}\n");
  EXPECT_EQ(Reglet({"check", profile}).exit_code, 3);
  const std::string grants = dir_.write("grants.yaml", "grants:\n  env: [\"env:PATH\"]\n");
  Outcome o = Reglet({"check", profile, "--grants-file", grants});
  EXPECT_EQ(o.exit_code, 0) << Describe(o);

  const std::string bad = dir_.write("bad-grants.yaml", "grants:\n  env: [\"env:\"]\n  x: 1\n");
  o = Reglet({"check", profile, "--grants-file", bad});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr(bad + ":"));
}

TEST_F(CheckCli, VarsOverrideTheProfile) {
  const std::string profile = dir_.write(
      "vars.yaml",
      "profile: {name: vars}\n"
      "vars: {target: {path: /nonexistent/file}}\n"
      "grants: {file: ['fs:read:/nonexistent/**', 'fs:read:" +
          dir_.path() +
          "/**']}\n"
          "controls:\n"
          "  items:\n"
          "    - id: target\n"
          "      observations: [{plugin: file, config: {path: '{{ .vars.target.path }}'}}]\n");
  EXPECT_EQ(Reglet({"check", profile}).exit_code, 1);
  Outcome o = Reglet({"check", profile, "--var", "target.path=" + present_, "--format", "json"});
  EXPECT_EQ(o.exit_code, 0) << Describe(o);
  const json report = json::parse(o.out);
  EXPECT_EQ(report["controls"][0]["observations"][0]["config"]["path"], present_);
}

TEST_F(CheckCli, RelativePathsAreRelativeToTheWorkingDirectory) {
  const std::string profile =
      dir_.write("relative.yaml",
                 "profile: {name: relative}\n"
                 "controls:\n"
                 "  items:\n"
                 "    - id: rel\n"
                 "      observations: [{plugin: file, config: {path: present.txt}}]\n");
  Outcome o =
      Reglet({"check", "relative.yaml", "--trust-plugins", "--format", "json"}, dir_.path());
  EXPECT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_EQ(json::parse(o.out)["controls"][0]["observations"][0]["config"]["path"], present_);
}

// ---- filters through the command line -------------------------------------------------------

TEST_F(CheckCli, Filters) {
  auto ids = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"check", profile_, "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Outcome o = Reglet(args);
    std::vector<std::string> out;
    if (o.exit_code == 3) {
      ADD_FAILURE() << Describe(o);
      return out;
    }
    const json report = json::parse(o.out);
    for (const json& c : report["controls"]) out.push_back(c["id"]);
    return out;
  };
  EXPECT_THAT(ids({"--tags", "erroring"}), ElementsAre("broken"));
  EXPECT_THAT(ids({"--exclude-tags", "erroring,failing"}), ElementsAre("present"));
  EXPECT_THAT(ids({"--exclude-tags", "erroring", "--exclude-tags", "ok"}),
              ElementsAre("absent", "after-absent"));
  // Exactly the severities named (Reglet's meaning), one or a list.
  EXPECT_THAT(ids({"--severity", "critical"}), ElementsAre("broken"));
  EXPECT_THAT(ids({"--severity", "low,critical"}), ElementsAre("absent", "broken"));
  EXPECT_THAT(ids({"--exclude-control", "broken,present"}), ElementsAre("absent", "after-absent"));
  EXPECT_THAT(ids({"--filter", "severity == 'critical' || id == 'present'"}),
              ElementsAre("present", "broken"));
  // A control and its dependencies.
  EXPECT_THAT(ids({"--control", "after-absent"}), ElementsAre("absent", "after-absent"));
  EXPECT_THAT(ids({"--control", "present", "--control", "broken"}),
              ElementsAre("present", "broken"));
  EXPECT_THAT(ids({"--parallel", "1"}), ElementsAre("present", "absent", "broken", "after-absent"));
}

// ---- report formats ---------------------------------------------------------------------------

TEST_F(CheckCli, JsonReport) {
  Outcome o = Reglet({"check", profile_, "--format", "json"});
  ASSERT_EQ(o.exit_code, 2) << Describe(o);
  const json report = json::parse(o.out);
  EXPECT_EQ(report["profile"]["name"], "cli-test");
  EXPECT_EQ(report["profile"]["version"], "1.0.0");
  EXPECT_EQ(report["reglet_version"], "0.1.0");
  ASSERT_EQ(report["controls"].size(), 4u);
  const json& present = report["controls"][0];
  EXPECT_EQ(present["id"], "present");
  EXPECT_EQ(present["severity"], "high");
  EXPECT_EQ(present["tags"], json::parse(R"(["all", "ok"])"));
  EXPECT_EQ(present["observations"][0]["evidence"]["data"]["content"], "hello\n");
  EXPECT_EQ(present["observations"][0]["expectations"][0]["passed"], true);
}

TEST_F(CheckCli, YamlReport) {
  Outcome o = Reglet({"check", profile_, "--format", "yaml"});
  ASSERT_EQ(o.exit_code, 2) << Describe(o);
  YAML::Node report = YAML::Load(o.out);
  EXPECT_EQ(report["profile"]["name"].as<std::string>(), "cli-test");
  EXPECT_EQ(report["profile"]["version"].as<std::string>(), "1.0.0");
  EXPECT_EQ(report["summary"]["total"].as<int>(), 4);
  ASSERT_TRUE(report["controls"].IsSequence());
  std::map<std::string, std::string> statuses;
  for (const auto& c : report["controls"]) {
    statuses[c["id"].as<std::string>()] = c["status"].as<std::string>();
  }
  EXPECT_EQ(statuses, (std::map<std::string, std::string>{{"present", "pass"},
                                                          {"absent", "fail"},
                                                          {"broken", "error"},
                                                          {"after-absent", "skipped"}}));
  EXPECT_EQ(
      report["controls"][0]["observations"][0]["evidence"]["data"]["content"].as<std::string>(),
      "hello\n");
}

// Element counts and attributes of a JUnit document, through expat (which also proves it is
// well-formed).
struct JunitCounts {
  std::map<std::string, int> elements;
  std::map<std::string, std::string> testsuites_attributes;
  std::vector<std::string> testcase_names;
};

TEST_F(CheckCli, JunitReport) {
  Outcome o = Reglet({"check", profile_, "--format", "junit"});
  ASSERT_EQ(o.exit_code, 2) << Describe(o);
  JunitCounts counts;
  XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_SetUserData(parser, &counts);
  XML_SetStartElementHandler(parser, [](void* data, const XML_Char* name, const XML_Char** attrs) {
    auto* c = static_cast<JunitCounts*>(data);
    ++c->elements[name];
    for (int i = 0; attrs[i] != nullptr; i += 2) {
      if (std::string(name) == "testsuites") c->testsuites_attributes[attrs[i]] = attrs[i + 1];
      if (std::string(name) == "testcase" && std::string(attrs[i]) == "name") {
        c->testcase_names.push_back(attrs[i + 1]);
      }
    }
  });
  const XML_Status status =
      XML_Parse(parser, o.out.data(), static_cast<int>(o.out.size()), /*isFinal=*/1);
  EXPECT_EQ(status, XML_STATUS_OK) << XML_ErrorString(XML_GetErrorCode(parser)) << " at line "
                                   << XML_GetCurrentLineNumber(parser);
  XML_ParserFree(parser);
  EXPECT_EQ(counts.elements["testsuites"], 1);
  EXPECT_EQ(counts.elements["testsuite"], 1);
  EXPECT_EQ(counts.elements["testcase"], 4);
  EXPECT_EQ(counts.elements["failure"], 1);
  EXPECT_EQ(counts.elements["error"], 1);
  EXPECT_EQ(counts.elements["skipped"], 1);
  EXPECT_EQ(counts.testsuites_attributes["tests"], "4");
  EXPECT_EQ(counts.testsuites_attributes["failures"], "1");
  EXPECT_EQ(counts.testsuites_attributes["errors"], "1");
  EXPECT_EQ(counts.testsuites_attributes["skipped"], "1");
  ASSERT_EQ(counts.testcase_names.size(), 4u);
  EXPECT_THAT(counts.testcase_names[0], StartsWith("present"));
}

TEST_F(CheckCli, SarifReport) {
  Outcome o = Reglet({"check", profile_, "--format", "sarif"});
  ASSERT_EQ(o.exit_code, 2) << Describe(o);
  const json sarif = json::parse(o.out);
  EXPECT_EQ(sarif["version"], "2.1.0");
  ASSERT_EQ(sarif["runs"].size(), 1u);
  const json& run = sarif["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "reglet");
  ASSERT_EQ(run["results"].size(), 4u);
  std::map<std::string, std::string> kinds;
  for (const json& r : run["results"]) kinds[r["ruleId"]] = r["properties"]["status"];
  EXPECT_EQ(kinds, (std::map<std::string, std::string>{{"present", "pass"},
                                                       {"absent", "fail"},
                                                       {"broken", "error"},
                                                       {"after-absent", "skipped"}}));
}

TEST_F(CheckCli, TableReportAndColor) {
  Outcome plain = Reglet({"check", profile_});
  ASSERT_EQ(plain.exit_code, 2) << Describe(plain);
  EXPECT_THAT(plain.out, AllOf(HasSubstr("present"), HasSubstr("absent"), HasSubstr("broken")));
  EXPECT_THAT(plain.out, Not(HasSubstr("\x1b["))) << "not a terminal: no color by default";
  Outcome color = Reglet({"check", profile_, "--color", "always", "--no-progress"});
  ASSERT_EQ(color.exit_code, 2) << Describe(color);
  EXPECT_THAT(color.out, HasSubstr("\x1b["));
  Outcome never = Reglet({"check", profile_, "--color", "never"});
  EXPECT_THAT(never.out, Not(HasSubstr("\x1b[")));
}

TEST_F(CheckCli, OutputFile) {
  const std::string report = dir_ / "report.json";
  Outcome o = Reglet({"check", profile_, "--format", "json", "-o", report});
  ASSERT_EQ(o.exit_code, 2) << Describe(o);
  EXPECT_THAT(o.out, IsEmpty());
  const json parsed = json::parse(ReadFile(report));
  EXPECT_EQ(parsed["summary"]["total"], 4);

  // --output is the long form; an existing file is replaced.
  o = Reglet({"check", profile_, "--tags", "ok", "--format", "sarif", "--output", report});
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  EXPECT_EQ(json::parse(ReadFile(report))["version"], "2.1.0");
}

TEST_F(CheckCli, UnwritableOutputIsAUsageErrorBeforeAnythingRuns) {
  const std::string profile =
      dir_.write("touch.yaml",
                 "profile: {name: touch}\n"
                 "controls:\n"
                 "  items:\n"
                 "    - id: touch\n"
                 "      observations: [{plugin: command, config: {command: touch, args: ['" +
                     (dir_ / "ran") + "']}}]\n");
  Outcome o = Reglet({"check", profile, "--trust-plugins", "-o", dir_ / "no-such-dir/report"});
  EXPECT_EQ(o.exit_code, 3) << Describe(o);
  EXPECT_THAT(o.err, HasSubstr("cannot write " + (dir_ / "no-such-dir/report")));
  EXPECT_FALSE(dir_.exists("ran")) << "the run started before the output was checked";
}

// ---- help -------------------------------------------------------------------------------------

TEST(CheckHelp, MentionsEveryOption) {
  Outcome o = Reglet({"check", "--help"});
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  for (const char* option : {"--format",
                             "-o",
                             "--output",
                             "--tags",
                             "--exclude-tags",
                             "--severity",
                             "--control",
                             "--exclude-control",
                             "--filter",
                             "--parallel",
                             "--timeout",
                             "--grant",
                             "--grants-file",
                             "--trust-plugins",
                             "--audit-log",
                             "--var",
                             "--color",
                             "--no-progress",
                             "table, json, yaml, junit or sarif",
                             "Exit codes",
                             "Timeout of every control"}) {
    EXPECT_THAT(o.out, HasSubstr(option)) << o.out;
  }
}

// ---- the example profile, end to end ------------------------------------------------------------

TEST(Example, BaselinePassesAgainstLoopbackServers) {
  using reglet::test::DnsServer;
  using reglet::test::HttpServer;
  HttpServer http([](const HttpServer::Request&) {
    return HttpServer::Response::make(200, "ok: reglet demo service\n",
                                      {{"Content-Type", "text/plain; charset=utf-8"}});
  });
  DnsServer dns;
  dns.add_a("example.test", "127.0.0.1");
  const std::string profile = std::string(REGLET_SOURCE_DIR) + "/examples/baseline.yaml";
  Outcome o = Reglet({"check", profile, "--format", "json", "--var",
                      "demo.http_port=" + std::to_string(http.port()), "--var",
                      "demo.dns_port=" + std::to_string(dns.port())});
  ASSERT_EQ(o.exit_code, 0) << Describe(o);
  const json report = json::parse(o.out);
  EXPECT_EQ(report["profile"]["name"], "linux-baseline");
  ASSERT_EQ(report["controls"].size(), 11u);
  for (const json& c : report["controls"]) {
    EXPECT_EQ(c["status"], "pass") << c["id"] << ": " << c["message"];
  }
  EXPECT_EQ(report["summary"]["passed"], 11);
  EXPECT_GE(dns.queries(), 1u);
  EXPECT_GE(http.requests().size(), 1u);
}

}  // namespace
