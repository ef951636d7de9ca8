// Tests of profile loading (src/check/profile.h): every key of the format of SPEC §5 and every
// error, each error asserted to name the file, line and column of what is wrong.
#include "check/profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "check/check_test_support.h"

namespace reglet::check {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::location_of;
using test::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kFile[] = "p.yaml";

class ProfileTest : public ::testing::Test {
 protected:
  Result<Profile> Parse(const std::string& text, const VarOverrides& vars = {}) {
    return parse_profile(text, kFile, dir_.path(), vars);
  }

  // The error message of a profile that must not load.
  std::string ErrorOf(const std::string& text, const VarOverrides& vars = {}) {
    auto profile = Parse(text, vars);
    if (profile) {
      ADD_FAILURE() << "the profile loaded:\n" << text;
      return "";
    }
    EXPECT_EQ(profile.error().code, ErrorCode::invalid_argument);
    return profile.error().message;
  }

  // Asserts that `text` fails to load with a message located at the `nth` occurrence of
  // `needle` and containing `what`.
  void ExpectErrorAt(const std::string& text, const std::string& needle, const std::string& what,
                     int nth = 0) {
    const std::string message = ErrorOf(text);
    EXPECT_THAT(message, StartsWith(location_of(kFile, text, needle, nth) + ": ")) << text;
    EXPECT_THAT(message, HasSubstr(what));
  }

  // A profile around one control's body (indented under `- `).
  static std::string WithControl(const std::string& body) {
    return "profile: {name: p}\n"
           "controls:\n"
           "  items:\n"
           "    - " +
           body;
  }

  TempDir dir_;
};

// ---- every key --------------------------------------------------------------------------------

constexpr char kEveryKey[] = R"(profile:
  name: full
  version: 2.1.0
  description: every key of the format
plugins: [file, command, env, tcp, dns, http, checks/custom.wasm]
vars:
  port: 8080
  host: 127.0.0.1
  flag: true
  list: [a, b]
  ssh: {config: /etc/ssh/sshd_config, nested: {deep: deep-value}}
grants:
  file: ["fs:read:/etc/**", "fs:read:/usr/lib/os-release"]
  env: "env:HOME"
  custom: ["env:USER"]
controls:
  defaults:
    severity: high
    timeout: 45s
    tags: [baseline, linux]
    owner: secops
  items:
    - id: inherits
      observations:
        - plugin: env
          config: {name: HOME}
    - id: overrides
      name: Overrides everything
      description: A control that sets every key
      severity: critical
      owner: alice
      tags: [ssh, baseline]
      depends_on: [inherits]
      timeout: 1m30s
      observations:
        - plugin: file
          config:
            path: "{{ .vars.ssh.config }}"
            deep: "{{.vars.ssh.nested.deep}}"
            port: "{{ .vars.port }}"
            flag: "{{ .vars.flag }}"
            list: "{{ .vars.list }}"
            object: "{{ .vars.ssh.nested }}"
            url: "http://{{ .vars.host }}:{{ .vars.port }}/x"
            nested: {items: ["{{ .vars.port }}", "p{{ .vars.port }}"]}
            quoted: "8080"
            plain: 8080
            float: 1.5
            no: no
            nothing: ~
            literal: |
              two
              lines
          expect:
            - data.exists == true
            - data.size > 0
        - plugin: custom
          expect: status == true
        - plugin: checks/custom.wasm
          config:
)";

