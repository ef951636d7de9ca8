#include "reglet/runtime.h"

#include <algorithm>
#include <cctype>

#include "engine/aot/aot_engine.h"
#include "engine/engine.h"
#include "engine/prep/prepare.h"
#include "runtime/host/context.h"
#include "runtime/host/imports.h"
#include "runtime/plugin_impl.h"

extern char** environ;

namespace reglet {

struct Runtime::State {
  std::shared_ptr<runtime::Services> services;
  std::unique_ptr<engine::Engine> interp;
  std::unique_ptr<engine::Engine> aot;
  engine::aot::AotOptions aot_options;
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<Plugin>, std::less<>> plugins;
};

namespace {

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return out;
}

Status check_name(std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 128 &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                           c == '.';
                  });
  if (!ok) {
    return make_error(ErrorCode::invalid_argument,
                      "plugin name \"" + std::string(name) +
                          "\" must be 1-128 characters of letters, digits, '-', '_' and '.'");
  }
  return {};
}

struct RequiredExport {
  std::string_view name;
  engine::ExportInfo::Kind kind;
  engine::FuncSig sig;
};

Status check_exports(const engine::Module& module) {
  using engine::ValType;
  using Kind = engine::ExportInfo::Kind;
  const RequiredExport required[] = {
      {"memory", Kind::memory, {}},
      {"allocate", Kind::func, {{ValType::i32}, {ValType::i32}}},
      {"deallocate", Kind::func, {{ValType::i32, ValType::i32}, {}}},
      {"describe", Kind::func, {{}, {ValType::i64}}},
      {"schema", Kind::func, {{}, {ValType::i64}}},
      {"observe", Kind::func, {{ValType::i32, ValType::i32}, {ValType::i64}}},
  };
  for (const RequiredExport& want : required) {
    const engine::ExportInfo* found = module.find_export(want.name);
    if (!found || found->kind != want.kind) {
      return make_error(ErrorCode::abi_error,
                        "plugin does not export " +
                            std::string(want.kind == Kind::memory ? "memory \"" : "function \"") +
                            std::string(want.name) + "\"");
    }
    if (want.kind == Kind::func && found->sig != want.sig) {
      return make_error(ErrorCode::abi_error, "export \"" + std::string(want.name) +
                                                  "\" has signature " + found->sig.to_string() +
                                                  ", expected " + want.sig.to_string());
    }
  }
  if (const auto* init = module.find_export("_initialize");
      init && (init->kind != Kind::func || !init->sig.params.empty() ||
               !init->sig.results.empty())) {
    return make_error(ErrorCode::abi_error, "export \"_initialize\" must be a () -> () function");
  }
  return {};
}

}  // namespace

Runtime::Runtime(RuntimeOptions options) : state_(std::make_shared<State>()) {
  auto services = std::make_shared<runtime::Services>();
  services->environment = options.environment ? *options.environment : process_environment();
  services->options = std::move(options);
  state_->aot_options.cache_dir = services->options.aot_cache_dir;
  for (const auto& object : services->options.aot_objects) {
    state_->aot_options.objects.emplace_back(object);
  }
  state_->services = std::move(services);
  state_->interp = engine::make_interp_engine();
  if (state_->services->options.engine != EngineKind::interp) {
    state_->aot = engine::aot::make_aot_engine(state_->aot_options);
  }
}

Runtime::~Runtime() { close(); }

CapabilityManager& Runtime::capabilities() { return state_->services->capabilities; }
const RuntimeOptions& Runtime::options() const { return state_->services->options; }

