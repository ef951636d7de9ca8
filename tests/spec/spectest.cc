// reglet-spectest: the WebAssembly core spec testsuite through our own pipeline.
//
//   reglet-spectest --testsuite DIR [--backend interp|aot|all] [--filter SUBSTRING] [--verbose]
//                   [--min-passed N] [--aot-cache DIR] [--aot-opt FLAG]
//
// Each DIR/*.wast (sorted) is converted by wast2json, and every command of the result runs through
// PreparedModule::prepare (validation, caps, interruption checks) and then each backend (default:
// all, the interpreter first; the AOT backend compiles with --aot-opt, default -O0, and keeps its
// objects in --aot-cache, default the build tree's tests/aot-cache). Prints
// `FILE: P passed, F failed` per file and `spec(<backend>): N passed, M failed` at the end. Exit
// code: 77 when DIR does not exist (CTest's skip code), 1 when --min-passed is given and some
// backend passed fewer, else 0.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "backend.h"
#include "runner.h"

#ifndef REGLET_SPEC_AOT_CACHE
#define REGLET_SPEC_AOT_CACHE "aot-cache"
#endif

#ifndef REGLET_WAST2JSON
#define REGLET_WAST2JSON "wast2json"
#endif

extern char** environ;

namespace reglet::spec {
namespace {

namespace fs = std::filesystem;

struct Args {
  fs::path testsuite;
  std::string filter;
  bool verbose = false;
  std::optional<long long> min_passed;
  std::string backend = "all";
  std::string aot_cache = REGLET_SPEC_AOT_CACHE;
  // Spec modules are many, small and run once: compiling them fast matters more than the code.
  std::string aot_opt = "-O0";
};

void usage() {
  std::cerr << "usage: reglet-spectest --testsuite DIR [--backend interp|aot|all] "
               "[--filter SUBSTRING] [--verbose] [--min-passed N] [--aot-cache DIR] "
               "[--aot-opt FLAG]\n";
}

std::optional<Args> parse_args(int argc, char** argv) {
  Args args;
  bool have_testsuite = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--verbose" || arg == "-v") {
      args.verbose = true;
    } else if (arg == "--testsuite") {
      const char* value = next();
      if (!value) return std::nullopt;
      args.testsuite = value;
      have_testsuite = true;
    } else if (arg == "--backend" || arg == "--aot-cache" || arg == "--aot-opt") {
      const char* value = next();
      if (!value) return std::nullopt;
      (arg == "--backend"     ? args.backend
       : arg == "--aot-cache" ? args.aot_cache
                              : args.aot_opt) = value;
      if (args.backend != "interp" && args.backend != "aot" && args.backend != "all") {
        return std::nullopt;
      }
    } else if (arg == "--filter") {
      const char* value = next();
      if (!value) return std::nullopt;
      args.filter = value;
    } else if (arg == "--min-passed") {
      const char* value = next();
      if (!value) return std::nullopt;
      long long n = 0;
      const char* end = value + std::strlen(value);
      auto [ptr, ec] = std::from_chars(value, end, n);
      if (ec != std::errc() || ptr != end) return std::nullopt;
      args.min_passed = n;
    } else {
      return std::nullopt;
    }
  }
  if (!have_testsuite) return std::nullopt;
  return args;
}

// A private directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "reglet-spectest-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs `wast2json WAST -o OUT/x.json`; its output goes to OUT/wast2json.log. Returns the exit
// status, or an error text when it could not run.
Result<int> run_wast2json(const fs::path& wast, const fs::path& out_dir) {
  const std::string tool = REGLET_WAST2JSON;
  const std::string input = wast.string();
  const std::string output = (out_dir / "x.json").string();
  const std::string log = (out_dir / "wast2json.log").string();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv = {const_cast<char*>(tool.c_str()), const_cast<char*>(input.c_str()),
                             const_cast<char*>("-o"), const_cast<char*>(output.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, tool.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return make_error(ErrorCode::io_error, "cannot run " + tool + ": " + std::strerror(spawned));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(ErrorCode::io_error, "waitpid failed");
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Totals {
  long long passed = 0;
  long long failed = 0;
};

// Converts and parses one .wast; on failure the reason.
Result<nlohmann::json> convert(const fs::path& wast, const fs::path& dir) {
  auto status = run_wast2json(wast, dir);
  if (!status) return std::move(status).error();
  if (*status != 0) {
    return make_error(ErrorCode::invalid_module, "wast2json exited with " +
                                                     std::to_string(*status) + ": " +
                                                     read_text(dir / "wast2json.log"));
  }
  std::ifstream in(dir / "x.json");
  nlohmann::json script = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (script.is_discarded() || !script.contains("commands") || !script["commands"].is_array()) {
    return make_error(ErrorCode::invalid_module, "wast2json wrote unreadable JSON");
  }
  return script;
}

int run(const Args& args) {
  std::error_code ec;
  if (!fs::is_directory(args.testsuite, ec)) {
    std::cout << "spec testsuite not found at " << args.testsuite.string() << ": skipped\n";
    return 77;
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(args.testsuite)) {
    const fs::path& path = entry.path();
    if (!entry.is_regular_file() || path.extension() != ".wast") continue;
    if (path.filename().string().find(args.filter) == std::string::npos) continue;
    files.push_back(path);
  }
  std::sort(files.begin(), files.end());

  std::vector<std::unique_ptr<Backend>> backends;
  if (args.backend != "aot") backends.push_back(make_interp_backend());
  if (args.backend != "interp") backends.push_back(make_aot_backend(args.aot_cache, args.aot_opt));
  std::vector<Totals> totals(backends.size());
  const RunnerOptions options = default_runner_options();

  for (const fs::path& wast : files) {
    const std::string file = wast.filename().string();
    TempDir dir;
    auto script = convert(wast, dir.path());
    for (size_t b = 0; b < backends.size(); ++b) {
      const std::string prefix =
          backends.size() > 1 ? "[" + std::string(backends[b]->name()) + "] " : "";
      if (!script) {
        // The file cannot be run at all: one failure, whatever it holds.
        totals[b].failed += 1;
        std::cout << prefix << file << ": 0 passed, 1 failed\n";
        if (args.verbose) std::cout << "  " << script.error().message << "\n";
        continue;
      }
      ScriptResult result = run_script(*script, dir.path(), *backends[b], options);
      totals[b].passed += result.passed;
      totals[b].failed += result.failed;
      std::cout << prefix << file << ": " << result.passed << " passed, " << result.failed
                << " failed\n";
      if (args.verbose) {
        for (const CommandFailure& failure : result.failures) {
          std::cout << "  " << file << ":" << failure.line << ": " << failure.command << ": "
                    << failure.detail << "\n";
        }
      }
    }
    std::cout.flush();
  }

  int exit_code = 0;
  for (size_t b = 0; b < backends.size(); ++b) {
    std::cout << "spec(" << backends[b]->name() << "): " << totals[b].passed << " passed, "
              << totals[b].failed << " failed\n";
    if (args.min_passed && totals[b].passed < *args.min_passed) exit_code = 1;
  }
  return exit_code;
}

}  // namespace
}  // namespace reglet::spec

int main(int argc, char** argv) {
  auto args = reglet::spec::parse_args(argc, argv);
  if (!args) {
    reglet::spec::usage();
    return 2;
  }
  try {
    return reglet::spec::run(*args);
  } catch (const std::exception& e) {
    std::cerr << "reglet-spectest: " << e.what() << "\n";
    return 1;
  }
}
