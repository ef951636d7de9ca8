// Host types of the plugin ABI. They mirror Reglet's WIT interface `reglet:plugin`
// (docs/reglet-plugin.wit): PluginInfo <-> plugin-info, Capability <-> capability,
// Config <-> config, Evidence <-> evidence, PluginError <-> error, ConfigSchema <-> config-schema.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "reglet/capability.h"
#include "reglet/error.h"

namespace reglet {

// What describe() returns.
struct PluginInfo {
  std::string name;
  std::string version;
  std::string description;
  std::vector<Capability> capabilities;  // what the plugin declares it may need
  nlohmann::json raw;                    // the plugin's JSON as it came
};

// One property of a config schema.
struct ConfigField {
  std::string name;
  std::string type;  // JSON Schema type ("string", "integer", ...); empty when not given
  bool required = false;
  std::string description;
  std::optional<nlohmann::json> default_value;
  std::vector<nlohmann::json> allowed;  // "enum", when given
};

// What schema() returns: the JSON Schema as it came, and its top-level properties as fields.
struct ConfigSchema {
  std::vector<ConfigField> fields;
  nlohmann::json raw;
};

// An observation's config: a JSON object.
using Config = nlohmann::json;

// An error a plugin reported in its own result (as opposed to a host-side Error).
struct PluginError {
  std::string code;     // e.g. "capability_denied", "invalid_config", or "plugin_error"
  std::string message;
  std::string type;     // Go SDK: config, network, timeout, capability, validation, internal
};

// The outcome of one observation.
struct Evidence {
  bool status = false;  // the plugin's own verdict on what it checked
  std::chrono::system_clock::time_point timestamp;
  nlohmann::json data = nlohmann::json::object();
  std::optional<PluginError> error;
  std::string raw;  // the result JSON exactly as the plugin wrote it

  // {"status", "data", "timestamp" (RFC 3339, UTC, milliseconds)[, "error"]}
  nlohmann::json to_json() const;
};

std::string format_rfc3339(std::chrono::system_clock::time_point time);

}  // namespace reglet