TEST_F(ProfileTest, EveryKeyIsLoaded) {
  dir_.write("checks/custom.wasm", "not checked at load time");
  const std::string text = kEveryKey;
  auto loaded = Parse(text);
  ASSERT_TRUE(loaded) << loaded.error().message;
  const Profile& p = *loaded;

  EXPECT_EQ(p.name, "full");
  EXPECT_EQ(p.version, "2.1.0");
  EXPECT_EQ(p.description, "every key of the format");
  EXPECT_EQ(p.base_dir, std::filesystem::path(dir_.path()));

  ASSERT_EQ(p.plugins.size(), 7u);
  EXPECT_EQ(p.plugins[0].spec, "file");
  EXPECT_EQ(p.plugins[0].name, "file");
  EXPECT_EQ(p.plugins[0].location.to_string(), location_of(kFile, text, "file, command"));
  EXPECT_EQ(p.plugins[6].spec, "checks/custom.wasm");
  EXPECT_EQ(p.plugins[6].name, "custom");  // a file plugin is named after its file

  EXPECT_EQ(p.vars, json::parse(R"({"port": 8080, "host": "127.0.0.1", "flag": true,
      "list": ["a", "b"],
      "ssh": {"config": "/etc/ssh/sshd_config", "nested": {"deep": "deep-value"}}})"));

  ASSERT_EQ(p.grants.size(), 3u);
  EXPECT_THAT(p.grants.at("file"), ElementsAre("fs:read:/etc/**", "fs:read:/usr/lib/os-release"));
  EXPECT_THAT(p.grants.at("env"), ElementsAre("env:HOME"));  // a single string is a list of one
  EXPECT_THAT(p.grants.at("custom"), ElementsAre("env:USER"));

  ASSERT_EQ(p.controls.size(), 2u);
  const Control& inherits = p.controls[0];
  EXPECT_EQ(inherits.id, "inherits");
  EXPECT_EQ(inherits.name, "inherits");  // the name defaults to the id
  EXPECT_EQ(inherits.description, "");
  EXPECT_EQ(inherits.severity, Severity::high);
  EXPECT_EQ(inherits.timeout, 45s);
  EXPECT_THAT(inherits.tags, ElementsAre("baseline", "linux"));
  EXPECT_EQ(inherits.owner, "secops");
  EXPECT_TRUE(inherits.depends_on.empty());
  EXPECT_EQ(inherits.location.to_string(), location_of(kFile, text, "id: inherits"));
  ASSERT_EQ(inherits.observations.size(), 1u);
  EXPECT_EQ(inherits.observations[0].plugin, "env");
  EXPECT_EQ(inherits.observations[0].config, json({{"name", "HOME"}}));
  EXPECT_TRUE(inherits.observations[0].expect.empty());
  EXPECT_EQ(inherits.observations[0].location.to_string(), location_of(kFile, text, "plugin: env"));

  const Control& c = p.controls[1];
  EXPECT_EQ(c.id, "overrides");
  EXPECT_EQ(c.name, "Overrides everything");
  EXPECT_EQ(c.description, "A control that sets every key");
  EXPECT_EQ(c.severity, Severity::critical);
  EXPECT_EQ(c.owner, "alice");
  // A control's tags add to the defaults (no duplicates, defaults first).
  EXPECT_THAT(c.tags, ElementsAre("baseline", "linux", "ssh"));
  EXPECT_THAT(c.depends_on, ElementsAre("inherits"));
  EXPECT_EQ(c.timeout, 90s);
  ASSERT_EQ(c.observations.size(), 3u);

  const Observation& file = c.observations[0];
  EXPECT_EQ(file.plugin, "file");
  const json& config = file.config;
  EXPECT_EQ(config["path"], "/etc/ssh/sshd_config");
  EXPECT_EQ(config["deep"], "deep-value");  // no spaces inside the braces
  // A string that is exactly one template takes the variable's value with its type.
  EXPECT_EQ(config["port"], 8080);
  EXPECT_TRUE(config["port"].is_number_integer());
  EXPECT_EQ(config["flag"], true);
  EXPECT_EQ(config["list"], json::parse(R"(["a", "b"])"));
  EXPECT_EQ(config["object"], json::parse(R"({"deep": "deep-value"})"));
  // Inside a longer string, templates are replaced by the variable's text.
  EXPECT_EQ(config["url"], "http://127.0.0.1:8080/x");
  // Substitution reaches into nested lists and mappings.
  EXPECT_EQ(config["nested"], json::parse(R"({"items": [8080, "p8080"]})"));
  // YAML typing: quoted stays a string, plain scalars follow the YAML 1.2 core schema.
  EXPECT_EQ(config["quoted"], "8080");
  EXPECT_EQ(config["plain"], 8080);
  EXPECT_EQ(config["float"], 1.5);
  EXPECT_EQ(config["no"], "no");  // YAML 1.1's booleans are strings in 1.2
  EXPECT_TRUE(config["nothing"].is_null());
  EXPECT_EQ(config["literal"], "two\nlines\n");

  ASSERT_EQ(file.expect.size(), 2u);
  EXPECT_EQ(file.expect[0].source, "data.exists == true");
  EXPECT_EQ(file.expect[0].location.to_string(), location_of(kFile, text, "data.exists == true"));
  EXPECT_EQ(file.expect[1].source, "data.size > 0");
  EXPECT_EQ(file.expect[0].expression.source(), "data.exists == true");

  // expect as a single string is a list of one; a listed plugin file is used by its name.
  EXPECT_EQ(c.observations[1].plugin, "custom");
  ASSERT_EQ(c.observations[1].expect.size(), 1u);
  EXPECT_EQ(c.observations[1].expect[0].source, "status == true");
  // ...or by its path; an empty config is an empty object.
  EXPECT_EQ(c.observations[2].plugin, "custom");
  EXPECT_EQ(c.observations[2].config, json::object());
}

TEST_F(ProfileTest, MinimalProfileTakesTheDefaults) {
  auto p = Parse(WithControl("id: a\n      observations: [{plugin: env, config: {name: X}}]\n"));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->name, "p");
  EXPECT_EQ(p->version, "");
  EXPECT_TRUE(p->plugins.empty());  // built-ins may be used without being listed
  EXPECT_TRUE(p->grants.empty());
  ASSERT_EQ(p->controls.size(), 1u);
  EXPECT_EQ(p->controls[0].severity, Severity::medium);
  EXPECT_EQ(p->controls[0].timeout, 30s);
  EXPECT_TRUE(p->controls[0].tags.empty());
  EXPECT_EQ(p->controls[0].owner, "");
}

TEST_F(ProfileTest, SingleValuesWhereListsAreExpected) {
  auto p = Parse(
      "profile: {name: p}\n"
      "controls:\n"
      "  defaults: {tags: base}\n"
      "  items:\n"
      "    - {id: a, observations: [{plugin: env, config: {name: X}}]}\n"
      "    - {id: b, tags: extra, depends_on: a,\n"
      "       observations: [{plugin: env, config: {name: X}}]}\n");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(p->controls[1].tags, ElementsAre("base", "extra"));
  EXPECT_THAT(p->controls[1].depends_on, ElementsAre("a"));
}

