// Built-in plugin `env`: whether an environment variable of the host is set, and its value.
// Needs env:NAME. A missing variable is evidence (found: false, status false).
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

sdk::Info describe() {
  return {"env", "1.0.0", "Reads an environment variable of the host", {{"env", "*"}}};
}

Json schema() {
  return sdk::Schema().string("name", "Name of the environment variable", sdk::Required).json();
}

sdk::Outcome observe(const Json& config) {
  const std::string name = config.value("name", "");
  if (name.empty()) return sdk::Outcome::error("config", "name must not be empty");
  auto response = sdk::host::env_get({{"name", name}});
  if (!response.ok()) return response.to_outcome();
  const bool found = response->value("found", false);
  return sdk::Outcome::evidence(
      found, {{"name", name}, {"found", found}, {"value", response->value("value", "")}});
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
