#include "runner.h"

#include <fstream>
#include <iterator>
#include <map>
#include <optional>

namespace reglet::spec {
namespace {

using engine::ExecutionControl;
using engine::PreparedModule;
using engine::TrapKind;
using nlohmann::json;

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "trap (stack_exhausted): call stack exhausted"
std::string trap_text(const engine::Trap& trap) {
  return "trap (" + std::string(to_string(trap.to_error().code)) + "): " + trap.message;
}

class ScriptRunner {
 public:
  ScriptRunner(const std::filesystem::path& dir, Backend& backend, const RunnerOptions& options)
      : dir_(dir), session_(backend.new_session()), options_(options) {}

  ScriptResult run(const json& script) {
    const json& commands = script.at("commands");
    // Every module the script instantiates, prepared once, so that the backend can compile them
    // together before the first command runs.
    std::vector<const PreparedModule*> modules;
    for (const json& command : commands) {
      const std::string type = string_field(command, "type");
      if (type != "module" && type != "assert_unlinkable" && type != "assert_uninstantiable") {
        continue;
      }
      const Result<PreparedModule>& prepared = prepared_module(command);
      if (prepared) modules.push_back(&*prepared);
    }
    session_->prefetch(modules);
    for (const json& command : commands) {
      const std::string type = string_field(command, "type");
      line_ = command.value("line", 0u);
      type_ = type;
      if (type == "register") {
        on_register(command);
        continue;
      }
      std::optional<std::string> failure = dispatch(type, command);
      if (failure) {
        ++result_.failed;
        result_.failures.push_back({line_, type, std::move(*failure)});
      } else {
        ++result_.passed;
      }
    }
    return std::move(result_);
  }

 private:
  // nullopt when the command passed, else why it failed.
  using Verdict = std::optional<std::string>;

  Verdict dispatch(const std::string& type, const json& command) {
    if (type == "module") return on_module(command);
    if (type == "action") return on_action(command);
    if (type == "assert_return") return on_assert_return(command);
    if (type == "assert_trap") return on_assert_trap(command, /*exhaustion=*/false);
    if (type == "assert_exhaustion") return on_assert_trap(command, /*exhaustion=*/true);
    if (type == "assert_invalid" || type == "assert_malformed") return on_assert_rejected(command);
    if (type == "assert_unlinkable" || type == "assert_uninstantiable") {
      return on_assert_unloadable(command);
    }
    return "unknown command type \"" + type + "\"";
  }

  Result<std::vector<uint8_t>> read_module(const json& command) {
    const std::filesystem::path path = dir_ / string_field(command, "filename");
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(ErrorCode::io_error, "cannot read " + path.string());
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  Result<PreparedModule> prepare(const json& command) {
    auto bytes = read_module(command);
    if (!bytes) return std::move(bytes).error();
    return PreparedModule::prepare(*bytes, options_.prepare);
  }

  // prepare(), once per module file of the script.
  const Result<PreparedModule>& prepared_module(const json& command) {
    const std::string file = string_field(command, "filename");
    auto it = prepared_.find(file);
    if (it == prepared_.end()) it = prepared_.emplace(file, prepare(command)).first;
    return it->second;
  }

  ExecutionControl new_control() const {
    return ExecutionControl(ExecutionControl::Clock::now() + options_.command_timeout);
  }

  static std::string describe(const InstantiateResult& result) {
    switch (result.failure) {
      case InstantiateResult::Failure::none:
        return "instantiated";
      case InstantiateResult::Failure::load:
        return "backend could not load it: " + result.message;
      case InstantiateResult::Failure::link:
        return "link error: " + result.message;
      case InstantiateResult::Failure::trap:
        return "trap while instantiating: " + result.message;
    }
    return result.message;
  }

  Verdict on_module(const json& command) {
    const auto& prepared = prepared_module(command);
    if (!prepared) return "prepare failed: " + prepared.error().to_string();
    ExecutionControl control = new_control();
    InstantiateResult result = session_->instantiate(*prepared, control);
    if (!result.instance) return describe(result);
    last_ = *result.instance;
    if (std::string name = string_field(command, "name"); !name.empty()) named_[name] = *last_;
    return std::nullopt;
  }

  void on_register(const json& command) {
    std::optional<InstanceId> instance = find_instance(string_field(command, "name"));
    if (!instance) {
      // Every later import from it will fail and say so; count the register itself too.
      ++result_.failed;
      result_.failures.push_back({line_, type_, "no module to register"});
      return;
    }
    session_->register_instance(*instance, string_field(command, "as"));
  }

  std::optional<InstanceId> find_instance(const std::string& name) const {
    if (name.empty()) return last_;
    auto it = named_.find(name);
    if (it == named_.end()) return std::nullopt;
    return it->second;
  }

  ActionResult run_action(const json& command) {
    const json& action = command.at("action");
    const std::string module = string_field(action, "module");
    const std::string field = string_field(action, "field");
    std::optional<InstanceId> instance = find_instance(module);
    if (!instance) {
      ActionResult out;
      out.error = module.empty() ? "no module instantiated" : "unknown module " + module;
      return out;
    }
    const std::string type = string_field(action, "type");
    if (type == "get") return session_->get_global(*instance, field);
    if (type != "invoke") {
      ActionResult out;
      out.error = "unknown action type \"" + type + "\"";
      return out;
    }
    std::vector<SpecValue> args;
    for (const json& arg : action.value("args", json::array())) {
      auto value = parse_value(arg);
      if (!value) {
        ActionResult out;
        out.error = value.error().message;
        return out;
      }
      args.push_back(*value);
    }
    ExecutionControl control = new_control();
    return session_->invoke(*instance, field, args, control);
  }

  Verdict on_action(const json& command) {
    ActionResult result = run_action(command);
    if (result.error) return *result.error;
    if (result.trap) return "unexpected " + trap_text(*result.trap);
    return std::nullopt;
  }

  Verdict on_assert_return(const json& command) {
    std::vector<Expected> expected;
    for (const json& value : command.value("expected", json::array())) {
      auto parsed = parse_expected(value);
      if (!parsed) return parsed.error().message;
      expected.push_back(*parsed);
    }
    ActionResult result = run_action(command);
    if (result.error) return *result.error;
    if (result.trap) return "unexpected " + trap_text(*result.trap);
    if (result.values.size() != expected.size()) {
      return "expected " + std::to_string(expected.size()) + " results, got " +
             std::to_string(result.values.size());
    }
    std::string mismatches;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (matches(expected[i], result.values[i])) continue;
      if (!mismatches.empty()) mismatches += "; ";
      mismatches += "result " + std::to_string(i) + ": expected " + to_string(expected[i]) +
                    ", got " + to_string(result.values[i], expected[i].lane_type);
    }
    if (!mismatches.empty()) return mismatches;
    return std::nullopt;
  }

