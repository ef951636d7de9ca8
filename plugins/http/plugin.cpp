// Built-in plugin `http`: makes an HTTP(S) request and reports status, headers, timing and a
// hash and preview of the body. The verdict is the expected status (2xx/3xx by default) and, when
// given, that the body contains a string. A failed connection is evidence (status false).
#include <reglet/sdk.h>
#include <reglet/sha256.h>

namespace sdk = reglet::sdk;
using sdk::Json;

namespace {

// Reglet's http plugin: 200 characters of preview by default, -1 for the whole body, 0 for none.
constexpr int kDefaultPreview = 200;
// The evidence must stay below the runtime's 1 MiB limit even when every byte of the preview is
// escaped in JSON (up to 6 bytes each), so "the whole body" means at most this much of it.
constexpr int kMaxPreview = 64 * 1024;
constexpr int kDefaultTimeoutMs = 30000;

sdk::Info describe() {
  return {"http",
          "1.0.0",
          "Makes an HTTP(S) request and checks the response",
          {{"network", "outbound:80,443"}}};
}

Json schema() {
  return sdk::Schema()
      .string("url", "http:// or https:// URL", sdk::Required)
      .string("method", "HTTP method", false, "GET")
      .one_of("method", {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"})
      .object("headers", "string", "Request headers")
      .string("body", "Request body")
      .integer("timeout_ms", "Timeout in milliseconds", false, kDefaultTimeoutMs)
      .minimum("timeout_ms", 1)
      .integer("timeout_seconds", "Timeout in seconds (Reglet's form; timeout_ms wins)")
      .minimum("timeout_seconds", 1)
      .boolean("follow_redirects", "Follow redirects (each hop is checked)", false, true)
      .integer("expected_status", "Status code that makes the check pass (default: any 2xx/3xx)")
      .string("expected_body_contains", "Text the body must contain")
      .integer("body_preview_length",
               "Bytes of the body to include as body (0: none, -1: the whole body, up to 64 KiB)",
               false, kDefaultPreview)
      .minimum("body_preview_length", -1)
      .maximum("body_preview_length", kMaxPreview)
      .string("ca_cert_pem",
              "PEM certificates to trust for https instead of the system's (a private CA)")
      .boolean("insecure_skip_verify", "Do not verify the https certificate", false, false)
      .json();
}

// At most `limit` bytes of `body`, not ending inside a UTF-8 sequence (a cut character would come
// out as U+FFFD in the evidence).
std::string preview_of(const std::string& body, size_t limit) {
  if (body.size() <= limit) return body;
  size_t end = limit;
  size_t back = 0;
  while (end > 0 && back < 3 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) {
    --end;
    ++back;
  }
  return body.substr(0, end);
}

sdk::Outcome observe(const Json& config) {
  const std::string url = config.value("url", "");
  // 64-bit: Reglet's timeout_seconds in milliseconds must not overflow an int.
  int64_t timeout_ms = kDefaultTimeoutMs;
  if (config.contains("timeout_ms")) {
    timeout_ms = config.value("timeout_ms", int64_t{kDefaultTimeoutMs});
  } else if (config.contains("timeout_seconds")) {
    timeout_ms = config.value("timeout_seconds", int64_t{30}) * 1000;
  }
  Json request = {{"method", config.value("method", "GET")},
                  {"url", url},
                  {"headers", config.value("headers", Json::object())},
                  {"timeout_ms", timeout_ms},
                  {"follow_redirects", config.value("follow_redirects", true)}};
  if (config.contains("body")) request["body_b64"] = sdk::base64_encode(config.value("body", ""));
  if (config.contains("ca_cert_pem")) request["ca_cert_pem"] = config["ca_cert_pem"];
  if (config.value("insecure_skip_verify", false)) request["insecure_skip_verify"] = true;
  auto response = sdk::host::http_request(request);
  if (!response.ok()) {
    const std::string code = response.error().code;
    // Could not connect, timed out, TLS failure (the host's io_error and timeout): what the
    // check found, not a fault.
    if (code == "io_error" || code == "timeout") {
      return sdk::Outcome::failure({{"url", url},
                                    {"status_code", 0},
                                    {"error", response.error().message},
                                    {"error_code", code},
                                    {"is_timeout", code == "timeout"},
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

  bool status_ok;
  std::string expectation_error;
  if (config.contains("expected_status")) {
    const int expected = config.value("expected_status", 0);
    status_ok = status_code == expected;
    if (!status_ok) {
      expectation_error =
          "expected status " + std::to_string(expected) + ", got " + std::to_string(status_code);
    }
  } else {
    status_ok = status_code >= 200 && status_code < 400;
    if (!status_ok) expectation_error = "status " + std::to_string(status_code) + " is not 2xx/3xx";
  }
  bool body_ok = true;
  if (config.contains("expected_body_contains")) {
    const std::string needle = config.value("expected_body_contains", "");
    body_ok = body.find(needle) != std::string::npos;
    if (!body_ok && expectation_error.empty()) {
      expectation_error = "expected the body to contain '" + needle + "'";
    }
  }
  const bool host_truncated = r.value("truncated", false);
  Json data = {{"url", url},
               {"final_url", r.value("url", url)},
               {"status_code", status_code},
               {"response_time_ms", r.value("response_time_ms", 0)},
               {"protocol", r.value("protocol", "")},
               {"headers", r.value("headers", Json::object())},
               {"body_size", r.value("body_size", body.size())},
               {"body_sha256", hasher.hex()},
               {"redirects", r.value("redirects", Json::array())},
               {"expectation_failed", !(status_ok && body_ok)}};
  const int preview = config.value("body_preview_length", kDefaultPreview);
  if (preview != 0) {
    const std::string shown =
        preview_of(body, static_cast<size_t>(preview < 0 ? kMaxPreview : preview));
    // Cut for the preview, or cut by the host's body limit (then body_size and body_sha256 are
    // of what was received).
    data["body_truncated"] = shown.size() < body.size() || host_truncated;
    data["body"] = shown;
  } else {
    data["body_truncated"] = host_truncated;
  }
  if (!expectation_error.empty()) data["expectation_error"] = expectation_error;
  for (const char* key : {"tls_version", "tls_cipher_suite", "tls_cert_subject", "tls_cert_issuer",
                          "tls_cert_not_after", "tls_cert_days_remaining", "remote_addr"}) {
    if (r.contains(key)) data[key] = r[key];
  }
  return sdk::Outcome::evidence(status_ok && body_ok, data);
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
