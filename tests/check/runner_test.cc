// Tests of running profiles (src/check/runner.h) with a real Runtime and the embedded built-in
// plugins: evaluation semantics, dependency skipping, per-control timeouts, filters, the pre-run
// grant check and --trust-plugins, and parallel runs giving the same results as serial ones.
#include "check/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "check/check_test_support.h"
#include "check/profile.h"
#include "check/report.h"
#include "reglet/builtins.h"

namespace reglet::check {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::location_of;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

// The environment the plugins see: fixed, so that env observations are deterministic.
RuntimeOptions TestRuntimeOptions() {
  RuntimeOptions options;
  options.environment = std::map<std::string, std::string>{{"PRESENT", "yes"}, {"NUMBER", "42"}};
  return options;
}

Profile MustParse(const std::string& text, const std::filesystem::path& base = "/") {
  auto profile = parse_profile(text, "test.yaml", base);
  if (!profile) {
    ADD_FAILURE() << profile.error().message << "\n" << text;
    return Profile{};
  }
  return std::move(*profile);
}

// Prepares (requiring nothing missing) and runs.
RunResult RunProfile(Runtime& runtime, const Profile& profile, RunOptions options) {
  Runner runner(runtime, profile, std::move(options));
  auto preflight = runner.prepare();
  if (!preflight) {
    ADD_FAILURE() << "prepare: " << preflight.error().message;
    return {};
  }
  if (!preflight->missing.empty()) {
    ADD_FAILURE() << preflight->describe();
    return {};
  }
  return runner.run();
}

RunResult RunProfile(const Profile& profile, RunOptions options = {}) {
  Runtime runtime(TestRuntimeOptions());
  return RunProfile(runtime, profile, std::move(options));
}

std::map<std::string, const ControlResult*> ById(const RunResult& run) {
  std::map<std::string, const ControlResult*> out;
  for (const ControlResult& c : run.controls) out[c.id] = &c;
  return out;
}

std::vector<std::string> Ids(const RunResult& run) {
  std::vector<std::string> out;
  for (const ControlResult& c : run.controls) out.push_back(c.id);
  return out;
}

// ---- evaluate() -------------------------------------------------------------------------------

Observation WithExpectations(std::vector<std::string> sources) {
  Observation observation;
  observation.plugin = "test";
  for (std::string& source : sources) {
    auto parsed = Expression::parse(source);
    EXPECT_TRUE(parsed) << source;
    if (parsed) observation.expect.push_back({source, std::move(*parsed), {}});
  }
  return observation;
}

Evidence MakeEvidence(bool status, json data) {
  Evidence evidence;
  evidence.status = status;
  evidence.data = std::move(data);
  evidence.timestamp = std::chrono::system_clock::time_point(1'700'000'000s);
  return evidence;
}

TEST(Evaluate, WithoutExpectationsThePluginsStatusDecides) {
  ObservationResult pass, fail;
  evaluate(WithExpectations({}), MakeEvidence(true, json::object()), pass);
  evaluate(WithExpectations({}), MakeEvidence(false, json::object()), fail);
  EXPECT_EQ(pass.status, Status::pass);
  EXPECT_EQ(fail.status, Status::fail);
  EXPECT_FALSE(fail.error);
  EXPECT_TRUE(pass.expectations.empty());
}

TEST(Evaluate, EveryExpectationMustHold) {
  ObservationResult all, one_false;
  const json data = {{"exists", true}, {"size", 10}};
  evaluate(WithExpectations({"data.exists == true", "data.size > 5"}), MakeEvidence(false, data),
           all);
  // Expectations decide, not the plugin's status.
  EXPECT_EQ(all.status, Status::pass);
  ASSERT_EQ(all.expectations.size(), 2u);
  EXPECT_TRUE(all.expectations[0].passed);
  EXPECT_EQ(all.expectations[1].expression, "data.size > 5");

  evaluate(WithExpectations({"data.exists", "data.size > 50"}), MakeEvidence(true, data),
           one_false);
  EXPECT_EQ(one_false.status, Status::fail);
  EXPECT_TRUE(one_false.expectations[0].passed);
  EXPECT_FALSE(one_false.expectations[1].passed);
  EXPECT_TRUE(one_false.expectations[1].error.empty());
}

TEST(Evaluate, MembersOfDataAreVisibleByBareName) {
  ObservationResult out;
  evaluate(
      WithExpectations({"exit_code == 0", "stdout == \"Linux\"", "data.exit_code == exit_code",
                        "status", "timestamp startsWith \"2023-11-14T22:13:20\"", "error == nil"}),
      MakeEvidence(true, {{"exit_code", 0}, {"stdout", "Linux"}}), out);
  EXPECT_EQ(out.status, Status::pass) << (out.error ? out.error->message : "");
  for (const auto& e : out.expectations) EXPECT_TRUE(e.passed) << e.expression << " " << e.error;
}

TEST(Evaluate, TopLevelNamesWinOverDataMembers) {
  // data.status is shadowed by the evidence's own status.
  ObservationResult out;
  evaluate(WithExpectations({"status == false", "data.status == true"}),
           MakeEvidence(false, {{"status", true}}), out);
  EXPECT_EQ(out.status, Status::pass);
}

TEST(Evaluate, EvidenceErrorIsAnErrorWhateverTheExpectations) {
  Evidence evidence = MakeEvidence(true, {{"exists", true}});
  evidence.error =
      PluginError{"capability_denied", "fs:read:/etc/shadow not granted", "capability"};
  ObservationResult out;
  evaluate(WithExpectations({"true"}), evidence, out);
  EXPECT_EQ(out.status, Status::error);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, ErrorCode::capability_denied);
  EXPECT_EQ(out.error->message, "fs:read:/etc/shadow not granted");
  EXPECT_TRUE(out.expectations.empty());  // not evaluated

  // A code the host does not know is a plugin error.
  evidence.error = PluginError{"weird", "something", "internal"};
  ObservationResult unknown;
  evaluate(WithExpectations({}), evidence, unknown);
  EXPECT_EQ(unknown.status, Status::error);
  EXPECT_EQ(unknown.error->code, ErrorCode::plugin_error);
}

TEST(Evaluate, NonBooleanResultIsAnErrorNeverAPass) {
  ObservationResult out;
  evaluate(WithExpectations({"data.size", "true"}), MakeEvidence(true, {{"size", 1}}), out);
  EXPECT_EQ(out.status, Status::error);
  ASSERT_TRUE(out.error);
  EXPECT_THAT(out.error->message, HasSubstr("expectation \"data.size\""));
  EXPECT_THAT(out.error->message, HasSubstr("not a boolean"));
  EXPECT_FALSE(out.expectations[0].passed);
  EXPECT_FALSE(out.expectations[0].error.empty());
  EXPECT_TRUE(out.expectations[1].passed);
}

TEST(Evaluate, EvaluationErrorIsAnErrorEvenWhenAnotherExpectationFails) {
  ObservationResult out;
  evaluate(WithExpectations({"false", "data.name + 1 == 2"}), MakeEvidence(true, {{"name", "x"}}),
           out);
  // An error is the stronger outcome: the check could not be made.
  EXPECT_EQ(out.status, Status::error);
  ASSERT_TRUE(out.error);
  EXPECT_THAT(out.error->message, HasSubstr("expectation \"data.name + 1 == 2\": column"));
}

// ---- running controls -----------------------------------------------------------------------

// A control with one env observation: PRESENT passes, ABSENT fails (the plugin's own status),
// and an expectation on a string that is not a boolean errors.
std::string EnvControl(const std::string& id, const std::string& kind,
                       const std::vector<std::string>& depends_on = {},
                       const std::string& extra = "") {
  std::string out = "    - id: " + id + "\n";
  if (!depends_on.empty()) {
    out += "      depends_on: [";
    for (size_t i = 0; i < depends_on.size(); ++i) out += (i ? ", " : "") + depends_on[i];
    out += "]\n";
  }
  out += extra;
  out += "      observations:\n";
  if (kind == "pass") out += "        - {plugin: env, config: {name: PRESENT}}\n";
  if (kind == "fail") out += "        - {plugin: env, config: {name: ABSENT}}\n";
  if (kind == "error") out += "        - {plugin: env, config: {name: PRESENT}, expect: value}\n";
  return out;
}

const char kHeader[] =
    "profile: {name: runner-test, version: '1'}\n"
    "grants: {env: ['env:*']}\n"
    "controls:\n"
    "  items:\n";

TEST(Runner, StatusesMessagesAndExitCodes) {
  const Profile profile = MustParse(std::string(kHeader) + EnvControl("ok", "pass") +
                                    EnvControl("bad", "fail") + EnvControl("broken", "error"));
  RunResult run = RunProfile(profile);
  ASSERT_EQ(run.controls.size(), 3u);
  auto by = ById(run);
  EXPECT_EQ(by["ok"]->status, Status::pass);
  EXPECT_EQ(by["ok"]->message, "");
  EXPECT_EQ(by["bad"]->status, Status::fail);
  EXPECT_EQ(by["bad"]->message, "observation 1 (env): the plugin reported status false");
  ASSERT_EQ(by["bad"]->observations.size(), 1u);
  ASSERT_TRUE(by["bad"]->observations[0].evidence);
  EXPECT_EQ(by["bad"]->observations[0].evidence->data["found"], false);
  EXPECT_EQ(by["broken"]->status, Status::error);
  EXPECT_THAT(by["broken"]->message, HasSubstr("observation 1 (env): invalid_argument: "));
  EXPECT_THAT(by["broken"]->message, HasSubstr("not a boolean"));
  EXPECT_EQ(run.summary.total, 3u);
  EXPECT_EQ(run.summary.passed, 1u);
  EXPECT_EQ(run.summary.failed, 1u);
  EXPECT_EQ(run.summary.errored, 1u);
  EXPECT_EQ(run.exit_code(), 2);
  EXPECT_EQ(run.profile_name, "runner-test");
  EXPECT_EQ(run.profile_version, "1");

  EXPECT_EQ(RunProfile(MustParse(std::string(kHeader) + EnvControl("ok", "pass"))).exit_code(), 0);
  EXPECT_EQ(RunProfile(MustParse(std::string(kHeader) + EnvControl("ok", "pass") +
                                 EnvControl("bad", "fail")))
                .exit_code(),
            1);
}

TEST(Runner, RetriesRunAFailingControlAgain) {
  TempDir dir;
  const std::string flag = dir / "first-attempt-done";
  // Fails on its first run (leaving the flag behind) and passes on every later one.
  const Profile profile = MustParse(
      std::string(kHeader) +
      "    - id: flaky\n"
      "      retries: 3\n"
      "      retry_delay: 10ms\n"
      "      observations:\n"
      "        - plugin: command\n"
      "          config: {run: 'test -e " + flag + " || { : > " + flag + "; exit 1; }'}\n" +
      EnvControl("always-failing", "fail", {}, "      retries: 2\n      retry_delay: 1ms\n") +
      EnvControl("passing", "pass", {}, "      retries: 2\n"));
  RunOptions options;
  options.trust_plugins = true;
  RunResult run = RunProfile(profile, options);
  auto by = ById(run);
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(by["flaky"]->status, Status::pass) << by["flaky"]->message;
  EXPECT_EQ(by["flaky"]->attempts, 2);
  EXPECT_EQ(by["always-failing"]->status, Status::fail);
  EXPECT_EQ(by["always-failing"]->attempts, 3);
  EXPECT_EQ(by["passing"]->status, Status::pass);
  EXPECT_EQ(by["passing"]->attempts, 1);

  // Reports say how many attempts a control took, and only when it took more than one.
  const auto report = nlohmann::json::parse(render_report(run, ReportFormat::json));
  for (const auto& control : report["controls"]) {
    if (control["id"] == "flaky") {
      EXPECT_EQ(control["attempts"], 2);
    } else if (control["id"] == "always-failing") {
      EXPECT_EQ(control["attempts"], 3);
    } else {
      EXPECT_FALSE(control.contains("attempts"));
    }
  }
  EXPECT_THAT(render_report(run, ReportFormat::table), HasSubstr("passed after 2 attempts"));
  EXPECT_THAT(render_report(run, ReportFormat::junit),
              HasSubstr("<property name=\"attempts\" value=\"3\""));
}

TEST(Runner, AControlPassesOnlyWhenEveryObservationPasses) {
  const Profile profile = MustParse(std::string(kHeader) +
                                    "    - id: mixed\n"
                                    "      observations:\n"
                                    "        - {plugin: env, config: {name: PRESENT}}\n"
                                    "        - {plugin: env, config: {name: NUMBER},\n"
                                    "           expect: ['value == \"42\"', 'found']}\n"
                                    "        - {plugin: env, config: {name: ABSENT}}\n"
                                    "        - {plugin: env, config: {name: PRESENT}}\n");
  RunResult run = RunProfile(profile);
  ASSERT_EQ(run.controls.size(), 1u);
  const ControlResult& c = run.controls[0];
  EXPECT_EQ(c.status, Status::fail);
  ASSERT_EQ(c.observations.size(), 4u);  // all observations run, in order
  EXPECT_EQ(c.observations[0].status, Status::pass);
  EXPECT_EQ(c.observations[1].status, Status::pass);
  EXPECT_EQ(c.observations[2].status, Status::fail);
  EXPECT_EQ(c.observations[3].status, Status::pass);
  EXPECT_EQ(c.message, "observation 3 (env): the plugin reported status false");
}

TEST(Runner, FailedExpectationsAreNamedInTheMessage) {
  const Profile profile =
      MustParse(std::string(kHeader) +
                "    - id: c\n"
                "      observations:\n"
                "        - {plugin: env, config: {name: NUMBER},\n"
                "           expect: ['found', 'value == \"41\"', 'len(value) > 5']}\n");
  RunResult run = RunProfile(profile);
  ASSERT_EQ(run.controls.size(), 1u);
  EXPECT_EQ(run.controls[0].message,
            "observation 1 (env): expectation failed: value == \"41\"; len(value) > 5");
}

TEST(Runner, PluginErrorsAreErrors) {
  // The schema allows both keys; the plugin itself refuses the combination.
  const Profile profile = MustParse(
      "profile: {name: p}\n"
      "grants: {command: ['exec:/**']}\n"
      "controls:\n"
      "  items:\n"
      "    - id: c\n"
      "      observations: [{plugin: command, config: {command: id, run: id}}]\n");
  RunResult run = RunProfile(profile);
  ASSERT_EQ(run.controls.size(), 1u);
  EXPECT_EQ(run.controls[0].status, Status::error);
  EXPECT_THAT(run.controls[0].message, HasSubstr("observation 1 (command): "));
  EXPECT_THAT(run.controls[0].message, HasSubstr("give either command (with args) or run"));
  EXPECT_EQ(run.exit_code(), 2);
}

TEST(Runner, ConfigsAreCheckedAgainstTheSchemaBeforeAnythingRuns) {
  const std::string text = std::string(kHeader) + EnvControl("fine", "pass") +
                           "    - id: bad\n"
                           "      observations:\n"
                           "        - {plugin: env, config: {name: PRESENT}}\n"
                           "        - {plugin: env, config: {other: 1}}\n";
  const Profile profile = MustParse(text);
  Runtime runtime(TestRuntimeOptions());
  Runner runner(runtime, profile, {});
  auto preflight = runner.prepare();
  ASSERT_FALSE(preflight);
  EXPECT_EQ(preflight.error().code, ErrorCode::invalid_config);
  EXPECT_THAT(preflight.error().message,
              StartsWith(location_of("test.yaml", text, "{plugin: env, config: {other") +
                         ": control bad, observation 2 (env): "));
  EXPECT_THAT(preflight.error().message, HasSubstr("name"));

  // Only selected controls are checked.
  RunOptions only_fine;
  only_fine.controls = {"fine"};
  Runtime runtime2(TestRuntimeOptions());
  Runner selective(runtime2, profile, only_fine);
  EXPECT_TRUE(selective.prepare());
}

// ---- dependencies -----------------------------------------------------------------------------

TEST(Runner, DependencySkipping) {
  TempDir dir;
  const std::string marker = dir / "dependent-ran";
  const Profile profile = MustParse(
      std::string(kHeader) + EnvControl("root-fails", "fail") +
      // Would create a file if it ran.
      "    - id: needs-root\n"
      "      depends_on: [root-fails]\n"
      "      observations:\n"
      "        - {plugin: command, config: {command: touch, args: ['" +
      marker + "']}}\n" + EnvControl("chain-2", "pass", {"needs-root"}) +
      EnvControl("chain-3", "pass", {"chain-2"}) + EnvControl("root-passes", "pass") +
      EnvControl("after-pass", "pass", {"root-passes"}) + EnvControl("root-errors", "error") +
      EnvControl("after-error", "pass", {"root-errors"}) +
      // The first dependency (in depends_on order) that did not pass is named.
      EnvControl("two-deps", "pass", {"root-passes", "root-errors", "root-fails"}));
  RunOptions options;
  options.trust_plugins = true;  // command: exec:/usr/bin/touch
  RunResult run = RunProfile(profile, options);
  ASSERT_EQ(run.controls.size(), 9u);
  auto by = ById(run);
  EXPECT_EQ(by["root-fails"]->status, Status::fail);
  EXPECT_EQ(by["needs-root"]->status, Status::skipped);
  EXPECT_EQ(by["needs-root"]->message, "dependency root-fails did not pass");
  EXPECT_TRUE(by["needs-root"]->observations.empty());
  EXPECT_FALSE(dir.exists("dependent-ran")) << "a skipped control ran";
  // A skipped dependency skips its dependents, down the chain.
  EXPECT_EQ(by["chain-2"]->status, Status::skipped);
  EXPECT_EQ(by["chain-2"]->message, "dependency needs-root did not pass");
  EXPECT_EQ(by["chain-3"]->status, Status::skipped);
  EXPECT_EQ(by["chain-3"]->message, "dependency chain-2 did not pass");
  EXPECT_EQ(by["after-pass"]->status, Status::pass);
  EXPECT_EQ(by["root-errors"]->status, Status::error);
  EXPECT_EQ(by["after-error"]->status, Status::skipped);
  EXPECT_EQ(by["after-error"]->message, "dependency root-errors did not pass");
  EXPECT_EQ(by["two-deps"]->status, Status::skipped);
  EXPECT_EQ(by["two-deps"]->message, "dependency root-errors did not pass");
  // Skipped controls carry their metadata for the reports.
  EXPECT_EQ(by["chain-3"]->name, "chain-3");
  EXPECT_EQ(by["chain-3"]->severity, Severity::medium);
  EXPECT_EQ(run.summary.skipped, 5u);
  // Results stay in profile order whatever order they finished in.
  EXPECT_THAT(Ids(run), ElementsAre("root-fails", "needs-root", "chain-2", "chain-3", "root-passes",
                                    "after-pass", "root-errors", "after-error", "two-deps"));
}

TEST(Runner, DependentsRunAfterTheirDependenciesPass) {
  TempDir dir;
  // The dependent checks that its dependency's file exists: only true if it ran afterwards.
  const std::string file = dir / "made-by-dependency";
  const Profile profile = MustParse(
      std::string(kHeader) +
      "    - id: second\n"
      "      depends_on: [first]\n"
      "      observations: [{plugin: file, config: {path: '" +
      file +
      "'}}]\n"
      "    - id: first\n"
      "      observations:\n"
      "        - {plugin: command, config: {command: sh, args: ['-c', 'sleep 0.2; touch " +
      file + "']}}\n");
  RunOptions options;
  options.trust_plugins = true;
  options.parallel = 4;
  RunResult run = RunProfile(profile, options);
  auto by = ById(run);
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by["first"]->status, Status::pass) << by["first"]->message;
  EXPECT_EQ(by["second"]->status, Status::pass) << by["second"]->message;
}

