// Benchmark plugin: the least an SDK plugin can do (no host calls, one field of evidence), so
// that observing it measures the runtime's fixed cost per observation: config validation, a
// fresh instance from the image, the ABI round trip and parsing the result.
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;

namespace {

sdk::Info describe() {
  return {"trivial", "1.0.0", "Returns success with one field", {}};
}

sdk::Json schema() {
  return sdk::Schema().string("name", "Echoed back", false, "x").json();
}

sdk::Outcome observe(const sdk::Json& config) {
  return sdk::Outcome::success({{"name", config.value("name", "x")}});
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
