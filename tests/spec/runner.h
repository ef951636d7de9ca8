// Runs the commands of one wast2json script against a backend, counting as spectest-interp does:
// every command but `register` is one assertion (a `module` passes when it loads and
// instantiates; an assert_malformed of a text module passes, there being nothing to load).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend.h"
#include "engine/prep/prepare.h"

namespace reglet::spec {

struct RunnerOptions {
  // Deadline of each command: `interrupt` traps once it has passed.
  std::chrono::milliseconds command_timeout{10'000};
  engine::PrepareOptions prepare;
};

// The options the testsuite needs: it links memories, tables and globals between modules, and
// declares memories up to the 32-bit maximum and large tables.
RunnerOptions default_runner_options();

struct CommandFailure {
  uint32_t line = 0;
  std::string command;
  std::string detail;
};

struct ScriptResult {
  int passed = 0;
  int failed = 0;
  std::vector<CommandFailure> failures;
};

// `script` is the parsed JSON; `dir` the directory its module files are in.
ScriptResult run_script(const nlohmann::json& script, const std::filesystem::path& dir,
                        Backend& backend, const RunnerOptions& options);

}  // namespace reglet::spec