TEST(Runner, ARepeatedDependencyIsWaitedForOnce) {
  const Profile profile =
      MustParse(std::string(kHeader) + EnvControl("dep", "pass") +
                EnvControl("twice", "pass", {"dep", "dep"}) +
                EnvControl("twice-failing", "pass", {"bad", "bad"}) + EnvControl("bad", "fail"));
  for (size_t parallel : {1u, 4u}) {
    RunOptions options;
    options.parallel = parallel;
    RunResult run = RunProfile(profile, options);
    auto by = ById(run);
    ASSERT_EQ(by.size(), 4u);
    EXPECT_EQ(by["twice"]->status, Status::pass);
    EXPECT_EQ(by["twice"]->observations.size(), 1u);
    EXPECT_EQ(by["twice-failing"]->status, Status::skipped);
    EXPECT_EQ(by["twice-failing"]->message, "dependency bad did not pass");
  }
}

// ---- timeouts ---------------------------------------------------------------------------------

TEST(Runner, PerControlTimeout) {
  const Profile profile =
      MustParse(std::string(kHeader) +
                "    - id: slow\n"
                "      timeout: 300ms\n"
                "      observations: [{plugin: command, config: {command: sleep, args: ['5']}}]\n"
                "    - id: after-slow\n"
                "      depends_on: [slow]\n"
                "      observations: [{plugin: env, config: {name: PRESENT}}]\n" +
                EnvControl("unaffected", "pass"));
  RunOptions options;
  options.trust_plugins = true;
  Runtime runtime(TestRuntimeOptions());
  Runner runner(runtime, profile, options);
  auto preflight = runner.prepare();
  ASSERT_TRUE(preflight) << preflight.error().message;
  ASSERT_TRUE(preflight->missing.empty()) << preflight->describe();
  // Only the run is timed: loading plugins is slow in sanitizer builds and has nothing to do
  // with the timeout.
  const auto start = std::chrono::steady_clock::now();
  RunResult run = runner.run();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  auto by = ById(run);
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(by["slow"]->status, Status::error);
  ASSERT_EQ(by["slow"]->observations.size(), 1u);
  ASSERT_TRUE(by["slow"]->observations[0].error);
  EXPECT_EQ(by["slow"]->observations[0].error->code, ErrorCode::timeout);
  EXPECT_THAT(by["slow"]->message, HasSubstr("observation 1 (command): timeout"));
  EXPECT_GE(by["slow"]->duration, 250ms);
  EXPECT_LT(by["slow"]->duration, 2500ms);
  EXPECT_LT(elapsed, 4s) << "the run waited for sleep 5";
  EXPECT_EQ(by["after-slow"]->status, Status::skipped);
  EXPECT_EQ(by["unaffected"]->status, Status::pass);
}