TEST_F(ProfileTest, Durations) {
  for (auto [text, expected] : {std::pair{"5", std::chrono::milliseconds(5s)},  // bare: seconds
                                std::pair{"500ms", std::chrono::milliseconds(500)},
                                std::pair{"1m30s", std::chrono::milliseconds(90s)},
                                std::pair{"2h", std::chrono::milliseconds(2h)},
                                std::pair{"1.5s", std::chrono::milliseconds(1500)}}) {
    auto p = Parse(WithControl(std::string("id: a\n      timeout: ") + text +
                               "\n      observations: [{plugin: env, config: {name: X}}]\n"));
    ASSERT_TRUE(p) << text << ": " << p.error().message;
    EXPECT_EQ(p->controls[0].timeout, expected) << text;
  }
}

TEST_F(ProfileTest, EverySeverity) {
  for (auto [text, expected] :
       {std::pair{"low", Severity::low}, std::pair{"medium", Severity::medium},
        std::pair{"high", Severity::high}, std::pair{"critical", Severity::critical}}) {
    auto p = Parse(WithControl(std::string("id: a\n      severity: ") + text +
                               "\n      observations: [{plugin: env, config: {name: X}}]\n"));
    ASSERT_TRUE(p) << text;
    EXPECT_EQ(p->controls[0].severity, expected);
  }
}

TEST_F(ProfileTest, PluginPathsAreRelativeToTheProfileDirectory) {
  dir_.write("checks/ssh-audit.wasm", "x");
  dir_.write("abs.wasm", "x");
  const std::string text =
      "profile: {name: p}\n"
      "plugins: [./checks/ssh-audit.wasm, " +
      dir_.path() +
      "/abs.wasm]\n"
      "controls:\n"
      "  items:\n"
      "    - id: a\n"
      "      observations:\n"
      "        - plugin: ssh-audit\n"
      "        - plugin: ./checks/ssh-audit.wasm\n"
      "        - plugin: abs\n";
  auto p = Parse(text);
  ASSERT_TRUE(p) << p.error().message;
  ASSERT_EQ(p->plugins.size(), 2u);
  EXPECT_EQ(p->plugins[0].name, "ssh-audit");
  EXPECT_EQ(p->plugins[1].name, "abs");
  EXPECT_EQ(p->controls[0].observations[0].plugin, "ssh-audit");
  EXPECT_EQ(p->controls[0].observations[1].plugin, "ssh-audit");
  EXPECT_EQ(p->controls[0].observations[2].plugin, "abs");

  // The same profile text loaded against another directory does not find the file.
  auto elsewhere = parse_profile(text, kFile, "/nonexistent-dir");
  ASSERT_FALSE(elsewhere);
  EXPECT_THAT(elsewhere.error().message,
              StartsWith(location_of(kFile, text, "./checks/ssh-audit.wasm") + ": plugin file "));
  EXPECT_THAT(elsewhere.error().message, HasSubstr("does not exist"));
}

TEST_F(ProfileTest, VariableOverridesAreTypedAndNested) {
  const std::string text =
      "profile: {name: p}\n"
      "vars: {demo: {port: 1, host: h}}\n"
      "controls:\n"
      "  items:\n"
      "    - id: a\n"
      "      observations:\n"
      "        - plugin: tcp\n"
      "          config: {host: '{{ .vars.demo.host }}', port: '{{ .vars.demo.port }}',\n"
      "                   extra: '{{ .vars.new.deep }}', text: '{{ .vars.text }}'}\n";
  auto p = Parse(text, {{"demo.port", "8080"},
                        {"new.deep", "true"},
                        {"text", "'8080'"},
                        {"demo.port", "9090"}});  // the last one wins
  ASSERT_TRUE(p) << p.error().message;
  const json& config = p->controls[0].observations[0].config;
  EXPECT_EQ(config["host"], "h");  // untouched siblings stay
  EXPECT_EQ(config["port"], 9090);
  EXPECT_EQ(config["extra"], true);
  EXPECT_EQ(config["text"], "8080");  // quoted on the command line: a string
  EXPECT_EQ(p->vars["demo"]["port"], 9090);

  auto bad = Parse(text, {{"demo..port", "1"}});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("--var demo..port: empty name segment"));
}

TEST_F(ProfileTest, LoadProfileReadsTheFileAndResolvesAgainstItsDirectory) {
  dir_.write("sub/plugins/x.wasm", "x");
  const std::string path =
      dir_.write("sub/profile.yaml",
                 "profile: {name: from-file}\n"
                 "plugins: [plugins/x.wasm]\n"
                 "controls: {items: [{id: a, observations: [{plugin: x}]}]}\n");
  auto p = load_profile(path);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->name, "from-file");
  EXPECT_EQ(p->path, std::filesystem::path(path));
  EXPECT_EQ(p->base_dir, std::filesystem::path(dir_.path()) / "sub");

  auto missing = load_profile(dir_ / "nope.yaml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_THAT(missing.error().message, HasSubstr("nope.yaml"));

  // Errors of a loaded file name the path as given.
  const std::string bad = dir_.write("bad.yaml", "profile: {name: p}\nbogus: 1\n");
  auto error = load_profile(bad);
  ASSERT_FALSE(error);
  EXPECT_THAT(error.error().message, StartsWith(bad + ":2:1: unknown key \"bogus\""));
}