Result<std::shared_ptr<Plugin>> Runtime::load_plugin(std::string_view name,
                                                     std::span<const uint8_t> wasm) {
  if (Status status = check_name(name); !status) return status.error();
  if (auto existing = get_plugin(name)) return existing;

  const RuntimeOptions& options = state_->services->options;
  engine::PrepareOptions prepare_options;
  const uint64_t pages = (options.memory_limit_bytes + engine::kWasmPageSize - 1) /
                         engine::kWasmPageSize;
  prepare_options.max_memory_pages = static_cast<uint32_t>(std::clamp<uint64_t>(pages, 1, 65536));
  // The built-in plugins were prepared at build time (with the default options).
  std::optional<engine::PreparedModule> prebuilt = engine::find_prebuilt(wasm, prepare_options);
  auto prepared = prebuilt ? Result<engine::PreparedModule>(std::move(*prebuilt))
                           : engine::PreparedModule::prepare(wasm, prepare_options);
  if (!prepared) return std::move(prepared).error();
  auto host_funcs = runtime::resolve_imports(prepared->imports());
  if (!host_funcs) return std::move(host_funcs).error();
  auto log = [&](std::string level, std::string message) {
    if (options.log_sink) options.log_sink({std::string(name), std::move(level), std::move(message)});
  };
  engine::Engine* tier = state_->interp.get();
  const bool automatic = options.engine == EngineKind::automatic;
  if (options.engine == EngineKind::aot) {
    tier = state_->aot.get();
  } else if (automatic) {
    if (engine::aot::has_object(*prepared, state_->aot_options)) {
      tier = state_->aot.get();
    } else if (!engine::aot::codegen_id(state_->aot_options).empty()) {
      tier = state_->aot.get();
      // Seconds of silence on the first run of a new plugin deserve a word.
      log("notice", "compiling to native code (once: the object is cached for later runs)");
    }
  }
  auto module = tier->compile(*prepared, host_funcs.value());
  if (!module && automatic && tier == state_->aot.get()) {
    // auto promises a working plugin, not a fast one: a compiler that fails (a broken
    // toolchain, a full disk) leaves the interpreter.
    log("warn", "native compilation failed, using the interpreter: " + module.error().message);
    tier = state_->interp.get();
    module = tier->compile(*prepared, std::move(*host_funcs));
  }
  if (!module) return std::move(module).error();
  if (Status status = check_exports(**module); !status) return status.error();

  auto impl = std::make_unique<PluginImpl>();
  impl->name = std::string(name);
  impl->engine_name = std::string(tier->name());
  impl->services = state_->services;
  impl->module = std::move(*module);
  impl->has_initialize = impl->module->find_export("_initialize") != nullptr;

  if (impl->module->supports_images()) {
    // The image: a first instance, initialised once; observations start from a copy of it.
    runtime::InstanceContext context(state_->services, impl->name,
                                     state_->services->capabilities.grants(impl->name));
    engine::ExecutionControl control(engine::ExecutionControl::Clock::now() +
                                     options.load_timeout);
    auto instance = impl->module->instantiate(&context, nullptr, control);
    if (!instance) return std::move(instance).error();
    if (impl->has_initialize) {
      auto outcome = (*instance)->call("_initialize", {}, control);
      if (auto* trap = std::get_if<engine::Trap>(&outcome)) {
        Error error = trap->to_error();
        error.message = "_initialize failed: " + error.message;
        return error;
      }
    }
    impl->image = (*instance)->capture();
  }

  auto plugin = std::shared_ptr<Plugin>(new Plugin(std::move(impl)));
  std::lock_guard lock(state_->mutex);
  auto [it, inserted] = state_->plugins.emplace(std::string(name), plugin);
  return it->second;  // another thread may have loaded the same name meanwhile: first one wins
}

std::shared_ptr<Plugin> Runtime::get_plugin(std::string_view name) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->plugins.find(name);
  return it == state_->plugins.end() ? nullptr : it->second;
}

std::vector<std::string> Runtime::plugin_names() const {
  std::lock_guard lock(state_->mutex);
  std::vector<std::string> names;
  for (const auto& [name, plugin] : state_->plugins) names.push_back(name);
  return names;
}

void Runtime::close() {
  std::lock_guard lock(state_->mutex);
  state_->plugins.clear();
}

}  // namespace reglet