TEST(Runner, TimeoutOptionOverridesEveryControl) {
  const Profile profile =
      MustParse(std::string(kHeader) +
                "    - id: slow\n"
                "      timeout: 1h\n"
                "      observations: [{plugin: command, config: {command: sleep, args: ['5']}}]\n");
  RunOptions options;
  options.trust_plugins = true;
  options.timeout = 200ms;
  RunResult run = RunProfile(profile, options);
  ASSERT_EQ(run.controls.size(), 1u);
  EXPECT_EQ(run.controls[0].status, Status::error);
  EXPECT_LT(run.controls[0].duration, 2500ms);
  ASSERT_TRUE(run.controls[0].observations[0].error);
  EXPECT_EQ(run.controls[0].observations[0].error->code, ErrorCode::timeout);
}

// ---- filters ----------------------------------------------------------------------------------

const char kFiltered[] =
    "profile: {name: filters}\n"
    "grants: {env: ['env:*']}\n"
    "controls:\n"
    "  defaults: {tags: [all]}\n"
    "  items:\n"
    "    - {id: a, tags: [x], severity: low, observations: [{plugin: env, config: {name: "
    "PRESENT}}]}\n"
    "    - {id: b, tags: [y], severity: high, depends_on: [a],\n"
    "       observations: [{plugin: env, config: {name: PRESENT}}]}\n"
    "    - {id: c, tags: [x, slow], severity: critical,\n"
    "       observations: [{plugin: env, config: {name: PRESENT}}]}\n"
    "    - {id: d, severity: medium, depends_on: [b],\n"
    "       observations: [{plugin: env, config: {name: PRESENT}}]}\n";

