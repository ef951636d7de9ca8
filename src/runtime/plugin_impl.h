// What a Plugin holds. Internal to the runtime.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/engine.h"
#include "reglet/runtime.h"
#include "runtime/host/context.h"

namespace reglet {

struct PluginImpl {
  struct CallSettings {
    std::chrono::milliseconds timeout;
    std::optional<CancelToken> cancel;
    std::string request_id;
    size_t max_output;
  };

  std::string name;
  std::string engine_name;
  std::shared_ptr<const runtime::Services> services;
  std::shared_ptr<engine::Module> module;
  std::optional<engine::InstanceImage> image;  // absent: every call runs `_initialize` afresh
  bool has_initialize = false;

  mutable std::mutex cache_mutex;
  mutable std::optional<Result<PluginInfo>> info;
  mutable std::optional<Result<ConfigSchema>> schema;

  CallSettings default_settings() const {
    return {services->options.default_timeout, std::nullopt, {},
            services->options.max_evidence_bytes};
  }

  // One ABI call in a fresh instance: optional JSON input (allocate, write, call, deallocate),
  // packed JSON output checked, copied out and deallocated.
  Result<std::string> call_json(std::string_view export_name, const std::string* input,
                                const CallSettings& settings) const;
};

}  // namespace reglet