TEST_F(ProfileTest, GrantsFile) {
  const std::string good = dir_.write("grants.yaml",
                                      "grants:\n"
                                      "  file: [\"fs:read:/etc/**\"]\n"
                                      "  command: exec:/usr/bin/id\n");
  auto grants = load_grants_file(good);
  ASSERT_TRUE(grants) << grants.error().message;
  EXPECT_THAT(grants->at("file"), ElementsAre("fs:read:/etc/**"));
  EXPECT_THAT(grants->at("command"), ElementsAre("exec:/usr/bin/id"));

  for (const char* content : {"{}\n", "", "# no grants yet\n", "grants:\n"}) {
    const std::string empty = dir_.write("empty.yaml", content);
    auto none = load_grants_file(empty);
    ASSERT_TRUE(none) << "'" << content << "': " << none.error().message;
    EXPECT_TRUE(none->empty());
  }

  const std::string twice =
      dir_.write("twice.yaml", "grants:\n  env: [\"env:A\"]\n  env: [\"env:B\"]\n");
  auto e0 = load_grants_file(twice);
  ASSERT_FALSE(e0);
  EXPECT_THAT(e0.error().message, StartsWith(twice + ":3:3: duplicate key \"env\""));

  const std::string unknown = dir_.write("unknown.yaml", "grants: {}\nextra: 1\n");
  auto e1 = load_grants_file(unknown);
  ASSERT_FALSE(e1);
  EXPECT_THAT(e1.error().message, StartsWith(unknown + ":2:1: unknown key \"extra\""));

  const std::string badcap = dir_.write("badcap.yaml", "grants:\n  file: [\"fs:bogus:/x\"]\n");
  auto e2 = load_grants_file(badcap);
  ASSERT_FALSE(e2);
  EXPECT_THAT(e2.error().message, StartsWith(badcap + ":2:10: "));

  const std::string badyaml = dir_.write("badyaml.yaml", "grants: {file: [x\n");
  auto e3 = load_grants_file(badyaml);
  ASSERT_FALSE(e3);
  EXPECT_THAT(e3.error().message, StartsWith(badyaml + ":"));
  EXPECT_THAT(e3.error().message, HasSubstr("invalid YAML"));

  auto e4 = load_grants_file(dir_ / "missing.yaml");
  ASSERT_FALSE(e4);
  EXPECT_EQ(e4.error().code, ErrorCode::not_found);
}

// ---- every error ----------------------------------------------------------------------------

TEST_F(ProfileTest, BadYamlNamesLineAndColumn) {
  const std::string text = "profile: {name: p}\ncontrols: a: b\n";
  EXPECT_THAT(ErrorOf(text),
              StartsWith(location_of(kFile, text, ": b") + ": invalid YAML: illegal map value"));
  // An unterminated flow collection: yaml-cpp notices at the end of the input.
  EXPECT_THAT(ErrorOf("profile: {name: p\n"), StartsWith("p.yaml:2:1: invalid YAML: "));
  // A tab used for indentation: yaml-cpp notices at the colon.
  const std::string tab = "profile:\n\tname: p\n";
  EXPECT_THAT(ErrorOf(tab), StartsWith(location_of(kFile, tab, ": p") + ": invalid YAML: "));
}

TEST_F(ProfileTest, EmptyOrNonMappingProfile) {
  EXPECT_EQ(ErrorOf(""), "p.yaml:1:1: the profile is empty");
  EXPECT_EQ(ErrorOf("# nothing but a comment\n"), "p.yaml:1:1: the profile is empty");
  EXPECT_THAT(ErrorOf("- a\n- b\n"), StartsWith("p.yaml:1:1: a profile must be a mapping"));
}

TEST_F(ProfileTest, UnknownKeyAtEveryLevel) {
  ExpectErrorAt("profile: {name: p}\nbogus: 1\ncontrols: {items: []}\n", "bogus",
                "unknown key \"bogus\" in the profile (expected profile, plugins, vars, grants, "
                "controls)");
  ExpectErrorAt("profile: {name: p, titel: x}\ncontrols: {items: []}\n", "titel",
                "unknown key \"titel\" in profile (expected name, version, description)");
  ExpectErrorAt("profile: {name: p}\ncontrols: {itemz: [], items: []}\n", "itemz",
                "unknown key \"itemz\" in controls");
  ExpectErrorAt(
      "profile: {name: p}\ncontrols:\n  defaults: {severity: low, colour: red}\n"
      "  items: []\n",
      "colour", "unknown key \"colour\" in controls.defaults");
  ExpectErrorAt(WithControl("id: a\n      severty: high\n      observations: []\n"), "severty",
                "unknown key \"severty\" in a control");
  ExpectErrorAt(WithControl("id: a\n      observations:\n        - plugin: env\n"
                            "          confg: {name: X}\n"),
                "confg",
                "unknown key \"confg\" in an observation (expected plugin, config, expect, loop)");
}