std::vector<std::string> Selected(const RunOptions& options) {
  const Profile profile = MustParse(kFiltered);
  RunResult run = RunProfile(profile, options);
  for (const ControlResult& c : run.controls) EXPECT_EQ(c.status, Status::pass) << c.id;
  return Ids(run);
}

TEST(Runner, Filters) {
  RunOptions all;
  EXPECT_THAT(Selected(all), ElementsAre("a", "b", "c", "d"));

  RunOptions tags;
  tags.tags = {"y"};  // b, and a because b depends on it
  EXPECT_THAT(Selected(tags), ElementsAre("a", "b"));

  RunOptions default_tag;
  default_tag.tags = {"all"};  // tags from controls.defaults count
  EXPECT_THAT(Selected(default_tag), ElementsAre("a", "b", "c", "d"));

  RunOptions any_tag;
  any_tag.tags = {"slow", "y"};
  EXPECT_THAT(Selected(any_tag), ElementsAre("a", "b", "c"));

  RunOptions exclude;
  exclude.exclude_tags = {"slow"};
  EXPECT_THAT(Selected(exclude), ElementsAre("a", "b", "d"));

  RunOptions both;
  both.tags = {"x"};
  both.exclude_tags = {"slow"};
  EXPECT_THAT(Selected(both), ElementsAre("a"));

  RunOptions severity;
  severity.severities = {Severity::high, Severity::critical};
  EXPECT_THAT(Selected(severity), ElementsAre("a", "b", "c"));  // a: b's dependency

  RunOptions control;
  control.controls = {"d"};  // and its dependencies, transitively
  EXPECT_THAT(Selected(control), ElementsAre("a", "b", "d"));

  RunOptions controls;
  controls.controls = {"c", "a"};
  EXPECT_THAT(Selected(controls), ElementsAre("a", "c"));

  // A dependency excluded by a filter still runs when a selected control needs it; otherwise
  // the selected control could only ever be skipped.
  RunOptions excluded_dependency;
  excluded_dependency.tags = {"y"};
  excluded_dependency.exclude_tags = {"x"};
  EXPECT_THAT(Selected(excluded_dependency), ElementsAre("a", "b"));

  RunOptions not_c;
  not_c.exclude_controls = {"c"};
  EXPECT_THAT(Selected(not_c), ElementsAre("a", "b", "d"));

  // An excluded id still runs when a selected control depends on it.
  RunOptions not_a;
  not_a.exclude_controls = {"a"};
  EXPECT_THAT(Selected(not_a), ElementsAre("a", "b", "c", "d"));

  auto filter = [](std::string_view source) {
    RunOptions options;
    auto expression = Expression::parse(source);
    EXPECT_TRUE(expression) << source;
    if (expression) options.filter = std::move(*expression);
    return options;
  };
  EXPECT_THAT(Selected(filter("severity == 'critical'")), ElementsAre("c"));
  EXPECT_THAT(Selected(filter("'slow' in tags || id == 'a'")), ElementsAre("a", "c"));
  EXPECT_THAT(Selected(filter("severity in ['medium', 'low'] and not ('slow' in tags)")),
              ElementsAre("a", "b", "d"));  // d, and b and a as its dependencies
}

