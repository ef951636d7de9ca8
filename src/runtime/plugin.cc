// Plugin: one compiled module, its pre-initialised image, and the ABI calls (SPEC §2).
#include <mutex>

#include "engine/engine.h"
#include "reglet/runtime.h"
#include "runtime/abi/guest_memory.h"
#include "runtime/abi/results.h"
#include "runtime/abi/schema.h"
#include "runtime/host/context.h"
#include "runtime/host/host_call.h"
#include "runtime/plugin_impl.h"

namespace reglet {

using engine::ExecutionControl;
using engine::Trap;
using engine::Value;
using runtime::GuestMemory;
using runtime::GuestRange;

namespace {

// The Caller view of a top-level instance, so that the host's response writer (which asks the
// guest's `allocate` for a buffer) serves the host's own input writes too.
class TopLevelCaller final : public engine::Caller {
 public:
  TopLevelCaller(engine::Instance& instance, ExecutionControl& control, void* host_data)
      : instance_(instance), control_(control), host_data_(host_data) {}
  std::span<uint8_t> memory() override { return instance_.memory(); }
  engine::Outcome<std::vector<Value>> call(std::string_view name,
                                           std::span<const Value> args) override {
    return instance_.call(name, args, control_);
  }
  ExecutionControl& control() override { return control_; }
  void* host_data() override { return host_data_; }

 private:
  engine::Instance& instance_;
  ExecutionControl& control_;
  void* host_data_;
};

Result<void> call_void(engine::Instance& instance, std::string_view name,
                       std::span<const Value> args, ExecutionControl& control) {
  auto outcome = instance.call(name, args, control);
  if (auto* trap = std::get_if<Trap>(&outcome)) return trap->to_error();
  return {};
}

}  // namespace

Result<std::string> PluginImpl::call_json(std::string_view export_name,
                                          const std::string* input,
                                          const CallSettings& settings) const {
  runtime::InstanceContext context(services, name, services->capabilities.grants(name),
                                   settings.request_id);
  ExecutionControl control(ExecutionControl::Clock::now() + settings.timeout);
  if (settings.cancel) control.link(settings.cancel->flag());

  auto created = module->instantiate(&context, image ? &*image : nullptr, control);
  if (!created) return std::move(created).error();
  engine::Instance& instance = **created;
  if (!image && has_initialize) {
    if (auto status = call_void(instance, "_initialize", {}, control); !status) return status.error();
  }

  std::vector<Value> args;
  GuestRange in{};
  if (input) {
    TopLevelCaller caller(instance, control, &context);
    auto written = runtime::write_to_guest(caller, *input);
    if (auto* trap = std::get_if<Trap>(&written)) return trap->to_error();
    in = runtime::unpack(std::get<uint64_t>(written));
    args = {Value::i32(in.ptr), Value::i32(in.len)};
  }

  auto outcome = instance.call(export_name, args, control);
  if (auto* trap = std::get_if<Trap>(&outcome)) return trap->to_error();
  const auto& results = std::get<std::vector<Value>>(outcome);
  const GuestRange out = runtime::unpack(results.at(0).as_i64());
  const std::string what(export_name);
  if (out.ptr == 0 || out.len == 0) {
    return make_error(ErrorCode::abi_error, what + " returned an empty result (pointer " +
                                                std::to_string(out.ptr) + ", length " +
                                                std::to_string(out.len) + ")");
  }
  if (out.len > settings.max_output) {
    return make_error(ErrorCode::abi_error, what + " returned " + std::to_string(out.len) +
                                                " bytes, above the limit of " +
                                                std::to_string(settings.max_output));
  }
  GuestMemory memory(instance.memory());
  auto text = memory.string(out.ptr, out.len);
  if (!text) {
    return make_error(ErrorCode::abi_error,
                      what + " returned the range [" + std::to_string(out.ptr) + ", +" +
                          std::to_string(out.len) + ") outside the " +
                          std::to_string(memory.size()) + "-byte memory");
  }
  std::string copy(*text);

  if (input) {
    Value release[] = {Value::i32(in.ptr), Value::i32(in.len)};
    if (auto status = call_void(instance, "deallocate", release, control); !status) {
      return status.error();
    }
  }
  Value release[] = {Value::i32(out.ptr), Value::i32(out.len)};
  if (auto status = call_void(instance, "deallocate", release, control); !status) {
    return status.error();
  }
  return copy;
}

Plugin::Plugin(std::unique_ptr<PluginImpl> impl) : impl_(std::move(impl)) {}
Plugin::~Plugin() = default;

const std::string& Plugin::name() const { return impl_->name; }
std::string_view Plugin::engine_name() const { return impl_->engine_name; }

Result<PluginInfo> Plugin::describe() const {
  std::lock_guard lock(impl_->cache_mutex);
  if (!impl_->info) {
    auto text = impl_->call_json("describe", nullptr, impl_->default_settings());
    if (!text) {
      impl_->info.emplace(std::move(text).error());
    } else if (auto json = runtime::parse_plugin_json(*text, "describe result"); !json) {
      impl_->info.emplace(std::move(json).error());
    } else {
      impl_->info.emplace(runtime::parse_plugin_info(*json));
    }
  }
  return *impl_->info;
}

Result<ConfigSchema> Plugin::schema() const {
  std::lock_guard lock(impl_->cache_mutex);
  if (!impl_->schema) {
    auto text = impl_->call_json("schema", nullptr, impl_->default_settings());
    if (!text) {
      impl_->schema.emplace(std::move(text).error());
    } else if (auto json = runtime::parse_plugin_json(*text, "schema result"); !json) {
      impl_->schema.emplace(std::move(json).error());
    } else {
      impl_->schema.emplace(runtime::parse_config_schema(*json));
    }
  }
  return *impl_->schema;
}

Result<Evidence> Plugin::observe(const Config& config, const ObserveOptions& options) const {
  auto schema_result = schema();
  if (!schema_result) return schema_result.error();
  if (Status status = runtime::validate_config(schema_result->raw, config); !status) {
    return status.error();
  }

  PluginImpl::CallSettings settings = impl_->default_settings();
  if (options.timeout) settings.timeout = *options.timeout;
  settings.cancel = options.cancel;
  settings.request_id = options.request_id;
  const std::string input = config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  auto text = impl_->call_json("observe", &input, settings);
  if (!text) return std::move(text).error();
  auto json = runtime::parse_plugin_json(*text, "observe result");
  if (!json) return std::move(json).error();
  auto evidence = runtime::parse_observe_result(*json, std::move(*text));
  if (!evidence) return evidence;
  evidence->timestamp = std::chrono::system_clock::now();
  return evidence;
}

}  // namespace reglet