TEST_F(ProfileTest, DuplicateKeys) {
  // yaml-cpp would keep the first and ignore the second silently.
  const std::string text = WithControl(
      "id: a\n      name: first\n      name: second\n"
      "      observations: [{plugin: env, config: {name: X}}]\n");
  ExpectErrorAt(
      text, "name: second",
      "duplicate key \"name\" (first at " + location_of(kFile, text, "name: first") + ")");
  const std::string config =
      WithControl("id: a\n      observations: [{plugin: env, config: {name: X, name: Y}}]\n");
  ExpectErrorAt(config, "name: Y", "duplicate key \"name\"");
}

TEST_F(ProfileTest, WrongTypes) {
  const std::string obs = "\n      observations: [{plugin: env, config: {name: X}}]\n";
  ExpectErrorAt("profile: [x]\ncontrols: {items: []}\n", "[x]", "profile must be a mapping");
  ExpectErrorAt("profile: {name: [a]}\ncontrols: {items: []}\n", "[a]",
                "profile.name must be a string");
  ExpectErrorAt("profile: {name: p, version: {a: 1}}\ncontrols: {items: []}\n", "{a: 1}",
                "profile.version must be a string");
  ExpectErrorAt("profile: {name: p}\nplugins: env\ncontrols: {items: []}\n", "env",
                "plugins must be a list");
  ExpectErrorAt("profile: {name: p}\nplugins: [file, {a: b}]\ncontrols: {items: []}\n", "{a: b}",
                "a plugin is a built-in name or a .wasm path");
  ExpectErrorAt("profile: {name: p}\nvars: [1, 2]\ncontrols: {items: []}\n", "[1, 2]",
                "vars must be a mapping");
  ExpectErrorAt("profile: {name: p}\ngrants: [a]\ncontrols: {items: []}\n", "[a]",
                "grants must map plugin names to lists of capabilities");
  ExpectErrorAt("profile: {name: p}\ngrants: {file: {a: b}}\ncontrols: {items: []}\n", "{a: b}",
                "grants.file must be a list of strings");
  ExpectErrorAt("profile: {name: p}\ncontrols: [a]\n", "[a]", "controls must be a mapping");
  ExpectErrorAt("profile: {name: p}\ncontrols: {items: {a: b}}\n", "{a: b}",
                "controls.items must be a list");
  ExpectErrorAt("profile: {name: p}\ncontrols: {defaults: [x], items: []}\n", "[x]",
                "controls.defaults must be a mapping");
  ExpectErrorAt("profile: {name: p}\ncontrols: {defaults: {tags: {a: b}}, items: []}\n", "{a: b}",
                "tags must be a list of strings");
  ExpectErrorAt("profile: {name: p}\ncontrols: {defaults: {owner: [x]}, items: []}\n", "[x]",
                "owner must be a string");
  ExpectErrorAt("profile: {name: p}\ncontrols: {items: [just-a-string]}\n", "just-a-string",
                "a control must be a mapping");
  ExpectErrorAt(WithControl("id: [a]" + obs), "[a]", "id must be a string");
  ExpectErrorAt(WithControl("id: a\n      name: [x]" + obs), "[x]", "name must be a string");
  ExpectErrorAt(WithControl("id: a\n      description: {x: 1}" + obs), "{x: 1}",
                "description must be a string");
  ExpectErrorAt(WithControl("id: a\n      owner: [x]" + obs), "[x]", "owner must be a string");
  ExpectErrorAt(WithControl("id: a\n      tags: [ok, {a: b}]" + obs), "{a: b}",
                "tags must be a list of strings");
  ExpectErrorAt(WithControl("id: a\n      depends_on: {a: b}" + obs), "{a: b}",
                "depends_on must be a list of strings");
  ExpectErrorAt(WithControl("id: a\n      severity: [high]" + obs), "[high]",
                "severity must be low, medium, high or critical");
  ExpectErrorAt(WithControl("id: a\n      timeout: [1s]" + obs), "[1s]",
                "timeout must be a duration like 30s");
  ExpectErrorAt(WithControl("id: a\n      observations: {plugin: env}\n"), "{plugin: env}",
                "observations of control a must be a non-empty list");
  ExpectErrorAt(WithControl("id: a\n      observations: []\n"), "[]",
                "observations of control a must be a non-empty list");
  ExpectErrorAt(WithControl("id: a\n      observations: [just-a-string]\n"), "just-a-string",
                "an observation must be a mapping");
  ExpectErrorAt(WithControl("id: a\n      observations: [{plugin: [env]}]\n"), "[env]",
                "plugin must be a string");
  ExpectErrorAt(WithControl("id: a\n      observations: [{plugin: env, config: [1]}]\n"), "[1]",
                "config must be a mapping");
  ExpectErrorAt(WithControl("id: a\n      observations: [{plugin: env, config: plain}]\n"), "plain",
                "config must be a mapping");
  ExpectErrorAt(WithControl("id: a\n      observations: [{plugin: env, expect: {a: b}}]\n"),
                "{a: b}", "expect must be a list of expressions");
  ExpectErrorAt(WithControl("id: a\n      observations: [{plugin: env, expect: [ok, [x]]}]\n"),
                "[x]", "an expectation is an expression string");
}