TEST(Runner, FilterErrorsAreConfigurationErrors) {
  const Profile profile = MustParse(kFiltered);
  Runtime runtime(TestRuntimeOptions());
  RunOptions options;
  auto expression = Expression::parse("severity > 3");  // a string compared with a number
  ASSERT_TRUE(expression);
  options.filter = std::move(*expression);
  Runner runner(runtime, profile, options);
  auto preflight = runner.prepare();
  ASSERT_FALSE(preflight);
  EXPECT_EQ(preflight.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(preflight.error().message, HasSubstr("--filter on control a"));
}

TEST(Runner, UnknownControlFilterIsAConfigurationError) {
  const Profile profile = MustParse(kFiltered);
  Runtime runtime(TestRuntimeOptions());
  RunOptions options;
  options.controls = {"a", "ghost"};
  Runner runner(runtime, profile, options);
  auto preflight = runner.prepare();
  ASSERT_FALSE(preflight);
  EXPECT_EQ(preflight.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(preflight.error().message, HasSubstr("no control \"ghost\""));
}

// Filters that select nothing are almost always a mistyped tag: a configuration error, not a
// silent success.
TEST(Runner, EmptySelectionIsAConfigurationError) {
  const Profile profile = MustParse(kFiltered);
  Runtime runtime(TestRuntimeOptions());
  RunOptions no_tag;
  no_tag.tags = {"nothing"};
  RunOptions everything_excluded;
  everything_excluded.exclude_tags = {"all"};
  for (const RunOptions& options : {no_tag, everything_excluded}) {
    Runner runner(runtime, profile, options);
    auto preflight = runner.prepare();
    ASSERT_FALSE(preflight);
    EXPECT_EQ(preflight.error().code, ErrorCode::invalid_argument);
    EXPECT_THAT(preflight.error().message, HasSubstr("no control matches the filters"));
  }
}

// ---- preflight --------------------------------------------------------------------------------

class Preflight : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.write("watched.conf", "x=1\n");
    text_ =
        "profile: {name: needs}\n"
        "controls:\n"
        "  items:\n"
        "    - id: reads-file\n"
        "      observations: [{plugin: file, config: {path: '" +
        file_ +
        "'}}]\n"
        "    - id: runs-id\n"
        "      observations:\n"
        "        - {plugin: command, config: {command: id, args: ['-u']}}\n"
        "        - {plugin: env, config: {name: PRESENT}}\n"
        "    - id: reads-file-again\n"
        "      observations: [{plugin: file, config: {path: '" +
        file_ + "'}}]\n";
  }
  TempDir dir_;
  std::string file_;
  std::string text_;
};

