// Tests of the `reglet check` report renderers (src/check/report.h).
//
// Golden files: tests/report/golden/ holds the expected output of every format for the sample run
// built in sample_run() (fixed timestamps and durations, so the output is deterministic). After
// an intended change of a format, regenerate them and review the diff:
//
//     REGLET_UPDATE_GOLDEN=1 build/tests/report/test-report
//     git diff tests/report/golden
//
// With REGLET_UPDATE_GOLDEN=1 the golden tests write the files instead of comparing (and pass).
#include "check/report.h"

#include <expat.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace reglet::check {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// ---- the sample run -----------------------------------------------------------------------------

std::chrono::system_clock::time_point at(std::chrono::milliseconds offset) {
  using namespace std::chrono;
  return sys_days{year{2024} / May / 1} + 12h + 250ms + offset;
}

Evidence evidence(bool status, json data, std::chrono::milliseconds offset) {
  Evidence out;
  out.status = status;
  out.data = std::move(data);
  out.timestamp = at(offset);
  return out;
}

ExpectationResult expectation(std::string expression, bool passed, std::string error = "") {
  return ExpectationResult{std::move(expression), passed, std::move(error)};
}

// The control with every awkward character: < > & " ' a control character (U+0001), an escape
// sequence, non-ASCII and wide characters.
const char* const kWeirdName = "Ünïcödé ✓ 日本語 <tag> & \"quotes\" 'apos' \x01 end";
const char* const kWeirdMessage = "bad <value> & \"stuff\" 'x' \x07\n\tsecond line";

RunResult sample_run() {
  RunResult run;
  run.profile_name = "linux-baseline";
  run.profile_version = "1.2.0";
  run.profile_description = "Baseline <hardening> & \"checks\"";
  run.profile_path = "profiles/linux baseline.yaml";
  run.reglet_version = "0.1.0";
  run.started = at(0ms);
  run.duration = 1234ms;

  {  // pass
    ControlResult control;
    control.id = "ssh-config-exists";
    control.name = "SSH configuration file exists";
    control.description = "The SSH daemon has a configuration file.";
    control.severity = Severity::critical;
    control.owner = "secops";
    control.tags = {"ssh", "baseline"};
    control.status = Status::pass;
    control.duration = 12ms;
    ObservationResult observation;
    observation.plugin = "file";
    observation.config = {{"path", "/etc/ssh/sshd_config"}};
    observation.status = Status::pass;
    observation.evidence =
        evidence(true, {{"exists", true}, {"mode", "0600"}, {"size", 3250}}, 10ms);
    observation.expectations = {expectation("data.exists == true", true)};
    observation.duration = 11ms;
    control.observations.push_back(std::move(observation));
    run.controls.push_back(std::move(control));
  }
  {  // fail: two false expectations, with evidence
    ControlResult control;
    control.id = "ssh-root-login";
    control.name = "Root login is disabled";
    control.description = "PermitRootLogin is no.";
    control.severity = Severity::high;
    control.owner = "secops";
    control.tags = {"ssh"};
    control.status = Status::fail;
    control.message = "2 expectations failed";
    control.duration = 25ms;
    ObservationResult observation;
    observation.plugin = "file";
    observation.config = {{"path", "/etc/ssh/sshd_config"}, {"read_content", true}};
    observation.status = Status::fail;
    observation.evidence = evidence(
        true, {{"content", "Port 22\nPermitRootLogin yes\n"}, {"mode", "0644"}, {"exists", true}},
        30ms);
    observation.expectations = {
        expectation("data.mode == \"0600\" // owner only", false),
        expectation("content contains \"PermitRootLogin no\"", false),
        expectation("len(content) > 0 && data.missing == nil", true),
    };
    observation.duration = 24ms;
    control.observations.push_back(std::move(observation));
    run.controls.push_back(std::move(control));
  }
  {  // error: host error code
    ControlResult control;
    control.id = "pkg-updates";
    control.name = "Security updates are installed";
    control.severity = Severity::medium;
    control.tags = {"packages"};
    control.status = Status::error;
    control.duration = 30001ms;
    ObservationResult observation;
    observation.plugin = "command";
    observation.config = {{"command", "apt-get -s upgrade"}};
    observation.status = Status::error;
    observation.error = make_error(ErrorCode::timeout, "plugin call exceeded 30s \x1b[2J");
    observation.duration = 30000ms;
    control.observations.push_back(std::move(observation));
    run.controls.push_back(std::move(control));
  }
  {  // skipped, with a name too long for one line
    ControlResult control;
    control.id = "ssh-ciphers";
    control.name =
        "Only strong ciphers, MACs and key exchange algorithms are offered by the SSH daemon";
    control.severity = Severity::low;
    control.status = Status::skipped;
    control.message = "dependency ssh-root-login did not pass";
    run.controls.push_back(std::move(control));
  }
  {  // fail: the plugin's own verdict, no expectations, no message
    ControlResult control;
    control.id = "ntp-synced";
    control.name = "Clock is synchronised";
    control.severity = Severity::medium;
    control.status = Status::fail;
    control.duration = 3ms;
    ObservationResult observation;
    observation.plugin = "ntp";
    observation.status = Status::fail;
    observation.evidence =
        evidence(false, {{"offset_ms", 2150.5}, {"server", "pool.ntp.org"}}, 5ms);
    observation.duration = 3ms;
    control.observations.push_back(std::move(observation));
    run.controls.push_back(std::move(control));
  }
  {  // error: an expectation that could not be evaluated; special characters everywhere
    ControlResult control;
    control.id = "weird-<&>";
    control.name = kWeirdName;
    control.description = "Tests \"escaping\" & <friends>";
    control.severity = Severity::low;
    control.owner = "Zoë <zoe@example.com>";
    control.tags = {"ü", "a&b"};
    control.status = Status::error;
    control.message = kWeirdMessage;
    control.duration = 7ms;
    ObservationResult first;
    first.plugin = "command";
    first.config = {{"command", "echo '<hi>'"}};
    first.status = Status::pass;
    first.evidence = evidence(true, {{"stdout", "<hi>\n"}, {"exit_code", 0}}, 1ms);
    first.expectations = {expectation("exit_code == 0", true)};
    first.duration = 2ms;
    ObservationResult second;
    second.plugin = "file";
    second.config = {{"path", "/tmp/x & y"}};
    second.status = Status::error;
    second.evidence = evidence(true,
                               {{"key<>", "val\x01ue"},
                                {"emoji", "🙂"},
                                {"num", 0.1},
                                {"big", 18446744073709551615ULL},
                                {"neg", -5},
                                {"nothing", nullptr},
                                {"yes", "yes"},
                                {"octal", "0600"},
                                {"empty", ""},
                                {"nested", {{"list", {1, "two", false}}, {"obj", json::object()}}}},
                               3ms);
    second.expectations = {
        expectation("data.octal > 5", false, "column 12: cannot compare string with int using '>'"),
    };
    second.duration = 4ms;
    control.observations.push_back(std::move(first));
    control.observations.push_back(std::move(second));
    run.controls.push_back(std::move(control));
  }
  run.summary = summarize(run.controls);
  return run;
}

