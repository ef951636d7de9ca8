// Built-in plugin `tcp`: whether a TCP port accepts connections, optionally with TLS and its
// certificate facts. A refused or timed-out connection is evidence (connected: false).
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

sdk::Info describe() {
  return {"tcp", "1.0.0", "Checks that a TCP port accepts connections, optionally with TLS",
          {{"network", "outbound:*"}}};
}

Json schema() {
  return sdk::Schema()
      .string("host", "Host name or IP address", sdk::Required)
      .integer("port", "TCP port", sdk::Required)
      .minimum("port", 1)
      .maximum("port", 65535)
      .integer("timeout_ms", "Connection timeout in milliseconds", false, 5000)
      .minimum("timeout_ms", 1)
      .boolean("tls", "Perform a TLS handshake and report the certificate", false, false)
      .json();
}

sdk::Outcome observe(const Json& config) {
  Json request = {{"host", config.value("host", "")},
                  {"port", config.value("port", 0)},
                  {"timeout_ms", config.value("timeout_ms", 5000)},
                  {"tls", config.value("tls", false)}};
  auto response = sdk::host::tcp_connect(request);
  if (!response.ok()) return response.to_outcome();
  Json data = *response;
  const bool connected = data.value("connected", false);
  data["connected"] = connected;
  return sdk::Outcome::evidence(connected, data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
