// Built-in plugin `dns`: resolves a name (A, AAAA, CNAME, MX, TXT, NS), optionally against a
// given nameserver. No records, NXDOMAIN or a timeout are evidence (status false).
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

sdk::Info describe() {
  return {"dns", "1.0.0", "Resolves DNS records", {{"network", "outbound:53"}}};
}

Json schema() {
  return sdk::Schema()
      .string("hostname", "Name to resolve", sdk::Required)
      .string("record_type", "Record type", false, "A")
      .one_of("record_type", {"A", "AAAA", "CNAME", "MX", "TXT", "NS"})
      .string("nameserver", "Nameserver as host:port (default: the system's resolvers)")
      .json();
}

sdk::Outcome observe(const Json& config) {
  Json request = {{"hostname", config.value("hostname", "")},
                  {"type", config.value("record_type", "A")}};
  if (config.contains("nameserver")) request["nameserver"] = config["nameserver"];
  auto response = sdk::host::dns_lookup(request);
  if (!response.ok()) {
    if (response.error().code == "timeout") {
      return sdk::Outcome::failure({{"hostname", request["hostname"]},
                                    {"record_type", request["type"]},
                                    {"records", Json::array()},
                                    {"record_count", 0},
                                    {"is_timeout", true},
                                    {"is_not_found", false}});
    }
    return response.to_outcome();
  }
  Json records = response->value("records", Json::array());
  Json data = {{"hostname", request["hostname"]},
               {"record_type", request["type"]},
               {"records", records},
               {"record_count", records.size()},
               {"query_time_ms", response->value("query_time_ms", 0)},
               {"is_not_found", response->value("is_not_found", false)},
               {"is_timeout", response->value("is_timeout", false)}};
  if (response->contains("mx_records")) data["mx_records"] = (*response)["mx_records"];
  if (response->contains("nameserver")) data["nameserver"] = (*response)["nameserver"];
  return sdk::Outcome::evidence(!records.empty(), data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
