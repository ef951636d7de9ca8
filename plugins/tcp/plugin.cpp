// Built-in plugin `tcp`: whether a TCP port accepts connections, optionally with TLS and its
// certificate facts. A refused or timed-out connection is evidence (connected: false).
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

sdk::Info describe() {
  return {"tcp",
          "1.0.0",
          "Checks that a TCP port accepts connections, optionally with TLS",
          {{"network", "outbound:*"}}};
}

Json schema() {
  Json out =
      sdk::Schema()
          .string("host", "Host name or IP address", sdk::Required)
          .integer("port", "TCP port (1-65535), as a number or a decimal string", sdk::Required)
          .minimum("port", 1)
          .maximum("port", 65535)
          .integer("timeout_ms", "Connection timeout in milliseconds", false, 5000)
          .minimum("timeout_ms", 1)
          .boolean("tls", "Perform a TLS handshake and report the certificate", false, false)
          .string("expected_tls_version",
                  "Lowest acceptable TLS version (with tls); below it the check fails")
          .one_of("expected_tls_version", {"TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"})
          .json();
  // Reglet's tcp plugin takes the port as a string ("443"), and a profile variable substituted
  // into a string gives one too: accept both; the host checks the string is a port.
  out["properties"]["port"]["type"] = {"integer", "string"};
  return out;
}

// "TLS 1.2" -> 12; 0 for anything else.
int tls_rank(const std::string& version) {
  if (version == "TLS 1.0") return 10;
  if (version == "TLS 1.1") return 11;
  if (version == "TLS 1.2") return 12;
  if (version == "TLS 1.3") return 13;
  return 0;
}

sdk::Outcome observe(const Json& config) {
  const bool tls = config.value("tls", false);
  Json request = {{"host", config.value("host", "")},
                  {"port", config.contains("port") ? config["port"] : Json(0)},
                  {"timeout_ms", config.value("timeout_ms", int64_t{5000})},
                  {"tls", tls}};
  auto response = sdk::host::tcp_connect(request);
  if (!response.ok()) return response.to_outcome();
  Json data = *response;
  const bool connected = data.value("connected", false);
  data["connected"] = connected;
  data["tls"] = tls;
  bool status = connected;
  // Reglet's expected_tls_version: the check fails when the negotiated version is lower.
  const std::string expected = config.value("expected_tls_version", "");
  if (connected && !expected.empty()) {
    const std::string actual = data.value("tls_version", "");
    const bool met = tls && tls_rank(actual) >= tls_rank(expected);
    data["expectation_failed"] = !met;
    if (!met) {
      data["expectation_error"] = "expected TLS version >= " + expected + ", got " +
                                  (actual.empty() ? std::string("no TLS") : actual);
      status = false;
    }
  }
  return sdk::Outcome::evidence(status, data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