TEST_F(Preflight, MissingGrantsAreListedBeforeAnythingRuns) {
  const Profile profile = MustParse(text_);
  Runtime runtime(TestRuntimeOptions());
  Runner runner(runtime, profile, {});
  auto preflight = runner.prepare();
  ASSERT_TRUE(preflight) << preflight.error().message;
  std::vector<std::string> missing;
  for (const MissingGrant& m : preflight->missing) {
    missing.push_back(m.plugin + "=" + m.capability + " @" + m.control);
  }
  // Each missing grant once, at the first control that needs it; commands by resolved path.
  EXPECT_THAT(missing, UnorderedElementsAre("file=fs:read:" + file_ + " @reads-file",
                                            "command=exec:/usr/bin/id @runs-id",
                                            "env=env:PRESENT @runs-id"));
  const std::string text = preflight->describe();
  EXPECT_THAT(text, HasSubstr("--grant PLUGIN=CAPABILITY"));
  EXPECT_THAT(text, HasSubstr("--trust-plugins"));
  EXPECT_THAT(text, HasSubstr("file=fs:read:" + file_ + "  (control reads-file)"));
  EXPECT_THAT(text, HasSubstr("command=exec:/usr/bin/id  (control runs-id)"));
}

TEST_F(Preflight, GrantsFromTheProfileAndOptionsCount) {
  const Profile profile = MustParse(
      "profile: {name: needs}\n"
      "grants: {command: ['exec:/usr/bin/*']}\n" +
      text_.substr(text_.find("controls:")));
  Runtime runtime(TestRuntimeOptions());
  RunOptions options;
  options.grants["env"] = {"env:PRES*"};
  options.grants["file"] = {"fs:read:" + dir_.path() + "/**"};
  Runner runner(runtime, profile, options);
  auto preflight = runner.prepare();
  ASSERT_TRUE(preflight) << preflight.error().message;
  EXPECT_THAT(preflight->missing, IsEmpty()) << preflight->describe();
  RunResult run = runner.run();
  for (const ControlResult& c : run.controls) EXPECT_EQ(c.status, Status::pass) << c.message;
}