TEST_F(ProfileTest, MissingRequiredKeys) {
  EXPECT_THAT(ErrorOf("controls: {items: []}\n"), StartsWith("p.yaml:1:1: missing profile:"));
  ExpectErrorAt("profile: {version: 1}\ncontrols: {items: []}\n", "{version",
                "profile.name is required");
  ExpectErrorAt("profile: {name: ''}\ncontrols: {items: []}\n", "{name",
                "profile.name is required");
  EXPECT_THAT(ErrorOf("profile: {name: p}\n"), StartsWith("p.yaml:1:1: missing controls:"));
  ExpectErrorAt("profile: {name: p}\ncontrols: {defaults: {}}\n", "{defaults",
                "missing controls.items");
  ExpectErrorAt(WithControl("name: no id\n      observations: [{plugin: env}]\n"), "name: no id",
                "a control needs an id");
  ExpectErrorAt(WithControl("id: lonely\n"), "id: lonely", "control lonely needs observations:");
  ExpectErrorAt(WithControl("id: a\n      observations: [{config: {name: X}}]\n"), "{config",
                "an observation needs a plugin");
}

TEST_F(ProfileTest, UnknownPlugins) {
  ExpectErrorAt("profile: {name: p}\nplugins: [file, nope]\ncontrols: {items: []}\n", "nope",
                "unknown plugin \"nope\" (built-in plugins: ");
  ExpectErrorAt(WithControl("id: a\n      observations:\n        - plugin: nope\n"), "nope",
                "unknown plugin \"nope\"");
  ExpectErrorAt("profile: {name: p}\nplugins: [missing.wasm]\ncontrols: {items: []}\n",
                "missing.wasm", "plugin file " + dir_.path() + "/missing.wasm does not exist");
  ExpectErrorAt("profile: {name: p}\nplugins: [file, file]\ncontrols: {items: []}\n", "file]",
                "plugin \"file\" is listed twice");
}

TEST_F(ProfileTest, GrantsForAnUnknownPlugin) {
  ExpectErrorAt(
      "profile: {name: p}\ngrants:\n  file: [\"fs:read:/x\"]\n  fille: [\"fs:read:/y\"]\n"
      "controls: {items: []}\n",
      "fille", "grants for unknown plugin \"fille\"");
  // A listed plugin file's name is known.
  dir_.write("custom.wasm", "x");
  auto p = Parse(
      "profile: {name: p}\nplugins: [custom.wasm]\ngrants: {custom: [\"env:A\"]}\n"
      "controls: {items: []}\n");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_THAT(p->grants.at("custom"), ElementsAre("env:A"));
}

TEST_F(ProfileTest, UnlistedPluginFile) {
  dir_.write("x.wasm", "x");
  // A plugin file must be listed under plugins:, even when it exists.
  ExpectErrorAt(WithControl("id: a\n      observations:\n        - plugin: ./x.wasm\n"), "./x.wasm",
                "plugin \"./x.wasm\" is not listed under plugins:");
}

TEST_F(ProfileTest, DuplicateIds) {
  const std::string text =
      "profile: {name: p}\n"
      "controls:\n"
      "  items:\n"
      "    - id: twice\n"
      "      observations: [{plugin: env, config: {name: X}}]\n"
      "    - id: other\n"
      "      observations: [{plugin: env, config: {name: X}}]\n"
      "    - id: twice\n"
      "      observations: [{plugin: env, config: {name: X}}]\n";
  ExpectErrorAt(
      text, "twice",
      "duplicate control id \"twice\" (first at " + location_of(kFile, text, "id: twice") + ")", 1);
}

TEST_F(ProfileTest, BadControlId) {
  ExpectErrorAt(WithControl("id: \"has space\"\n      observations: [{plugin: env}]\n"),
                "\"has space\"", "control id \"has space\" must start with a letter or digit");
}

TEST_F(ProfileTest, UnknownDependency) {
  const std::string text = WithControl(
      "id: a\n      depends_on: [b-missing-not, ghost]\n"
      "      observations: [{plugin: env, config: {name: X}}]\n");
  ExpectErrorAt(text, "b-missing-not", "control a depends on unknown control \"b-missing-not\"");
  const std::string single = WithControl(
      "id: a\n      depends_on: ghost\n      observations: [{plugin: env, config: {name: X}}]\n");
  ExpectErrorAt(single, "ghost", "depends on unknown control \"ghost\"");
}

TEST_F(ProfileTest, DependencyCycleReportsItsPath) {
  const std::string text =
      "profile: {name: p}\n"
      "controls:\n"
      "  items:\n"
      "    - {id: alpha, depends_on: [beta], observations: [{plugin: env}]}\n"
      "    - {id: beta, depends_on: [gamma], observations: [{plugin: env}]}\n"
      "    - {id: gamma, depends_on: [ok, alpha], observations: [{plugin: env}]}\n"
      "    - {id: ok, observations: [{plugin: env}]}\n";
  ExpectErrorAt(text, "alpha]", "dependency cycle: alpha -> beta -> gamma -> alpha");

  const std::string self = WithControl(
      "id: narcissus\n      depends_on: [narcissus]\n"
      "      observations: [{plugin: env}]\n");
  ExpectErrorAt(self, "narcissus]", "dependency cycle: narcissus -> narcissus");
}

