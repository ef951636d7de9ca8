// `reglet plugins list|describe|schema` for the built-in plugins, and `--audit-log`.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "plugins_e2e/e2e_support.h"

namespace reglet::e2e {
namespace {

// Each built-in plugin and the capabilities it declares.
const std::map<std::string, std::vector<std::string>> kDeclared = {
    {"command", {"exec:/**"}},
    {"dns", {"network:outbound:53"}},
    {"env", {"env:*"}},
    {"file", {"fs:read:/**"}},
    {"http", {"network:outbound:80,443"}},
    {"tcp", {"network:outbound:*"}},
};

// The config fields of SPEC §6 per plugin: name -> {type(s), required, default or null}.
struct Field {
  json type;
  bool required;
  json default_value;
};
const std::map<std::string, std::map<std::string, Field>> kConfig = {
    {"file",
     {{"path", {"string", true, nullptr}},
      {"mode", {"string", false, "exists"}},
      {"read_content", {"boolean", false, false}},
      {"hash", {"boolean", false, false}},
      {"follow_symlinks", {"boolean", false, true}}}},
    {"command",
     {{"command", {"string", false, nullptr}},
      {"args", {"array", false, nullptr}},
      {"run", {"string", false, nullptr}},
      {"dir", {"string", false, nullptr}},
      {"env", {{"object", "array"}, false, nullptr}},
      {"timeout", {"integer", false, 30}}}},
    {"env", {{"name", {"string", true, nullptr}}}},
    {"tcp",
     {{"host", {"string", true, nullptr}},
      {"port", {{"integer", "string"}, true, nullptr}},
      {"timeout_ms", {"integer", false, 5000}},
      {"tls", {"boolean", false, false}}}},
    {"dns",
     {{"hostname", {"string", true, nullptr}},
      {"record_type", {"string", false, "A"}},
      {"nameserver", {"string", false, nullptr}}}},
    {"http",
     {{"url", {"string", true, nullptr}},
      {"method", {"string", false, "GET"}},
      {"headers", {"object", false, nullptr}},
      {"body", {"string", false, nullptr}},
      {"timeout_ms", {"integer", false, 30000}},
      {"follow_redirects", {"boolean", false, true}},
      {"expected_status", {"integer", false, nullptr}},
      {"expected_body_contains", {"string", false, nullptr}},
      {"body_preview_length", {"integer", false, 200}}}},
};

TEST(PluginsCommand, ListShowsAllSixWithTheirCapabilities) {
  const RunResult table = run_reglet({"plugins", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.describe();
  for (const auto& [name, capabilities] : kDeclared) {
    // One row per plugin: its name first, its capabilities on the same line.
    std::istringstream lines(table.out);
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
      if (line.rfind(name + " ", 0) != 0) continue;
      found = true;
      for (const std::string& capability : capabilities) {
        EXPECT_NE(line.find(capability), std::string::npos) << line;
      }
    }
    EXPECT_TRUE(found) << name << " missing from:\n" << table.out;
  }

  const RunResult listed = run_reglet({"plugins", "list", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.describe();
  json all = listed.json_out();
  ASSERT_TRUE(all.is_array()) << listed.out;
  std::map<std::string, std::vector<std::string>> seen;
  for (json info : all) {
    std::vector<std::string> capabilities;
    for (json c : info["capabilities"]) {
      capabilities.push_back(c["kind"].get<std::string>() + ":" + c["pattern"].get<std::string>());
    }
    seen[info["name"]] = capabilities;
  }
  EXPECT_EQ(seen, kDeclared);
}

TEST(PluginsCommand, DescribeIsValidJson) {
  for (const auto& [name, capabilities] : kDeclared) {
    const RunResult result = run_reglet({"plugins", "describe", name});
    ASSERT_EQ(result.exit_code, 0) << result.describe();
    json info = result.json_out();
    ASSERT_TRUE(info.is_object()) << result.out;
    EXPECT_EQ(info["name"], name);
    EXPECT_TRUE(info["version"].is_string());
    EXPECT_FALSE(info["description"].get<std::string>().empty());
    ASSERT_EQ(info["capabilities"].size(), capabilities.size());
  }
}

TEST(PluginsCommand, SchemasAreCompleteForEveryConfigField) {
  for (const auto& [name, fields] : kConfig) {
    SCOPED_TRACE(name);
    const RunResult result = run_reglet({"plugins", "schema", name});
    ASSERT_EQ(result.exit_code, 0) << result.describe();
    json schema = result.json_out();
    ASSERT_TRUE(schema.is_object()) << result.out;
    EXPECT_EQ(schema["type"], "object");
    json properties = schema["properties"];
    std::set<std::string> required;
    for (const json& r : schema.value("required", json::array())) required.insert(r);
    for (const auto& [field, expected] : fields) {
      SCOPED_TRACE(field);
      ASSERT_TRUE(properties.contains(field)) << schema.dump(2);
      json property = properties[field];
      EXPECT_EQ(property["type"], expected.type);
      EXPECT_FALSE(property.value("description", "").empty());
      EXPECT_EQ(required.count(field) == 1, expected.required);
      if (expected.default_value.is_null()) {
        EXPECT_FALSE(property.contains("default")) << property.dump();
      } else {
        EXPECT_EQ(property["default"], expected.default_value);
      }
    }
    // Every declared property is described, including ones beyond SPEC §6.
    for (const auto& [field, property] : properties.items()) {
      EXPECT_TRUE(property.contains("type")) << field;
      EXPECT_FALSE(property.value("description", "").empty()) << field;
    }
  }
}

TEST(PluginsCommand, UnknownPluginIsAUsageError) {
  const RunResult result = run_reglet({"plugins", "describe", "no-such-plugin"});
  EXPECT_EQ(result.exit_code, 3) << result.describe();
}

TEST(ObserveCommand, UsageErrors) {
  EXPECT_EQ(run_reglet({"observe", "file", "--config", "[1, 2]"}).exit_code, 3);
  EXPECT_EQ(run_reglet({"observe", "file", "--config", "{not json"}).exit_code, 3);
  EXPECT_EQ(run_reglet({"observe", "file", "--config", "{}", "--grant", "bogus"}).exit_code, 3);
  EXPECT_EQ(run_reglet({"observe", "no-such-plugin", "--config", "{}"}).exit_code, 3);
}

TEST(ObserveCommand, AuditLogRecordsAllowedAndDeniedDecisions) {
  const TempDir dir;
  const std::string allowed = dir.write("allowed", "ok");
  const std::string denied = dir.write("denied", "no");
  const std::string log = (dir / "audit.jsonl");
  const std::string grant = "fs:read:" + allowed;

  const RunResult ok =
      observe("file", {{"path", allowed}, {"hash", true}}, {grant}, {"--audit-log", log});
  ASSERT_EQ(ok.exit_code, 0) << ok.describe();
  const RunResult refused = observe("file", {{"path", denied}}, {grant}, {"--audit-log", log});
  ASSERT_EQ(refused.exit_code, 2) << refused.describe();

  std::ifstream in(log);
  ASSERT_TRUE(in) << log;
  std::vector<json> entries;
  for (std::string line; std::getline(in, line);) {
    json entry = json::parse(line, nullptr, false);
    ASSERT_TRUE(entry.is_object()) << "not a JSON line: " << line;
    for (const char* key : {"time", "plugin", "function", "request", "capability", "decision"}) {
      EXPECT_TRUE(entry.contains(key)) << key << " missing in " << line;
    }
    entries.push_back(entry);
  }
  ASSERT_FALSE(entries.empty());
  bool allowed_stat = false, allowed_read = false, denied_stat = false;
  for (json& entry : entries) {
    EXPECT_EQ(entry["plugin"], "file");
    EXPECT_TRUE(entry["time"].is_string());
    if (entry["decision"] == "allow" && entry["capability"] == "fs:read:" + allowed) {
      allowed_stat = allowed_stat || entry["function"] == "fs_stat";
      allowed_read = allowed_read || entry["function"] == "fs_read";
      EXPECT_EQ(entry["request"]["path"], allowed);
    }
    if (entry["decision"] == "deny") {
      EXPECT_EQ(entry["capability"], "fs:read:" + denied);
      EXPECT_EQ(entry["request"]["path"], denied);
      denied_stat = denied_stat || entry["function"] == "fs_stat";
    }
  }
  EXPECT_TRUE(allowed_stat);
  EXPECT_TRUE(allowed_read);
  EXPECT_TRUE(denied_stat);
}

}  // namespace
}  // namespace reglet::e2e