  // The message text is not compared (spectest-interp does not either): our trap messages are
  // WABT's, whose wording differs from the reference interpreter's.
  Verdict on_assert_trap(const json& command, bool exhaustion) {
    const std::string text = string_field(command, "text");
    ActionResult result = run_action(command);
    if (result.error) return *result.error;
    if (!result.trap) return "expected trap \"" + text + "\", got a result";
    const TrapKind kind = result.trap->kind;
    if (exhaustion && kind != TrapKind::stack_exhausted) {
      return "expected stack exhaustion, got " + trap_text(*result.trap);
    }
    if (kind == TrapKind::timeout || kind == TrapKind::cancelled) {
      return "expected trap \"" + text + "\", got " + trap_text(*result.trap);
    }
    return std::nullopt;
  }

  Verdict on_assert_rejected(const json& command) {
    // A text module is rejected by wast2json's parser, not by us: nothing to load.
    if (string_field(command, "module_type") == "text") return std::nullopt;
    auto prepared = prepare(command);
    if (prepared) {
      return "module was accepted (expected \"" + string_field(command, "text") + "\")";
    }
    if (prepared.error().code == ErrorCode::io_error) return prepared.error().to_string();
    return std::nullopt;
  }

  // assert_unlinkable and assert_uninstantiable: prepare must accept the module and
  // instantiation must fail. As in spectest-interp, either kind of failure passes both.
  Verdict on_assert_unloadable(const json& command) {
    const auto& prepared = prepared_module(command);
    if (!prepared) return "prepare failed: " + prepared.error().to_string();
    ExecutionControl control = new_control();
    InstantiateResult result = session_->instantiate(*prepared, control);
    if (result.instance) {
      return "module instantiated (expected \"" + string_field(command, "text") + "\")";
    }
    if (result.failure == InstantiateResult::Failure::load) return describe(result);
    return std::nullopt;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Session> session_;
  const RunnerOptions& options_;
  std::optional<InstanceId> last_;
  std::map<std::string, InstanceId> named_;
  std::map<std::string, Result<PreparedModule>> prepared_;  // by module file name
  ScriptResult result_;
  uint32_t line_ = 0;
  std::string type_;
};

}  // namespace

RunnerOptions default_runner_options() {
  RunnerOptions options;
  options.prepare.allow_non_function_imports = true;
  options.prepare.max_memory_pages = 65536;
  options.prepare.max_table_elements = 10'000'000;
  return options;
}

ScriptResult run_script(const json& script, const std::filesystem::path& dir, Backend& backend,
                        const RunnerOptions& options) {
  return ScriptRunner(dir, backend, options).run(script);
}

}  // namespace reglet::spec
