// Built-in plugin `dns`: resolves a name (A, AAAA, CNAME, MX, TXT, NS), optionally against a
// given nameserver. No records, NXDOMAIN or a timeout are evidence (status false).
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

constexpr int kDefaultTimeoutMs = 5000;

sdk::Info describe() {
  return {"dns", "1.0.0", "Resolves DNS records", {{"network", "outbound:53"}}};
}

Json schema() {
  return sdk::Schema()
      .string("hostname", "Name to resolve", sdk::Required)
      .string("record_type", "Record type", false, "A")
      .one_of("record_type", {"A", "AAAA", "CNAME", "MX", "TXT", "NS"})
      .string("nameserver",
              "Nameserver as host or host:port (default: the system's resolvers from "
              "/etc/resolv.conf); needs network:outbound to it")
      .integer("timeout_ms", "How long to wait for an answer, in milliseconds", false,
               kDefaultTimeoutMs)
      .minimum("timeout_ms", 1)
      .json();
}

sdk::Outcome observe(const Json& config) {
  const std::string hostname = config.value("hostname", "");
  const std::string type = config.value("record_type", "A");
  Json request = {{"hostname", hostname},
                  {"type", type},
                  {"timeout_ms", config.value("timeout_ms", int64_t{kDefaultTimeoutMs})}};
  if (config.contains("nameserver")) request["nameserver"] = config["nameserver"];
  auto response = sdk::host::dns_lookup(request);
  if (!response.ok()) {
    // The observation's own deadline passed during the query (the request's timeout_ms is
    // answered as is_timeout evidence by the host).
    if (response.error().code == "timeout") {
      return sdk::Outcome::failure({{"hostname", hostname},
                                    {"record_type", type},
                                    {"records", Json::array()},
                                    {"record_count", 0},
                                    {"is_timeout", true},
                                    {"is_not_found", false},
                                    {"error", response.error().message}});
    }
    return response.to_outcome();
  }
  Json records = response->value("records", Json::array());
  Json data = {{"hostname", hostname},
               {"record_type", type},
               {"records", records},
               {"record_count", records.size()},
               {"query_time_ms", response->value("query_time_ms", 0)},
               {"is_not_found", response->value("is_not_found", false)},
               {"is_timeout", response->value("is_timeout", false)}};
  if (type == "MX") data["mx_records"] = response->value("mx_records", Json::array());
  // Why there are no records (SERVFAIL, REFUSED, a nameserver that could not be reached) and the
  // server asked: evidence a profile can look at, which used to be dropped.
  for (const char* key : {"nameserver", "rcode", "error"}) {
    if (response->contains(key)) data[key] = (*response)[key];
  }
  return sdk::Outcome::evidence(!records.empty(), data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
