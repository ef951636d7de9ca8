#include "runtime/abi/results.h"

namespace reglet::runtime {
namespace {

std::string excerpt(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) ? '?' : c;
  }
  if (text.size() > kMax) out += "...";
  return out;
}

std::string string_member(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

Result<nlohmann::json> parse_plugin_json(std::string_view text, std::string_view what) {
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return make_error(ErrorCode::abi_error,
                      std::string(what) + " is not valid JSON: \"" + excerpt(text) + "\"");
  }
  if (!json.is_object()) {
    return make_error(ErrorCode::abi_error,
                      std::string(what) + " is not a JSON object: \"" + excerpt(text) + "\"");
  }
  return json;
}

Result<PluginInfo> parse_plugin_info(const nlohmann::json& json) {
  PluginInfo info;
  info.raw = json;
  info.name = string_member(json, "name");
  info.version = string_member(json, "version");
  info.description = string_member(json, "description");
  if (info.name.empty()) return make_error(ErrorCode::abi_error, "describe: missing \"name\"");
  if (auto it = json.find("capabilities"); it != json.end() && !it->is_null()) {
    if (!it->is_array()) {
      return make_error(ErrorCode::abi_error, "describe: \"capabilities\" is not an array");
    }
    for (const auto& entry : *it) {
      // {"kind": "fs", "pattern": "read:/etc/**"}, or the "fs:read:/etc/**" string form.
      if (entry.is_object()) {
        info.capabilities.push_back(
            Capability{string_member(entry, "kind"), string_member(entry, "pattern")});
      } else if (entry.is_string()) {
        const std::string text = entry.get<std::string>();
        const auto colon = text.find(':');
        if (colon == std::string::npos) {
          return make_error(ErrorCode::abi_error, "describe: capability \"" + text +
                                                      "\" is not of the form kind:pattern");
        }
        info.capabilities.push_back(Capability{text.substr(0, colon), text.substr(colon + 1)});
      } else {
        return make_error(ErrorCode::abi_error, "describe: a capability is neither an object "
                                                "nor a string");
      }
    }
  }
  return info;
}

Result<Evidence> parse_observe_result(const nlohmann::json& json, std::string raw) {
  Evidence evidence;
  evidence.raw = std::move(raw);
  if (auto status = json.find("status"); status != json.end()) {
    if (!status->is_boolean()) {
      return make_error(ErrorCode::abi_error, "observe result: \"status\" is not a boolean");
    }
    evidence.status = status->get<bool>();
    if (auto data = json.find("data"); data != json.end() && !data->is_null()) {
      if (!data->is_object()) {
        return make_error(ErrorCode::abi_error, "observe result: \"data\" is not an object");
      }
      evidence.data = *data;
    }
    if (auto error = json.find("error"); error != json.end() && !error->is_null()) {
      PluginError plugin_error;
      if (error->is_object()) {
        plugin_error.message = string_member(*error, "message");
        plugin_error.type = string_member(*error, "type");
        plugin_error.code = string_member(*error, "code");
      } else {
        plugin_error.message = error->is_string() ? error->get<std::string>() : error->dump();
      }
      if (plugin_error.code.empty()) plugin_error.code = "plugin_error";
      evidence.error = std::move(plugin_error);
    }
    return evidence;
  }
  // The older flat shape: the object is the data; an "error" string alone makes it an error.
  if (auto error = json.find("error"); error != json.end() && error->is_string()) {
    evidence.status = false;
    evidence.error = PluginError{"plugin_error", error->get<std::string>(), ""};
    nlohmann::json data = json;
    data.erase("error");
    evidence.data = std::move(data);
    return evidence;
  }
  evidence.status = true;
  evidence.data = json;
  return evidence;
}

}  // namespace reglet::runtime
