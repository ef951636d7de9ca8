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
  return sdk::Schema()
      .string("command", "Program to run: an absolute path or a name found in the fixed "
                         "search path /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
      .array("args", "string", "Arguments")
      .string("run", "A shell command line, run as /bin/sh -c (needs exec:/bin/sh)")
      .string("dir", "Working directory (needs fs:read on it)")
      .object("env", "string", "Environment variables for the command (each needs env:NAME)")
      .integer("timeout", "Seconds before the command is killed", false, 30)
      .minimum("timeout", 1)
      .json();
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
  const int timeout_s = config.value("timeout", 30);
  Json request = {{"command", command}, {"args", args}, {"timeout_ms", timeout_s * 1000}};
  if (config.contains("env")) request["env"] = config["env"];
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
               {"command", has_run ? config.value("run", "") : command},
               {"args", args}};
  return sdk::Outcome::evidence(exit_code == 0 && !timed_out, data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