TEST_F(Preflight, BadGrantOptionIsAConfigurationError) {
  const Profile profile = MustParse(text_);
  Runtime runtime(TestRuntimeOptions());
  RunOptions options;
  options.grants["file"] = {"fs:nonsense"};
  Runner runner(runtime, profile, options);
  auto preflight = runner.prepare();
  ASSERT_FALSE(preflight);
  EXPECT_EQ(preflight.error().code, ErrorCode::invalid_argument);
  EXPECT_THAT(preflight.error().message, HasSubstr("grant file=fs:nonsense"));
}

TEST_F(Preflight, TrustPluginsGrantsExactlyWhatIsNeeded) {
  const Profile profile = MustParse(text_);
  Runtime runtime(TestRuntimeOptions());
  RunOptions options;
  options.trust_plugins = true;
  Runner runner(runtime, profile, options);
  auto preflight = runner.prepare();
  ASSERT_TRUE(preflight) << preflight.error().message;
  EXPECT_THAT(preflight->missing, IsEmpty());
  auto caps = [&](const std::string& plugin) {
    std::vector<std::string> out;
    for (const Capability& c : runtime.capabilities().grants(plugin)->capabilities()) {
      out.push_back(c.to_string());
    }
    return out;
  };
  EXPECT_THAT(caps("file"), ElementsAre("fs:read:" + file_));
  EXPECT_THAT(caps("command"), ElementsAre("exec:/usr/bin/id"));
  EXPECT_THAT(caps("env"), ElementsAre("env:PRESENT"));
  RunResult run = runner.run();
  ASSERT_EQ(run.controls.size(), 3u);
  for (const ControlResult& c : run.controls) EXPECT_EQ(c.status, Status::pass) << c.message;
}

TEST_F(Preflight, TrustPluginsGrantsNothingBeyondTheNeeds) {
  // Trusted with a need for PRESENT only, the plugin cannot read NUMBER: grants are per need, not
  // the plugin's declared env:*.
  const Profile profile = MustParse(
      "profile: {name: p}\n"
      "controls:\n"
      "  items:\n"
      "    - id: c\n"
      "      observations: [{plugin: env, config: {name: PRESENT}}]\n");
  Runtime runtime(TestRuntimeOptions());
  RunOptions options;
  options.trust_plugins = true;
  Runner runner(runtime, profile, options);
  ASSERT_TRUE(runner.prepare());
  auto plugin = runtime.get_plugin("env");
  ASSERT_TRUE(plugin);
  auto evidence = plugin->observe(json{{"name", "NUMBER"}});
  ASSERT_TRUE(evidence);
  ASSERT_TRUE(evidence->error);
  EXPECT_EQ(evidence->error->code, "capability_denied");
}

