// The reglet command (SPEC §5).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "check/plugin_source.h"
#include "check/units.h"
#include "cli/commands.h"
#include "reglet/builtins.h"
#include "reglet/runtime.h"

namespace reglet::cli {
namespace {

int level_rank(std::string_view level) {
  if (level == "debug") return 0;
  if (level == "info" || level == "stdout" || level == "stderr") return 1;
  if (level == "warn" || level == "notice") return 2;
  if (level == "error") return 3;
  return 4;  // off
}

}  // namespace

LogSink stderr_log_sink(const std::string& threshold) {
  const int min_rank = level_rank(threshold);
  if (min_rank >= 4) return nullptr;
  return [min_rank](const LogRecord& record) {
    if (level_rank(record.level) < min_rank) return;
    std::string line = record.plugin + " [" + record.level + "] " + record.message;
    if (record.attrs.is_object() && !record.attrs.empty()) line += " " + record.attrs.dump();
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

Result<RuntimeOptions> CommonOptions::runtime_options() const {
  RuntimeOptions options;
  options.log_sink = stderr_log_sink(log_level);
  if (!memory_limit.empty()) {
    auto size = check::parse_size(memory_limit);
    if (!size) return size.error();
    if (*size < (64u << 10)) {
      return make_error(ErrorCode::invalid_argument, "--memory-limit must be at least 64KiB");
    }
    options.memory_limit_bytes = *size;
  }
  if (!timeout.empty()) {
    auto duration = check::parse_duration(timeout);
    if (!duration) return duration.error();
    options.default_timeout = *duration;
  }
  if (!audit_log.empty()) {
    auto log = AuditLog::open_file(audit_log);
    if (!log) return log.error();
    options.audit_log = *log;
  }
  options.aot_objects = aot_objects;
  options.aot_cache_dir = aot_cache;
  if (engine == "interp") {
    options.engine = EngineKind::interp;
  } else if (engine == "aot") {
    options.engine = EngineKind::aot;
  } else if (engine == "auto") {
    options.engine = EngineKind::automatic;
  } else {
    return make_error(ErrorCode::invalid_argument, "--engine must be interp, aot or auto");
  }
  return options;
}

void CommonOptions::add_to(CLI::App& app) {
  app.add_option("--memory-limit", memory_limit, "Memory cap per plugin instance (default 256MiB)");
  app.add_option("--timeout", timeout, "Deadline per observation (default 30s)");
  app.add_option("--audit-log", audit_log, "Append every capability decision (JSON lines) to FILE");
  app.add_option("--log-level", log_level, "Plugin log lines on stderr: debug, info, warn, error, off")
      ->capture_default_str();
  app.add_option("--engine", engine, "Engine tier: interp, aot or auto")->capture_default_str();
  app.add_option("--aot-object", aot_objects,
                 "Use this object made by `reglet compile` for its plugin (repeatable)");
  app.add_option("--aot-cache", aot_cache, "Directory of compiled AOT objects");
}

Result<std::shared_ptr<Plugin>> load(Runtime& runtime, const std::string& spec) {
  auto source = check::resolve_plugin_source(spec);
  if (!source) return source.error();
  return runtime.load_plugin(source->name, source->bytes());
}

void print_json(const nlohmann::json& json) {
  std::cout << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

int print_error(const Error& error) {
  print_json({{"error", {{"code", std::string(to_string(error.code))}, {"message", error.message}}}});
  return kExitError;
}

int usage_error(const std::string& message) {
  std::cerr << "reglet: " << message << "\n";
  return kExitUsage;
}

}  // namespace reglet::cli

int main(int argc, char** argv) {
  using namespace reglet::cli;
  CLI::App app{"reglet: compliance checks as sandboxed WebAssembly plugins", "reglet"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("reglet ") + kVersion);
  app.footer(
      "Exit codes: 0 all passed, 1 a control failed, 2 a control errored, 3 usage or "
      "configuration error.\nRun `reglet COMMAND --help` for a command's options.");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_observe_command(app));
  commands.push_back(make_plugins_command(app));
  commands.push_back(make_check_command(app));
  commands.push_back(make_compile_command(app));
  commands.push_back(make_version_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  for (auto& command : commands) {
    if (command->selected()) return command->run();
  }
  return kExitUsage;
}