// ---- helpers -----------------------------------------------------------------------------------

std::string golden_path(const std::string& name) {
  return std::string(REGLET_TEST_DATA_DIR) + "/golden/" + name;
}

bool updating_goldens() {
  const char* value = std::getenv("REGLET_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = golden_path(name);
  if (updating_goldens()) {
    std::ofstream out(path, std::ios::binary);
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing golden file " << path
                         << " (run with REGLET_UPDATE_GOLDEN=1 to create it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "output differs from " << path << " (REGLET_UPDATE_GOLDEN=1 regenerates it)";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Terminal columns of UTF-8 text (enough for the characters used here).
size_t columns(const std::string& text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    char32_t cp = byte;
    size_t length = 1;
    if (byte >= 0xF0) {
      length = 4;
      cp = byte & 0x07;
    } else if (byte >= 0xE0) {
      length = 3;
      cp = byte & 0x0F;
    } else if (byte >= 0xC0) {
      length = 2;
      cp = byte & 0x1F;
    }
    for (size_t k = 1; k < length && i + k < text.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    i += length;
    width += ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x1F300 && cp <= 0x1F64F)) ? 2 : 1;
  }
  return width;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- a small DOM over expat -------------------------------------------------------------------

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<std::unique_ptr<XmlElement>> children;
  std::string text;

  std::vector<const XmlElement*> all(std::string_view child_name) const {
    std::vector<const XmlElement*> out;
    for (const auto& child : children) {
      if (child->name == child_name) out.push_back(child.get());
    }
    return out;
  }
  const XmlElement* child(std::string_view child_name) const {
    auto matches = all(child_name);
    return matches.size() == 1 ? matches.front() : nullptr;
  }
  std::string attribute(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? std::string("<absent>") : it->second;
  }
};

struct XmlDocument {
  std::unique_ptr<XmlElement> root;
  std::string error;
};

struct XmlBuilder {
  std::unique_ptr<XmlElement> root;
  std::vector<XmlElement*> open;  // non-owning: the elements being built
};

XmlDocument parse_xml(const std::string& text) {
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(XML_ParserCreate("UTF-8"),
                                                                      &XML_ParserFree);
  XmlBuilder builder;
  XML_SetUserData(parser.get(), &builder);
  XML_SetElementHandler(
      parser.get(),
      [](void* data, const XML_Char* name, const XML_Char** attributes) {
        auto& b = *static_cast<XmlBuilder*>(data);
        auto element = std::make_unique<XmlElement>();
        element->name = name;
        for (size_t i = 0; attributes[i] != nullptr; i += 2) {
          element->attributes[attributes[i]] = attributes[i + 1];
        }
        XmlElement* raw = element.get();
        if (b.open.empty()) {
          b.root = std::move(element);
        } else {
          b.open.back()->children.push_back(std::move(element));
        }
        b.open.push_back(raw);
      },
      [](void* data, const XML_Char*) { static_cast<XmlBuilder*>(data)->open.pop_back(); });
  XML_SetCharacterDataHandler(parser.get(), [](void* data, const XML_Char* s, int length) {
    auto& b = *static_cast<XmlBuilder*>(data);
    if (!b.open.empty()) b.open.back()->text.append(s, static_cast<size_t>(length));
  });
  XmlDocument document;
  if (XML_Parse(parser.get(), text.data(), static_cast<int>(text.size()), 1) == XML_STATUS_ERROR) {
    document.error = std::string(XML_ErrorString(XML_GetErrorCode(parser.get()))) + " at line " +
                     std::to_string(XML_GetCurrentLineNumber(parser.get()));
    return document;
  }
  document.root = std::move(builder.root);
  return document;
}

// ---- YAML back to JSON --------------------------------------------------------------------------

// Quoted scalars are strings; plain ones resolve like the YAML 1.2 core schema.
json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return text;
      if (text == "~" || text == "null") return nullptr;
      if (text == "true") return true;
      if (text == "false") return false;
      static const std::regex kInteger("-?[0-9]+");
      static const std::regex kFloat("-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?");
      if (std::regex_match(text, kInteger)) {
        std::int64_t value = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error == std::errc() && end == text.data() + text.size()) return value;
        std::uint64_t big = 0;
        const auto unsigned_result = std::from_chars(text.data(), text.data() + text.size(), big);
        if (unsigned_result.ec == std::errc() && unsigned_result.ptr == text.data() + text.size()) {
          return big;
        }
      }
      if (std::regex_match(text, kFloat)) return std::strtod(text.c_str(), nullptr);
      return text;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& element : node) out.push_back(yaml_to_json(element));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& member : node) out[member.first.Scalar()] = yaml_to_json(member.second);
      return out;
    }
    case YAML::NodeType::Undefined:
      break;
  }
  ADD_FAILURE() << "undefined YAML node";
  return nullptr;
}