TEST_F(ProfileTest, BadDurations) {
  const std::string obs = "\n      observations: [{plugin: env}]\n";
  ExpectErrorAt(WithControl("id: a\n      timeout: 10x" + obs), "10x",
                "invalid duration \"10x\": unknown unit");
  ExpectErrorAt(WithControl("id: a\n      timeout: soon" + obs), "soon",
                "invalid duration \"soon\"");
  ExpectErrorAt(WithControl("id: a\n      timeout: -5s" + obs), "-5s", "invalid duration \"-5s\"");
  ExpectErrorAt(WithControl("id: a\n      timeout: 0s" + obs), "0s", "timeout must be positive");
  ExpectErrorAt("profile: {name: p}\ncontrols: {defaults: {timeout: 3 days}, items: []}\n",
                "3 days", "invalid duration \"3 days\"");
}

TEST_F(ProfileTest, BadSeverities) {
  ExpectErrorAt(WithControl("id: a\n      severity: urgent\n      observations: [{plugin: env}]\n"),
                "urgent", "unknown severity \"urgent\" (expected low, medium, high or critical)");
  ExpectErrorAt("profile: {name: p}\ncontrols: {defaults: {severity: High}, items: []}\n", "High",
                "unknown severity \"High\"");
}

TEST_F(ProfileTest, ExpectationParseErrorPointsAtItsColumn) {
  // Plain scalar: the location is the offending token's column in the file.
  const std::string plain = WithControl(
      "id: a\n      observations:\n        - plugin: env\n"
      "          expect:\n            - data.found == true\n"
      "            - data.value == == 1\n");
  const std::string message = ErrorOf(plain);
  EXPECT_THAT(message, StartsWith(location_of(kFile, plain, "== 1") +
                                  ": in expectation \"data.value == == 1\": column 15: "));

  // Double-quoted scalar (the quote is skipped).
  const std::string quoted = WithControl(
      "id: a\n      observations:\n        - plugin: env\n"
      "          expect: [\"data.x in [1 2]\"]\n");
  EXPECT_THAT(ErrorOf(quoted), StartsWith(location_of(kFile, quoted, "2]") +
                                          ": in expectation \"data.x in [1 2]\": column 14: "));

  // A single string under expect:.
  const std::string single = WithControl(
      "id: a\n      observations:\n        - plugin: env\n"
      "          expect: len(data.x\n");
  // The error is at the end of the expression, one column past its last character.
  EXPECT_THAT(ErrorOf(single), StartsWith(location_of(kFile, single, "len(data.x", 0, 10) +
                                          ": in expectation \"len(data.x\": column 11: "));

  // A block scalar: the expression's text is not on the mark's line, so the location is the
  // scalar's and the message keeps the column within the expression.
  const std::string block = WithControl(
      "id: a\n      observations:\n        - plugin: env\n"
      "          expect:\n            - >-\n              data.x == == 1\n");
  EXPECT_THAT(ErrorOf(block), StartsWith(location_of(kFile, block, ">-") +
                                         ": in expectation \"data.x == == 1\": column 11: "));
}

TEST_F(ProfileTest, UndefinedVariables) {
  const std::string text = WithControl(
      "id: a\n      observations:\n        - plugin: file\n"
      "          config:\n            path: /x\n            other: \"{{ .vars.nope }}\"\n");
  ExpectErrorAt(text, "\"{{ .vars.nope", "undefined variable .vars.nope");

  const std::string nested =
      "profile: {name: p}\nvars: {ssh: {port: 22}}\ncontrols:\n  items:\n    - id: a\n"
      "      observations:\n        - plugin: file\n"
      "          config: {path: \"/etc/{{ .vars.ssh.config }}\"}\n";
  ExpectErrorAt(nested, "\"/etc/", "undefined variable .vars.ssh.config");

  const std::string through_scalar =
      "profile: {name: p}\nvars: {ssh: {port: 22}}\ncontrols:\n  items:\n    - id: a\n"
      "      observations:\n        - plugin: file\n"
      "          config: {list: [ok, \"{{ .vars.ssh.port.x }}\"]}\n";
  ExpectErrorAt(through_scalar, "\"{{ .vars.ssh.port.x", "undefined variable .vars.ssh.port.x");

  const std::string other_template = WithControl(
      "id: a\n      observations:\n        - plugin: file\n"
      "          config: {path: \"{{ .env.HOME }}\"}\n");
  ExpectErrorAt(other_template, "\"{{ .env", "unknown template name .env in {{ .env.HOME }}");
}

TEST_F(ProfileTest, BadGrantCapability) {
  const std::string text =
      "profile: {name: p}\n"
      "grants:\n"
      "  file: [\"fs:read:/etc/**\", \"fs:bogus:/x\"]\n"
      "controls: {items: []}\n";
  const std::string message = ErrorOf(text);
  EXPECT_THAT(message, StartsWith(location_of(kFile, text, "\"fs:bogus") + ": "));
  EXPECT_THAT(message, HasSubstr("fs:bogus:/x"));
  ExpectErrorAt("profile: {name: p}\ngrants: {env: \"nokind\"}\ncontrols: {items: []}\n",
                "\"nokind\"", "nokind");
}

// ---- loops, templates, retries ----------------------------------------------------------------

