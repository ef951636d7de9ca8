// Built-in plugin `http`: makes an HTTP(S) request and reports status, headers, timing and a
// hash and preview of the body. The verdict is the expected status (2xx/3xx by default) and, when
// given, that the body contains a string. A failed connection is evidence (status false).
#include <reglet/sdk.h>
#include <reglet/sha256.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

constexpr int kDefaultPreview = 1024;
constexpr int kMaxPreview = 64 * 1024;

sdk::Info describe() {
  return {"http", "1.0.0", "Makes an HTTP(S) request and checks the response",
          {{"network", "outbound:80,443"}}};
}

Json schema() {
  return sdk::Schema()
      .string("url", "http:// or https:// URL", sdk::Required)
      .string("method", "HTTP method", false, "GET")
      .object("headers", "string", "Request headers")
      .string("body", "Request body")
      .integer("timeout_ms", "Timeout in milliseconds", false, 30000)
      .minimum("timeout_ms", 1)
      .boolean("follow_redirects", "Follow redirects (each hop is checked)", false, true)
      .integer("expected_status", "Status code that makes the check pass")
      .string("expected_body_contains", "Text the body must contain")
      .integer("body_preview_length", "Bytes of the body to include", false, kDefaultPreview)
      .minimum("body_preview_length", 0)
      .maximum("body_preview_length", kMaxPreview)
      .json();
}

sdk::Outcome observe(const Json& config) {
  const std::string url = config.value("url", "");
  Json request = {{"method", config.value("method", "GET")},
                  {"url", url},
                  {"headers", config.value("headers", Json::object())},
                  {"timeout_ms", config.value("timeout_ms", 30000)},
                  {"follow_redirects", config.value("follow_redirects", true)}};
  if (config.contains("body")) request["body_b64"] = sdk::base64_encode(config.value("body", ""));
  auto response = sdk::host::http_request(request);
  if (!response.ok()) {
    const std::string code = response.error().code;
    // Could not connect, timed out, TLS failure: what the check found, not a fault.
    if (code == "connection_failed" || code == "timeout" || code == "tls_error" ||
        code == "io_error") {
      return sdk::Outcome::failure({{"url", url},
                                    {"status_code", 0},
                                    {"error", response.error().message},
                                    {"error_code", code},
                                    {"expectation_failed", true}});
    }
    return response.to_outcome();
  }
  const Json& r = *response;
  std::string body;
  sdk::base64_decode(r.value("body_b64", ""), body);
  sdk::Sha256 hasher;
  hasher.update(body);
  const int status_code = r.value("status_code", 0);
  const size_t preview = static_cast<size_t>(config.value("body_preview_length", kDefaultPreview));

  bool status_ok;
  if (config.contains("expected_status")) {
    status_ok = status_code == config.value("expected_status", 0);
  } else {
    status_ok = status_code >= 200 && status_code < 400;
  }
  bool body_ok = true;
  if (config.contains("expected_body_contains")) {
    body_ok = body.find(config.value("expected_body_contains", "")) != std::string::npos;
  }
  Json data = {{"url", url},
               {"status_code", status_code},
               {"response_time_ms", r.value("response_time_ms", 0)},
               {"protocol", r.value("protocol", "")},
               {"headers", r.value("headers", Json::object())},
               {"body_size", r.value("body_size", body.size())},
               {"body_sha256", hasher.hex()},
               {"body", body.substr(0, preview)},
               {"body_truncated", r.value("truncated", false)},
               {"redirects", r.value("redirects", Json::array())},
               {"expectation_failed", !(status_ok && body_ok)}};
  for (const char* key : {"tls_version", "tls_cipher_suite", "tls_cert_subject", "tls_cert_issuer",
                          "tls_cert_not_after", "tls_cert_days_remaining"}) {
    if (r.contains(key)) data[key] = r[key];
  }
  return sdk::Outcome::evidence(status_ok && body_ok, data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