void expect_yaml_equals_json(const RunResult& run) {
  const std::string yaml = render_report(run, ReportFormat::yaml);
  const json expected = json::parse(render_report(run, ReportFormat::json));
  YAML::Node parsed;
  try {
    parsed = YAML::Load(yaml);
  } catch (const YAML::Exception& error) {
    FAIL() << "YAML does not parse: " << error.what() << "\n" << yaml;
  }
  EXPECT_EQ(yaml_to_json(parsed), expected) << yaml;
}

// ---- golden tests
// --------------------------------------------------------------------------------

TEST(ReportGolden, Table) {
  expect_golden("table.txt", render_report(sample_run(), ReportFormat::table));
}

TEST(ReportGolden, TableVerbose) {
  expect_golden("table-verbose.txt", render_report(sample_run(), ReportFormat::table,
                                                   {.color = false, .verbose = true}));
}

TEST(ReportGolden, TableColor) {
  expect_golden("table-color.txt", render_report(sample_run(), ReportFormat::table,
                                                 {.color = true, .verbose = false}));
}

TEST(ReportGolden, Json) {
  expect_golden("report.json", render_report(sample_run(), ReportFormat::json));
}

TEST(ReportGolden, Yaml) {
  expect_golden("report.yaml", render_report(sample_run(), ReportFormat::yaml));
}

TEST(ReportGolden, Junit) {
  expect_golden("report.xml", render_report(sample_run(), ReportFormat::junit));
}

TEST(ReportGolden, Sarif) {
  expect_golden("report.sarif", render_report(sample_run(), ReportFormat::sarif));
}

// ---- formats by name
// ------------------------------------------------------------------------------

TEST(ReportFormat, FromString) {
  EXPECT_EQ(report_format_from_string("table"), ReportFormat::table);
  EXPECT_EQ(report_format_from_string("json"), ReportFormat::json);
  EXPECT_EQ(report_format_from_string("yaml"), ReportFormat::yaml);
  EXPECT_EQ(report_format_from_string("junit"), ReportFormat::junit);
  EXPECT_EQ(report_format_from_string("sarif"), ReportFormat::sarif);
  EXPECT_EQ(report_format_from_string("JSON"), std::nullopt);
  EXPECT_EQ(report_format_from_string("xml"), std::nullopt);
  EXPECT_EQ(report_format_from_string(""), std::nullopt);
  for (auto format : {ReportFormat::table, ReportFormat::json, ReportFormat::yaml,
                      ReportFormat::junit, ReportFormat::sarif}) {
    EXPECT_EQ(report_format_from_string(to_string(format)), format);
  }
}