TEST_F(ProfileTest, LoopExpandsAnObservationPerItem) {
  auto profile = Parse(
      "profile: {name: p}\n"
      "vars: {files: [/etc/hostname, /etc/hosts]}\n"
      "controls:\n"
      "  items:\n"
      "    - id: files\n"
      "      observations:\n"
      "        - plugin: file\n"
      "          loop: {items: '{{ .vars.files }}', as: f}\n"
      "          config: {path: '{{ .f }}', index: '{{ .loop.index }}'}\n"
      "          expect: ['data.path == \"{{ .loop.item }}\"']\n"
      "        - plugin: env\n"
      "          loop: {items: [HOME, USER]}\n"
      "          config: {name: '{{ .loop.item }}'}\n");
  ASSERT_TRUE(profile) << profile.error().message;
  const auto& observations = profile->controls.at(0).observations;
  ASSERT_EQ(observations.size(), 4u);
  EXPECT_EQ(observations[0].config["path"], "/etc/hostname");
  EXPECT_EQ(observations[0].config["index"], 0);  // a whole template keeps the value's type
  EXPECT_EQ(observations[1].config["path"], "/etc/hosts");
  EXPECT_EQ(observations[1].config["index"], 1);
  ASSERT_EQ(observations[1].expect.size(), 1u);
  EXPECT_EQ(observations[1].expect[0].expression.source(), "data.path == \"/etc/hosts\"");
  EXPECT_EQ(observations[2].config["name"], "HOME");
  EXPECT_EQ(observations[3].config["name"], "USER");
}

TEST_F(ProfileTest, LoopErrors) {
  auto with_loop = [](const std::string& loop) {
    return WithControl(
        "id: a\n"
        "      observations:\n"
        "        - plugin: env\n"
        "          loop: " + loop + "\n"
        "          config: {name: X}\n");
  };
  EXPECT_THAT(ErrorOf(with_loop("{items: 3}")), HasSubstr("loop items must be a list"));
  EXPECT_THAT(ErrorOf(with_loop("{as: x}")), HasSubstr("a loop needs items:"));
  EXPECT_THAT(ErrorOf(with_loop("{items: [a], as: vars}")),
              HasSubstr("loop variable must be a name other than vars and loop"));
  EXPECT_THAT(ErrorOf(with_loop("{items: [a], when: x}")), HasSubstr("unknown key \"when\""));
}

TEST_F(ProfileTest, TemplatesInTextFields) {
  auto profile = Parse(
      "profile: {name: p}\n"
      "vars: {team: platform, svc: {name: sshd}}\n"
      "controls:\n"
      "  items:\n"
      "    - id: a\n"
      "      name: '{{ .vars.svc.name }} is configured'\n"
      "      description: 'owned by {{ .vars.team }}'\n"
      "      owner: '{{ .vars.team }}'\n"
      "      tags: ['{{ .vars.svc.name }}']\n"
      "      observations: [{plugin: env, config: {name: X}}]\n");
  ASSERT_TRUE(profile) << profile.error().message;
  const Control& c = profile->controls.at(0);
  EXPECT_EQ(c.name, "sshd is configured");
  EXPECT_EQ(c.description, "owned by platform");
  EXPECT_EQ(c.owner, "platform");
  EXPECT_THAT(c.tags, ElementsAre("sshd"));
}

TEST_F(ProfileTest, RetrySettingsAndTheirDefaults) {
  auto profile = Parse(
      "profile: {name: p}\n"
      "controls:\n"
      "  defaults: {retries: 2, retry_delay: 100ms, retry_backoff: exponential,"
      " retry_max_delay: 300ms}\n"
      "  items:\n"
      "    - id: inherits\n"
      "      observations: [{plugin: env, config: {name: X}}]\n"
      "    - id: own\n"
      "      retries: 5\n"
      "      retry_delay: 1s\n"
      "      retry_backoff: linear\n"
      "      retry_max_delay: 10s\n"  // replaces the default's 300ms
      "      observations: [{plugin: env, config: {name: X}}]\n");
  ASSERT_TRUE(profile) << profile.error().message;
  const RetryPolicy& inherited = profile->controls.at(0).retry;
  EXPECT_EQ(inherited.retries, 2);
  EXPECT_EQ(inherited.backoff, RetryPolicy::Backoff::exponential);
  EXPECT_EQ(inherited.wait_before(2), 100ms);
  EXPECT_EQ(inherited.wait_before(3), 200ms);
  EXPECT_EQ(inherited.wait_before(4), 300ms);  // capped by retry_max_delay
  const RetryPolicy& own = profile->controls.at(1).retry;
  EXPECT_EQ(own.retries, 5);
  EXPECT_EQ(own.wait_before(2), 1s);
  EXPECT_EQ(own.wait_before(4), 3s);  // linear: delay times the retry number

  EXPECT_THAT(ErrorOf(WithControl("id: a\n      retries: -1\n"
                                  "      observations: [{plugin: env, config: {name: X}}]\n")),
              HasSubstr("retries must be a whole number from 0 to 100"));
  EXPECT_THAT(ErrorOf(WithControl("id: a\n      retry_backoff: random\n"
                                  "      observations: [{plugin: env, config: {name: X}}]\n")),
              HasSubstr("retry_backoff must be none, linear or exponential"));
  ExpectErrorAt(WithControl("id: a\n      retry_delay: soon\n"
                            "      observations: [{plugin: env, config: {name: X}}]\n"),
                "soon", "soon");
}

}  // namespace
}  // namespace reglet::check
