// The reglet subcommands. Each registers itself on the CLI11 app and runs when selected.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "reglet/runtime.h"

namespace reglet::cli {

inline constexpr const char* kVersion = "0.1.0";

inline constexpr int kExitPassed = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitError = 2;
inline constexpr int kExitUsage = 3;

class Command {
 public:
  virtual ~Command() = default;
  virtual bool selected() const = 0;
  virtual int run() = 0;
};

// Options every plugin-running command shares.
struct CommonOptions {
  std::string memory_limit;
  std::string timeout;
  std::string audit_log;
  std::string log_level = "warn";
  std::string engine = "auto";
  std::vector<std::string> aot_objects;
  std::string aot_cache;

  void add_to(CLI::App& app);
  Result<RuntimeOptions> runtime_options() const;
};

LogSink stderr_log_sink(const std::string& threshold);
Result<std::shared_ptr<Plugin>> load(Runtime& runtime, const std::string& spec);
void print_json(const nlohmann::json& json);
int print_error(const Error& error);   // {"error": {...}} on stdout, returns kExitError
int usage_error(const std::string& message);  // on stderr, returns kExitUsage

std::unique_ptr<Command> make_observe_command(CLI::App& app);
std::unique_ptr<Command> make_plugins_command(CLI::App& app);
std::unique_ptr<Command> make_check_command(CLI::App& app);
std::unique_ptr<Command> make_compile_command(CLI::App& app);
std::unique_ptr<Command> make_version_command(CLI::App& app);

}  // namespace reglet::cli