// ---- table
// ------------------------------------------------------------------------------------------

TEST(ReportTable, NoColourMeansNoEscapeBytes) {
  const std::string plain = render_report(sample_run(), ReportFormat::table);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  const std::string verbose =
      render_report(sample_run(), ReportFormat::table, {.color = false, .verbose = true});
  EXPECT_EQ(verbose.find('\x1b'), std::string::npos);
  // Nor any other control character but the line feeds.
  for (char c : plain) {
    EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << int(c);
  }
}

TEST(ReportTable, ColourUsesAnsiSequences) {
  const std::string text =
      render_report(sample_run(), ReportFormat::table, {.color = true, .verbose = false});
  EXPECT_TRUE(contains(text, "\x1b[32m✓\x1b[0m"));
  EXPECT_TRUE(contains(text, "\x1b[31m✗\x1b[0m"));
  EXPECT_TRUE(contains(text, "\x1b[33m!\x1b[0m"));
  EXPECT_TRUE(contains(text, "\x1b[90m-\x1b[0m"));
  // The escape sequence in the error message is not passed through: only SGR sequences appear.
  EXPECT_FALSE(contains(text, "\x1b[2J"));
}

TEST(ReportTable, SummaryLine) {
  const auto lines = lines_of(render_report(sample_run(), ReportFormat::table));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "6 controls: 1 passed, 2 failed, 2 errors, 1 skipped (1.23 s)");

  RunResult one;
  one.duration = 5ms;
  ControlResult control;
  control.id = "a";
  control.status = Status::error;
  one.controls.push_back(control);
  EXPECT_EQ(lines_of(render_report(one, ReportFormat::table)).back(),
            "1 control: 0 passed, 0 failed, 1 error, 0 skipped (0.01 s)");

  RunResult none;
  EXPECT_EQ(render_report(none, ReportFormat::table),
            "0 controls: 0 passed, 0 failed, 0 errors, 0 skipped (0.00 s)\n");
}

TEST(ReportTable, OneLinePerControlInProfileOrder) {
  const RunResult run = sample_run();
  const auto lines = lines_of(render_report(run, ReportFormat::table));
  std::vector<std::string> control_lines;
  for (const std::string& line : lines) {
    if (!line.empty() && line[0] != ' ' && !contains(line, "linux-baseline") &&
        !contains(line, "controls:")) {
      control_lines.push_back(line);
    }
  }
  ASSERT_EQ(control_lines.size(), run.controls.size());
  const char* const marks[] = {"✓", "✗", "!", "-", "✗", "!"};
  for (size_t i = 0; i < control_lines.size(); ++i) {
    EXPECT_EQ(control_lines[i].rfind(marks[i], 0), 0u) << control_lines[i];
    EXPECT_TRUE(contains(control_lines[i], run.controls[i].id.substr(0, 5))) << control_lines[i];
  }
  // Columns are aligned: the ids start at the same column (severity is padded to "critical").
  EXPECT_EQ(control_lines[0].find("ssh-config-exists") - control_lines[0].find("critical"), 10u);
  EXPECT_EQ(control_lines[3].find("ssh-ciphers") - control_lines[3].find("low"), 10u);
}

TEST(ReportTable, FitsEightyColumns) {
  for (const std::string& line : lines_of(render_report(sample_run(), ReportFormat::table))) {
    EXPECT_LE(columns(line), 80u) << line;
  }
  const std::string text = render_report(sample_run(), ReportFormat::table);
  EXPECT_TRUE(contains(text, "…"));  // the long name was cut
  EXPECT_FALSE(contains(text, "SSH daemon"));
}

TEST(ReportTable, WidthsComeFromContent) {
  RunResult run;
  ControlResult control;
  control.id = "a";
  control.name = "Short";
  control.severity = Severity::low;
  control.status = Status::pass;
  run.controls.push_back(control);
  const auto lines = lines_of(render_report(run, ReportFormat::table));
  ASSERT_GE(lines.size(), 1u);
  EXPECT_EQ(lines[0], "✓ low  a  Short");
}

TEST(ReportTable, FailureShowsExpectationAndEvidenceValues) {
  const std::string text = render_report(sample_run(), ReportFormat::table);
  EXPECT_TRUE(contains(text, "    failed: data.mode == \"0600\" // owner only\n"));
  EXPECT_TRUE(contains(text, "      data.mode = \"0644\"\n"));
  EXPECT_TRUE(contains(text, "    failed: content contains \"PermitRootLogin no\"\n"));
  EXPECT_TRUE(contains(text, "      content = \"Port 22\\nPermitRootLogin yes\\n\"\n"));
  // A passing expectation is not shown without verbose.
  EXPECT_FALSE(contains(text, "len(content)"));
  // The host error, with its code; the skip reason; the plugin's verdict.
  EXPECT_TRUE(contains(text, "    error: timeout: plugin call exceeded 30s"));
  EXPECT_TRUE(contains(text, "    skipped: dependency ssh-root-login did not pass\n"));
  EXPECT_TRUE(contains(text, "    failed: plugin ntp reported status false\n"));
  EXPECT_TRUE(contains(text, "file: error in data.octal > 5: column 12: cannot compare"));
}

