// Benchmark plugin: bench/plugins/trivial written with the SDK's lean JSON (JsonFields in,
// JsonWriter out) instead of Json trees. Same config, same evidence; the difference between the
// two is what building and destroying nlohmann trees costs a guest.
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;

namespace {

sdk::Info describe() {
  return {"trivial_lean", "1.0.0", "Returns success with one field", {}};
}

sdk::Json schema() {
  return sdk::Schema().string("name", "Echoed back", false, "x").json();
}

sdk::Outcome observe(const sdk::JsonFields& config) {
  const sdk::JsonValue name = config.find("name");
  sdk::JsonWriter data;
  data.begin_object();
  if (name.is_string()) {
    data.raw_field("name", name.raw());  // already a JSON string: passed on as it is
  } else {
    data.field("name", "x");
  }
  data.end_object();
  return sdk::Outcome::evidence(true, std::move(data));
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
