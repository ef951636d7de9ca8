// Helpers for the built-in plugins' end-to-end tests: the real `reglet` binary run as a child
// process (fork/exec with an argv, never a shell), its output captured, and the scratch files
// those runs look at.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace reglet::e2e {

using nlohmann::json;

// What one run of the binary left behind.
struct RunResult {
  int exit_code = -1;  // -1 when it was killed (by a signal, or by us at the time limit)
  std::string out;
  std::string err;
  bool timed_out = false;

  // stdout parsed as JSON (discarded when it is not).
  json json_out() const;
  // For assertion messages: everything the run printed.
  std::string describe() const;
};

// The evidence of a run of `reglet observe` that must have succeeded (exit 0, a JSON object
// without "error"); failures are recorded as test failures, with everything the run printed.
json evidence_of(const RunResult& result);

// A child process started with fork/exec; the destructor kills (SIGKILL) and reaps it if it is
// still running, so that a failing assertion never leaves a process behind.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout and stderr until both close, then reaps the child. Past `limit` the child is
  // killed and the result says timed_out.
  RunResult wait(std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
};

// Runs `reglet ARGS...` with the test's environment plus `extra_env`.
RunResult run_reglet(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& extra_env = {},
                     std::chrono::milliseconds limit = std::chrono::seconds(60));

// `reglet observe PLUGIN --config CONFIG --grant G...` plus `extra` arguments, plus
// `--engine $REGLET_E2E_ENGINE` when that is set (to run the suite on the aot tier too).
RunResult observe(const std::string& plugin, const json& config,
                  const std::vector<std::string>& grants = {},
                  const std::vector<std::string>& extra = {},
                  const std::map<std::string, std::string>& extra_env = {});

using ::reglet::test::TempDir;

// Lower-case hex SHA-256, computed natively (OpenSSL) to check the plugins' own hashing.
std::string sha256_hex(const std::string& data);

// Standard base64 (with padding), to check what the plugins encode.
std::string base64(const std::string& data);

// Where the host finds a bare program name (SPEC §3): the first regular executable in the fixed
// search path, its directory with symlinks resolved and its own name kept. "" when none is.
std::string resolve_in_search_path(const std::string& name);

}  // namespace reglet::e2e