TEST(ReportTable, VerboseShowsPassingDetails) {
  const std::string text =
      render_report(sample_run(), ReportFormat::table, {.color = false, .verbose = true});
  EXPECT_TRUE(contains(text,
                       "    file: pass (11 ms)\n      passed: data.exists == true\n"
                       "        data.exists = true\n"));
  EXPECT_TRUE(contains(text, "      passed: len(content) > 0 && data.missing == nil\n"));
  EXPECT_TRUE(contains(text, "        data.missing: not in the evidence\n"));
  // Failures are still there, one level deeper, untruncated.
  EXPECT_TRUE(contains(text, "    file: fail (24 ms)\n      failed: data.mode == \"0600\""));
  EXPECT_TRUE(contains(text, "    command: error (30000 ms)\n      error: timeout: "));
}

TEST(ReportTable, MissingNameAndUnsafeCharacters) {
  RunResult run;
  ControlResult control;
  control.id = "evil\x1b]0;title\x07";
  control.name = "bidi \u202Eevil\u202C and \x9b\xff";
  control.status = Status::skipped;
  control.message = "line one\nline two\r\x1b[31m";
  run.controls.push_back(control);
  const std::string text = render_report(run, ReportFormat::table);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_FALSE(contains(text, "\u202E")) << text;
  EXPECT_TRUE(contains(text, "skipped: line one line two �[31m")) << text;
}

TEST(ReportTable, LongMessagesWrap) {
  RunResult run;
  ControlResult control;
  control.id = "x";
  control.name = "X";
  control.status = Status::error;
  control.message = std::string(50, 'a') + " " + std::string(50, 'b') + " " + std::string(200, 'c');
  run.controls.push_back(control);
  const auto lines = lines_of(render_report(run, ReportFormat::table));
  size_t detail_lines = 0;
  for (const std::string& line : lines) {
    EXPECT_LE(columns(line), 80u) << line;
    if (line.rfind("    ", 0) == 0) ++detail_lines;
  }
  EXPECT_GE(detail_lines, 4u);
}

// ---- json
// ------------------------------------------------------------------------------------------

TEST(ReportJson, StructureAndKeyOrder) {
  const RunResult run = sample_run();
  const std::string text = render_report(run, ReportFormat::json);
  const auto document = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [key, value] : document.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"profile", "reglet_version", "started", "duration_ms",
                                            "summary", "controls"}));
  EXPECT_EQ(document["started"], "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(document["duration_ms"], 1234);
  EXPECT_EQ(document["profile"]["path"], "profiles/linux baseline.yaml");
  EXPECT_EQ(document["summary"],
            nlohmann::ordered_json::parse(
                R"({"total": 6, "passed": 1, "failed": 2, "error": 2, "skipped": 1})"));
  ASSERT_EQ(document["controls"].size(), 6u);
  keys.clear();
  for (const auto& [key, value] : document["controls"][0].items()) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"id", "name", "description", "severity", "owner", "tags",
                                      "status", "message", "duration_ms", "observations"}));
  keys.clear();
  for (const auto& [key, value] : document["controls"][0]["observations"][0].items()) {
    keys.push_back(key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"plugin", "config", "status", "evidence", "error",
                                            "expectations", "duration_ms"}));
  const auto& error_observation = document["controls"][2]["observations"][0];
  EXPECT_TRUE(error_observation["evidence"].is_null());
  EXPECT_EQ(error_observation["error"]["code"], "timeout");
  const auto& expectation = document["controls"][5]["observations"][1]["expectations"][0];
  EXPECT_EQ(expectation["error"], "column 12: cannot compare string with int using '>'");
  EXPECT_FALSE(document["controls"][0]["observations"][0]["expectations"][0].contains("error"));
  // The evidence is Evidence::to_json().
  const Evidence& evidence = *run.controls[1].observations[0].evidence;
  EXPECT_EQ(json::parse(document["controls"][1]["observations"][0]["evidence"].dump()),
            evidence.to_json());
  // Special characters survive.
  EXPECT_EQ(document["controls"][5]["name"], kWeirdName);
  EXPECT_EQ(document["controls"][5]["message"], kWeirdMessage);
  EXPECT_EQ(text.find("  \"profile\": {"), 2u);  // two-space indentation
}

