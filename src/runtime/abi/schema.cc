#include "runtime/abi/schema.h"

#include <algorithm>
#include <regex>
#include <string>

namespace reglet::runtime {
namespace {

constexpr int kMaxDepth = 32;

std::string type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "integer";
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "value";
  }
}

bool has_type(const nlohmann::json& value, std::string_view type) {
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  if (type == "number") return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer()) return true;
    if (value.is_number_float()) {
      double d = value.get<double>();
      return d == static_cast<double>(static_cast<int64_t>(d));
    }
    return false;
  }
  return true;  // an unknown type name constrains nothing
}

std::string where(const std::string& path) { return path.empty() ? "config" : path; }

Error invalid(const std::string& path, const std::string& what) {
  return make_error(ErrorCode::invalid_config, where(path) + ": " + what);
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

Status validate(const nlohmann::json& schema, const nlohmann::json& value, const std::string& path,
                int depth) {
  if (!schema.is_object()) return {};
  if (depth > kMaxDepth) return invalid(path, "nested too deeply");

  if (auto it = schema.find("type"); it != schema.end()) {
    bool ok = false;
    std::string expected;
    if (it->is_string()) {
      expected = it->get<std::string>();
      ok = has_type(value, expected);
    } else if (it->is_array()) {
      for (const auto& t : *it) {
        if (!t.is_string()) continue;
        if (!expected.empty()) expected += " or ";
        expected += t.get<std::string>();
        ok = ok || has_type(value, t.get<std::string>());
      }
    } else {
      ok = true;
    }
    if (!ok) return invalid(path, "expected " + expected + ", got " + type_name(value));
  }

  if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
    bool found = false;
    for (const auto& allowed : *it) found = found || allowed == value;
    if (!found) return invalid(path, "must be one of " + it->dump() + ", got " + value.dump());
  }
  if (auto it = schema.find("const"); it != schema.end() && *it != value) {
    return invalid(path, "must be " + it->dump());
  }

  if (value.is_number()) {
    const double number = value.get<double>();
    auto bound = [&](const char* key) -> std::optional<double> {
      auto it = schema.find(key);
      if (it == schema.end() || !it->is_number()) return std::nullopt;
      return it->get<double>();
    };
    if (auto min = bound("minimum"); min && number < *min) {
      return invalid(path, "must be at least " + schema["minimum"].dump());
    }
    if (auto max = bound("maximum"); max && number > *max) {
      return invalid(path, "must be at most " + schema["maximum"].dump());
    }
    if (auto min = bound("exclusiveMinimum"); min && number <= *min) {
      return invalid(path, "must be greater than " + schema["exclusiveMinimum"].dump());
    }
    if (auto max = bound("exclusiveMaximum"); max && number >= *max) {
      return invalid(path, "must be less than " + schema["exclusiveMaximum"].dump());
    }
  }

  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (auto it = schema.find("minLength"); it != schema.end() && it->is_number_unsigned() &&
                                            text.size() < it->get<size_t>()) {
      return invalid(path, "must be at least " + it->dump() + " characters long");
    }
    if (auto it = schema.find("maxLength"); it != schema.end() && it->is_number_unsigned() &&
                                            text.size() > it->get<size_t>()) {
      return invalid(path, "must be at most " + it->dump() + " characters long");
    }
    if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
      try {
        if (!std::regex_search(text, std::regex(it->get<std::string>()))) {
          return invalid(path, "does not match the pattern " + it->dump());
        }
      } catch (const std::regex_error&) {
        // A schema with a pattern we cannot compile constrains nothing rather than failing
        // every observation; the plugin author sees the pattern unchecked.
      }
    }
  }

  if (value.is_array()) {
    if (auto it = schema.find("minItems"); it != schema.end() && it->is_number_unsigned() &&
                                           value.size() < it->get<size_t>()) {
      return invalid(path, "needs at least " + it->dump() + " items");
    }
    if (auto it = schema.find("maxItems"); it != schema.end() && it->is_number_unsigned() &&
                                           value.size() > it->get<size_t>()) {
      return invalid(path, "allows at most " + it->dump() + " items");
    }
    if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
      for (size_t i = 0; i < value.size(); ++i) {
        Status status = validate(*it, value[i], path + "[" + std::to_string(i) + "]", depth + 1);
        if (!status) return status;
      }
    }
  }

  if (value.is_object()) {
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const auto& key : *it) {
        if (key.is_string() && !value.contains(key.get<std::string>())) {
          return invalid(join(path, key.get<std::string>()), "is required");
        }
      }
    }
    const nlohmann::json* properties = nullptr;
    if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) {
      properties = &*it;
    }
    const auto additional = schema.find("additionalProperties");
    for (const auto& [key, member] : value.items()) {
      if (properties && properties->contains(key)) {
        Status status = validate((*properties)[key], member, join(path, key), depth + 1);
        if (!status) return status;
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          return invalid(join(path, key), "is not a known field");
        }
        Status status = validate(*additional, member, join(path, key), depth + 1);
        if (!status) return status;
      }
    }
  }
  return {};
}

}  // namespace

Result<ConfigSchema> parse_config_schema(const nlohmann::json& raw) {
  if (!raw.is_object()) return make_error(ErrorCode::abi_error, "schema is not a JSON object");
  ConfigSchema schema;
  schema.raw = raw;
  std::vector<std::string> required;
  if (auto it = raw.find("required"); it != raw.end() && it->is_array()) {
    for (const auto& key : *it) {
      if (key.is_string()) required.push_back(key.get<std::string>());
    }
  }
  if (auto it = raw.find("properties"); it != raw.end() && it->is_object()) {
    for (const auto& [name, property] : it->items()) {
      ConfigField field;
      field.name = name;
      field.required = std::find(required.begin(), required.end(), name) != required.end();
      if (property.is_object()) {
        if (auto t = property.find("type"); t != property.end()) {
          field.type = t->is_string() ? t->get<std::string>() : t->dump();
        }
        field.description = property.value("description", std::string());
        if (auto d = property.find("default"); d != property.end()) field.default_value = *d;
        if (auto e = property.find("enum"); e != property.end() && e->is_array()) {
          field.allowed.assign(e->begin(), e->end());
        }
      }
      schema.fields.push_back(std::move(field));
    }
  }
  return schema;
}

Status validate_config(const nlohmann::json& schema, const nlohmann::json& config) {
  if (!config.is_object()) {
    return make_error(ErrorCode::invalid_config,
                      "config must be a JSON object, got " + type_name(config));
  }
  return validate(schema, config, "", 0);
}

}  // namespace reglet::runtime
