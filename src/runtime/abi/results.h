// Decoding what plugins return (SPEC §2): describe's plugin info, and observe's result in both
// shapes — the Go SDK's {status, data, error{message, type, code}} and the older flat object.
#pragma once

#include <string_view>

#include "reglet/error.h"
#include "reglet/types.h"

namespace reglet::runtime {

// Parses JSON text that must be an object (abi_error otherwise, quoting the start of the text).
Result<nlohmann::json> parse_plugin_json(std::string_view text, std::string_view what);

Result<PluginInfo> parse_plugin_info(const nlohmann::json& json);
// The timestamp is left to the caller; `raw` is kept.
Result<Evidence> parse_observe_result(const nlohmann::json& json, std::string raw);

}  // namespace reglet::runtime