TEST(ReportJson, InvalidUtf8AndDeepValuesDoNotBreakIt) {
  RunResult run;
  ControlResult control;
  control.id = "bad\xff\xfe";
  control.status = Status::fail;
  ObservationResult observation;
  observation.status = Status::fail;
  json deep = 1;
  for (int i = 0; i < 1000; ++i) deep = json::array({std::move(deep)});
  Evidence ev;
  ev.data = {{"deep", deep}, {"nan", std::nan("")}, {"key\xc3", "x"}};
  observation.evidence = ev;
  control.observations.push_back(observation);
  run.controls.push_back(control);
  for (auto format : {ReportFormat::json, ReportFormat::sarif}) {
    const std::string text = render_report(run, format);
    const json document = json::parse(text);  // throws on invalid UTF-8
    EXPECT_TRUE(contains(text, "bad\uFFFD\uFFFD"));
    EXPECT_TRUE(contains(text, "(nested too deeply)"));
  }
  expect_yaml_equals_json(run);
  const XmlDocument xml = parse_xml(render_report(run, ReportFormat::junit));
  EXPECT_EQ(xml.error, "");
  EXPECT_TRUE(contains(render_report(run, ReportFormat::table), "bad\uFFFD\uFFFD"));
}

// ---- yaml
// --------------------------------------------------------------------------------------------

TEST(ReportYaml, RoundTripsToTheJsonReport) {
  expect_yaml_equals_json(sample_run());
}

TEST(ReportYaml, EmptyRunRoundTrips) {
  expect_yaml_equals_json(RunResult{});
}

TEST(ReportYaml, AmbiguousStringsAreQuoted) {
  const std::vector<std::string> tricky = {
      "true",        "True",       "false",     "yes",         "No",
      "on",          "OFF",        "y",         "n",           "~",
      "null",        "Null",       "",          "0600",        "123",
      "-1",          "+1",         "1.5",       "1e3",         ".5",
      ".inf",        "-.inf",      ".NaN",      "0x1F",        "0o17",
      "1_000",       "2024-01-01", "12:30:00",  "<<",          "=",
      "- x",         "? x",        ": x",       "a: b",        "#x",
      "x #y",        "@x",         "`x",        "%x",          "!x",
      "*x",          "&x",         "|x",        ">x",          "{x}",
      "[x]",         "'x'",        "\"x\"",     " lead",       "trail ",
      "multi\nline", "tab\there",  "cr\rhere",  "del\x7f",     "nel\xc2\x85",
      "ls\u2028x",   "ps\u2029x",  "\uFEFFbom", "nbsp\u00a0x", "é ✓ 日本",
      "<>&\"'",      "ctl\x01\x1b"};
  RunResult run;
  ControlResult control;
  control.id = "tricky";
  control.status = Status::pass;
  ObservationResult observation;
  observation.status = Status::pass;
  Evidence ev;
  ev.data = json::object();
  json list = json::array();
  for (const std::string& s : tricky) {
    ev.data[s.empty() ? std::string("(empty)") : s] = s;  // as keys too
    list.push_back(s);
  }
  ev.data["list"] = list;
  ev.data[std::string(1200, 'k')] = "long key";
  ev.data["numbers"] = {0.1, 1e30, -2.5e-7, 0, -9223372036854775807LL, 18446744073709551615ULL};
  observation.evidence = ev;
  control.observations.push_back(observation);
  run.controls.push_back(control);
  expect_yaml_equals_json(run);

  // Every one of them is quoted, so that YAML 1.1 readers (PyYAML, Ruby) agree too.
  const YAML::Node parsed = YAML::Load(render_report(run, ReportFormat::yaml));
  const YAML::Node values = parsed["controls"][0]["observations"][0]["evidence"]["data"]["list"];
  ASSERT_EQ(values.size(), tricky.size());
  const std::set<std::string> may_be_plain = {"é ✓ 日本", "<>&\"'", "nbsp\u00a0x", "x #y",
                                              "trail "};
  for (size_t i = 0; i < tricky.size(); ++i) {
    EXPECT_EQ(values[i].Scalar(), tricky[i]);
    if (!may_be_plain.count(tricky[i])) {
      EXPECT_EQ(values[i].Tag(), "!") << "not quoted: " << tricky[i];
    }
  }
}

// ---- junit
// -------------------------------------------------------------------------------------------

