// Built-in plugin `command`: runs a program (never through a shell unless asked with `run`, which
// is `/bin/sh -c` and so needs exec:/bin/sh) and reports its exit code and output. A non-zero
// exit is evidence (status false), not an error. Field names follow Reglet (SPEC §6).
#include <reglet/sdk.h>

#include <string>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

sdk::Info describe() {
  return {"command", "1.0.0", "Runs a command and reports its exit code and output",
          {{"exec", "/**"}}};
}

Json schema() {
  Json out =
      sdk::Schema()
          .string("command",
                  "Program to run: an absolute path or a name found in the fixed "
                  "search path /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
          .array("args", "string", "Arguments")
          .string("run", "A shell command line, run as /bin/sh -c (needs exec:/bin/sh)")
          .string("dir", "Working directory (needs fs:read on it)")
          .object("env", "string",
                  "Environment variables for the command, as {\"NAME\": \"value\"} or Reglet's "
                  "[\"NAME=value\"]; each needs env:NAME, and the command gets nothing else")
          .integer("timeout", "Seconds before the command is killed", false, 30)
          .minimum("timeout", 1)
          .json();
  // Reglet's command plugin takes env as a list of NAME=value strings: accept both forms, so
  // that its profiles run unchanged.
  out["properties"]["env"]["type"] = {"object", "array"};
  out["properties"]["env"]["items"] = {{"type", "string"}};
  return out;
}

// env as the host wants it (an object of strings), from either accepted form. False when an
// item of the list form is not NAME=value.
bool env_object(const Json& env, Json& out, std::string& problem) {
  out = Json::object();
  if (env.is_object()) {
    out = env;
    return true;
  }
  for (const Json& item : env) {
    const std::string text = item.is_string() ? item.get<std::string>() : std::string();
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
      problem = "env item '" + text + "' is not NAME=value";
      return false;
    }
    out[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return true;
}

std::string trim_newline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

sdk::Outcome observe(const Json& config) {
  const bool has_command = config.contains("command");
  const bool has_run = config.contains("run");
  if (has_command == has_run) {
    return sdk::Outcome::error("config", "give either command (with args) or run");
  }
  std::string command;
  Json args = Json::array();
  if (has_run) {
    command = "/bin/sh";
    args = {"-c", config.value("run", "")};
  } else {
    command = config.value("command", "");
    if (command.empty()) return sdk::Outcome::error("config", "command must not be empty");
    args = config.value("args", Json::array());
  }
  // In 64 bits: a timeout of a few weeks in seconds overflows an int once in milliseconds.
  const int64_t timeout_s = config.value("timeout", int64_t{30});
  Json request = {{"command", command}, {"args", args}, {"timeout_ms", timeout_s * 1000}};
  if (config.contains("env")) {
    std::string problem;
    if (!env_object(config["env"], request["env"], problem)) {
      return sdk::Outcome::error("config", problem);
    }
  }
  if (config.contains("dir")) request["dir"] = config["dir"];

  auto response = sdk::host::exec_run(request);
  if (!response.ok()) return response.to_outcome();
  const Json& r = *response;
  const std::string stdout_raw = r.value("stdout", "");
  const std::string stderr_raw = r.value("stderr", "");
  const int exit_code = r.value("exit_code", -1);
  const bool timed_out = r.value("timed_out", false);
  Json data = {{"stdout", trim_newline(stdout_raw)},
               {"stderr", trim_newline(stderr_raw)},
               {"stdout_raw", stdout_raw},
               {"stderr_raw", stderr_raw},
               {"exit_code", exit_code},
               {"success", exit_code == 0 && !timed_out},
               {"duration_ms", r.value("duration_ms", 0)},
               {"is_timeout", timed_out},
               {"truncated", r.value("truncated", false)},
               // What was executed: for run, /bin/sh with ["-c", line] (it used to report the
               // line as the command next to ["-c", line] as its arguments).
               {"command", command},
               {"args", args}};
  if (has_run) data["run"] = config.value("run", "");
  // Set by the host when a signal ended the command, and when output is not UTF-8 (stdout and
  // stderr then carry U+FFFD for the bad bytes; these carry the exact ones).
  for (const char* key : {"signal", "stdout_b64", "stderr_b64"}) {
    if (r.contains(key)) data[key] = r[key];
  }
  return sdk::Outcome::evidence(exit_code == 0 && !timed_out, data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
