// Config schemas: a plugin's schema() is a JSON Schema object. The host keeps it raw, lists its
// top-level properties as fields, and validates every observation's config against it before
// `observe` runs (invalid_config naming the field).
#pragma once

#include <nlohmann/json.hpp>

#include "reglet/error.h"
#include "reglet/types.h"

namespace reglet::runtime {

// abi_error when `raw` is not a JSON object.
Result<ConfigSchema> parse_config_schema(const nlohmann::json& raw);

// The subset of JSON Schema that plugin schemas use: type (a name or a list), properties,
// required, additionalProperties (false or a schema), items, enum, const, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, minLength, maxLength, minItems, maxItems, pattern. Unknown
// keywords are ignored, as JSON Schema prescribes. Errors name the field as a path ("headers.Accept").
Status validate_config(const nlohmann::json& schema, const nlohmann::json& config);

}  // namespace reglet::runtime