TEST(ReportJunit, ParsesAndHasTheExpectedStructure) {
  const RunResult run = sample_run();
  const XmlDocument document = parse_xml(render_report(run, ReportFormat::junit));
  ASSERT_EQ(document.error, "");
  ASSERT_NE(document.root, nullptr);
  const XmlElement& suites = *document.root;
  EXPECT_EQ(suites.name, "testsuites");
  EXPECT_EQ(suites.attribute("tests"), "6");
  EXPECT_EQ(suites.attribute("failures"), "2");
  EXPECT_EQ(suites.attribute("errors"), "2");
  EXPECT_EQ(suites.attribute("skipped"), "1");
  EXPECT_EQ(suites.attribute("time"), "1.234");
  ASSERT_EQ(suites.all("testsuite").size(), 1u);
  const XmlElement& suite = *suites.child("testsuite");
  EXPECT_EQ(suite.attribute("name"), "linux-baseline");
  EXPECT_EQ(suite.attribute("tests"), "6");
  EXPECT_EQ(suite.attribute("failures"), "2");
  EXPECT_EQ(suite.attribute("errors"), "2");
  EXPECT_EQ(suite.attribute("skipped"), "1");
  EXPECT_EQ(suite.attribute("timestamp"), "2024-05-01T12:00:00");

  const auto cases = suite.all("testcase");
  ASSERT_EQ(cases.size(), run.controls.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const XmlElement& testcase = *cases[i];
    const ControlResult& control = run.controls[i];
    EXPECT_EQ(testcase.attribute("classname"), "reglet.linux-baseline");
    const auto properties = testcase.child("properties");
    ASSERT_NE(properties, nullptr);
    EXPECT_EQ(properties->all("property")[0]->attribute("name"), "severity");
    EXPECT_EQ(properties->all("property")[0]->attribute("value"), to_string(control.severity));
    const size_t failures = testcase.all("failure").size();
    const size_t errors = testcase.all("error").size();
    const size_t skips = testcase.all("skipped").size();
    EXPECT_EQ(failures, control.status == Status::fail ? 1u : 0u) << i;
    EXPECT_EQ(errors, control.status == Status::error ? 1u : 0u) << i;
    EXPECT_EQ(skips, control.status == Status::skipped ? 1u : 0u) << i;
  }
  EXPECT_EQ(cases[0]->attribute("name"), "ssh-config-exists: SSH configuration file exists");
  EXPECT_EQ(cases[0]->attribute("time"), "0.012");

  const XmlElement& failure = *cases[1]->child("failure");
  EXPECT_EQ(failure.attribute("message"), "2 expectations failed");
  EXPECT_EQ(failure.attribute("type"), "expectation_failed");
  EXPECT_TRUE(contains(failure.text, "failed: data.mode == \"0600\" // owner only"));
  EXPECT_TRUE(contains(failure.text, "failed: content contains \"PermitRootLogin no\""));
  EXPECT_TRUE(contains(failure.text, "\"mode\": \"0644\""));  // the evidence as JSON
  EXPECT_FALSE(contains(failure.text, "len(content)"));

  const XmlElement& error = *cases[2]->child("error");
  EXPECT_EQ(error.attribute("type"), "timeout");
  EXPECT_EQ(error.attribute("message"), "timeout: plugin call exceeded 30s \uFFFD[2J");

  EXPECT_EQ(cases[3]->child("skipped")->attribute("message"),
            "dependency ssh-root-login did not pass");

  // A failure without a message: the first failure names it.
  EXPECT_EQ(cases[4]->child("failure")->attribute("message"),
            "failed: plugin ntp reported status false");

  // Escaped text comes back as it was, with the control characters XML forbids as U+FFFD and
  // line breaks and tabs in attributes kept.
  const XmlElement& weird = *cases[5];
  EXPECT_EQ(weird.attribute("name"),
            "weird-<&>: Ünïcödé ✓ 日本語 <tag> & \"quotes\" 'apos' \uFFFD end");
  EXPECT_EQ(weird.child("error")->attribute("message"),
            "bad <value> & \"stuff\" 'x' \uFFFD\n\tsecond line");
  EXPECT_EQ(weird.child("error")->attribute("type"), "expression_error");
  EXPECT_TRUE(contains(weird.child("error")->text, "error in data.octal > 5: column 12"));
  const auto weird_properties = weird.child("properties")->all("property");
  ASSERT_EQ(weird_properties.size(), 3u);
  EXPECT_EQ(weird_properties[1]->attribute("value"), "Zoë <zoe@example.com>");
  EXPECT_EQ(weird_properties[2]->attribute("name"), "tags");
  EXPECT_EQ(weird_properties[2]->attribute("value"), "ü,a&b");
}

TEST(ReportJunit, EmptyRunIsWellFormed) {
  const XmlDocument document = parse_xml(render_report(RunResult{}, ReportFormat::junit));
  ASSERT_EQ(document.error, "");
  EXPECT_EQ(document.root->attribute("tests"), "0");
  EXPECT_EQ(document.root->child("testsuite")->attribute("name"), "reglet");
}

TEST(ReportJunit, EveryForbiddenCharacterIsReplaced) {
  RunResult run;
  ControlResult control;
  std::string all;
  for (int c = 1; c < 0x20; ++c) all += static_cast<char>(c);
  all += "\xef\xbf\xbe\xef\xbf\xbf";  // U+FFFE U+FFFF
  control.id = "c";
  control.name = all;
  control.status = Status::fail;
  control.message = all;
  run.controls.push_back(control);
  const XmlDocument document = parse_xml(render_report(run, ReportFormat::junit));
  ASSERT_EQ(document.error, "");
  const XmlElement& testcase = *document.root->child("testsuite")->child("testcase");
  std::string expected = "c: ";
  for (int c = 1; c < 0x20; ++c) {
    expected += (c == '\t' || c == '\n' || c == '\r') ? std::string(1, static_cast<char>(c))
                                                      : std::string("\uFFFD");
  }
  expected += "\uFFFD\uFFFD";
  EXPECT_EQ(testcase.attribute("name"), expected);
  EXPECT_EQ(testcase.child("failure")->text, expected.substr(3) + "\n");
}