TEST(PreflightFilePlugin, DeclaredCapabilitiesOfAPluginFile) {
  // A plugin file (here the env plugin's bytes under another name) needs what it declares.
  TempDir dir;
  auto bytes = builtin_plugin("env");
  ASSERT_TRUE(bytes);
  {
    std::ofstream out(dir / "myenv.wasm", std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()),
              static_cast<std::streamsize>(bytes->size()));
  }
  const std::string text =
      "profile: {name: p}\n"
      "plugins: [./myenv.wasm]\n"
      "controls:\n"
      "  items:\n"
      "    - id: c\n"
      "      observations: [{plugin: myenv, config: {name: PRESENT}}]\n";
  const Profile profile = MustParse(text, dir.path());
  {
    Runtime runtime(TestRuntimeOptions());
    Runner runner(runtime, profile, {});
    auto preflight = runner.prepare();
    ASSERT_TRUE(preflight) << preflight.error().message;
    ASSERT_EQ(preflight->missing.size(), 1u);
    EXPECT_EQ(preflight->missing[0].plugin, "myenv");
    EXPECT_EQ(preflight->missing[0].capability, "env:*");
  }
  {
    Runtime runtime(TestRuntimeOptions());
    RunOptions options;
    options.trust_plugins = true;
    RunResult run = RunProfile(runtime, profile, options);
    ASSERT_EQ(run.controls.size(), 1u);
    EXPECT_EQ(run.controls[0].status, Status::pass) << run.controls[0].message;
  }
}

// ---- parallel runs ----------------------------------------------------------------------------

// ~60 controls with dependencies and every outcome; the expected status of each is computed
// independently here, and runs with 1 and 8 workers must agree with it and with each other.
struct Generated {
  std::string text;
  std::map<std::string, Status> expected;
};

Generated GenerateProfile(int count) {
  Generated out;
  out.text = kHeader;
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    const std::string id = "c" + std::to_string(i);
    std::string kind = i % 11 == 5 ? "fail" : i % 13 == 7 ? "error" : "pass";
    std::vector<std::string> deps;
    if (i > 0 && i % 3 == 0) deps.push_back(ids[i - 1]);
    if (i > 4 && i % 4 == 0) deps.push_back(ids[i / 2]);
    if (i > 10 && i % 10 == 1) deps.push_back(ids[i - 10]);
    out.text += EnvControl(id, kind, deps);
    Status status = kind == "pass" ? Status::pass : kind == "fail" ? Status::fail : Status::error;
    for (const std::string& dep : deps) {
      if (out.expected.at(dep) != Status::pass) {
        status = Status::skipped;
        break;
      }
    }
    out.expected[id] = status;
    ids.push_back(id);
  }
  return out;
}

TEST(Runner, ParallelRunsGiveTheSameResultsAsSerialOnes) {
  const Generated generated = GenerateProfile(60);
  const Profile profile = MustParse(generated.text);
  ASSERT_EQ(profile.controls.size(), 60u);
  size_t skipped = 0;
  for (const auto& [id, status] : generated.expected) skipped += status == Status::skipped;
  ASSERT_GT(skipped, 3u) << "the generated profile should exercise skipping";

  auto summary = [](const RunResult& run) {
    std::vector<std::string> out;
    for (const ControlResult& c : run.controls) {
      out.push_back(c.id + " " + std::string(to_string(c.status)) + " " + c.message);
    }
    return out;
  };
  RunOptions serial;
  serial.parallel = 1;
  const RunResult one = RunProfile(profile, serial);
  ASSERT_EQ(one.controls.size(), 60u);
  for (const ControlResult& c : one.controls) {
    EXPECT_EQ(c.status, generated.expected.at(c.id)) << c.id << ": " << c.message;
  }
  const auto expected = summary(one);
  for (int attempt = 0; attempt < 3; ++attempt) {
    RunOptions parallel;
    parallel.parallel = 8;
    size_t progress_calls = 0;
    size_t last_done = 0;
    parallel.on_progress = [&](size_t done, size_t total, const ControlResult&) {
      // Serialised by the runner: counts arrive in order, one per control.
      ++progress_calls;
      EXPECT_EQ(done, last_done + 1);
      EXPECT_EQ(total, 60u);
      last_done = done;
    };
    const RunResult eight = RunProfile(profile, parallel);
    EXPECT_EQ(summary(eight), expected) << "attempt " << attempt;
    EXPECT_EQ(progress_calls, 60u);
    EXPECT_EQ(eight.summary.passed, one.summary.passed);
    EXPECT_EQ(eight.summary.skipped, one.summary.skipped);
    EXPECT_EQ(eight.exit_code(), one.exit_code());
  }
}

TEST(Runner, ParallelWorkersOverlap) {
  // Six controls that each sleep 500 ms (3 s one after another) overlap with 6 workers.
  std::string text = kHeader;
  for (int i = 0; i < 6; ++i) {
    text += "    - id: s" + std::to_string(i) +
            "\n      observations: [{plugin: command, config: {command: sleep, args: ['0.5']}}]\n";
  }
  const Profile profile = MustParse(text);
  RunOptions options;
  options.trust_plugins = true;
  options.parallel = 6;
  const auto start = std::chrono::steady_clock::now();
  RunResult run = RunProfile(profile, options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(run.controls.size(), 6u);
  for (const ControlResult& c : run.controls) EXPECT_EQ(c.status, Status::pass) << c.message;
  EXPECT_LT(elapsed, 2000ms);
}

}  // namespace
}  // namespace reglet::check
