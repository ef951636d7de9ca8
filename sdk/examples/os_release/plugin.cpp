// Example plugin: reports the operating system from /etc/os-release (freedesktop.org format).
// It reads the file through plain libc (WASI), so it needs fs:read on the file (and the host
// resolves /etc/os-release -> /usr/lib/os-release when that is a symlink).
//
//   reglet observe build/sdk/os_release.wasm --grant fs:read:/etc/os-release \
//       --grant fs:read:/usr/lib/os-release
#include <reglet/sdk.h>
#include <stdio.h>

#include <string>

namespace sdk = reglet::sdk;

namespace {

sdk::Info describe() {
  return {"os_release",
          "1.0.0",
          "Reports the operating system identification from os-release",
          {{"fs", "read:/etc/os-release"}, {"fs", "read:/usr/lib/os-release"}}};
}

sdk::Json schema() {
  return sdk::Schema()
      .string("path", "os-release file to read", false, "/etc/os-release")
      .closed()
      .json();
}

// KEY=value or KEY="quoted value"; comments and blank lines skipped.
void parse_line(const std::string& line, sdk::Json& fields) {
  if (line.empty() || line[0] == '#') return;
  auto eq = line.find('=');
  if (eq == std::string::npos || eq == 0) return;
  std::string key = line.substr(0, eq);
  std::string value = line.substr(eq + 1);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  for (char& c : key) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  fields[key] = value;
}

sdk::Outcome observe(const sdk::Json& config) {
  const std::string path = config.value("path", std::string("/etc/os-release"));
  FILE* file = fopen(path.c_str(), "r");
  if (!file) {
    // A missing file is evidence, not an error; a denied one is an error.
    if (errno == ENOENT) return sdk::Outcome::failure({{"path", path}, {"exists", false}});
    return sdk::Outcome::error("capability", "cannot read " + path + ": " + strerror(errno),
                               errno == EACCES ? "capability_denied" : "plugin_error");
  }
  sdk::Json fields = sdk::Json::object();
  char buffer[1024];
  while (fgets(buffer, sizeof buffer, file)) {
    std::string line(buffer);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    parse_line(line, fields);
  }
  fclose(file);
  sdk::log::debug("parsed os-release", {{"fields", fields.size()}});
  return sdk::Outcome::success({{"path", path}, {"exists", true}, {"fields", fields},
                                {"id", fields.value("id", "")},
                                {"version_id", fields.value("version_id", "")},
                                {"pretty_name", fields.value("pretty_name", "")}});
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