// ---- sarif
// -------------------------------------------------------------------------------------------

TEST(ReportSarif, Structure) {
  const RunResult run = sample_run();
  const json sarif = json::parse(render_report(run, ReportFormat::sarif));
  EXPECT_EQ(sarif["version"], "2.1.0");
  EXPECT_EQ(sarif["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  ASSERT_EQ(sarif["runs"].size(), 1u);
  const json& sarif_run = sarif["runs"][0];
  const json& driver = sarif_run["tool"]["driver"];
  EXPECT_EQ(driver["name"], "reglet");
  EXPECT_EQ(driver["version"], "0.1.0");
  EXPECT_TRUE(driver["informationUri"].get<std::string>().rfind("https://", 0) == 0);
  ASSERT_EQ(driver["rules"].size(), run.controls.size());
  ASSERT_EQ(sarif_run["results"].size(), run.controls.size());

  const char* const kinds[] = {"pass", "fail", "fail", "notApplicable", "fail", "fail"};
  // critical pass, high fail, medium error, low skipped, medium fail, low error
  const char* const levels[] = {"none", "error", "warning", "none", "warning", "warning"};
  for (size_t i = 0; i < run.controls.size(); ++i) {
    const json& rule = driver["rules"][i];
    const json& result = sarif_run["results"][i];
    const ControlResult& control = run.controls[i];
    EXPECT_EQ(rule["id"], control.id);
    EXPECT_EQ(rule["properties"]["severity"], to_string(control.severity));
    EXPECT_TRUE(rule["shortDescription"]["text"].is_string());
    EXPECT_TRUE(rule["fullDescription"]["text"].is_string());
    EXPECT_EQ(result["ruleId"], control.id);
    EXPECT_EQ(result["ruleIndex"], i);
    EXPECT_EQ(result["kind"], kinds[i]) << i;
    EXPECT_EQ(result["level"], levels[i]) << i;
    EXPECT_FALSE(result["message"]["text"].get<std::string>().empty());
    EXPECT_EQ(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
              "profiles/linux%20baseline.yaml");
    EXPECT_EQ(result["properties"]["status"], to_string(control.status));
    EXPECT_EQ(result["properties"]["observations"].size(), control.observations.size());
    // SARIF 3.27.10: level must be "none" when kind is not "fail".
    if (result["kind"] != "fail") {
      EXPECT_EQ(result["level"], "none");
    }
  }
  EXPECT_EQ(driver["rules"][0]["defaultConfiguration"]["level"], "error");
  EXPECT_EQ(driver["rules"][1]["defaultConfiguration"]["level"], "error");
  EXPECT_EQ(driver["rules"][2]["defaultConfiguration"]["level"], "warning");
  EXPECT_EQ(driver["rules"][3]["defaultConfiguration"]["level"], "warning");
  EXPECT_EQ(sarif_run["results"][1]["properties"]["observations"][0]["evidence"]["data"]["mode"],
            "0644");

  const json& invocation = sarif_run["invocations"][0];
  EXPECT_EQ(invocation["executionSuccessful"], false);
  EXPECT_EQ(invocation["startTimeUtc"], "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(invocation["endTimeUtc"], "2024-05-01T12:00:01.484Z");
  EXPECT_EQ(invocation["toolExecutionNotifications"].size(), 2u);
}

TEST(ReportSarif, HighAndCriticalErrorsAreErrorsAndLocationsNeedAPath) {
  RunResult run;
  run.profile_path = "/srv/profiles/a#b.yaml";
  for (Severity severity : {Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    ControlResult control;
    control.id = std::string(to_string(severity));
    control.severity = severity;
    control.status = Status::error;
    run.controls.push_back(control);
  }
  json sarif = json::parse(render_report(run, ReportFormat::sarif));
  const json& results = sarif["runs"][0]["results"];
  EXPECT_EQ(results[0]["level"], "warning");
  EXPECT_EQ(results[1]["level"], "warning");
  EXPECT_EQ(results[2]["level"], "error");
  EXPECT_EQ(results[3]["level"], "error");
  EXPECT_EQ(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///srv/profiles/a%23b.yaml");

  run.profile_path.clear();
  sarif = json::parse(render_report(run, ReportFormat::sarif));
  EXPECT_FALSE(sarif["runs"][0]["results"][0].contains("locations"));
  EXPECT_TRUE(sarif["runs"][0]["properties"]["profile"]["path"].is_null());
}

}  // namespace
}  // namespace reglet::check
