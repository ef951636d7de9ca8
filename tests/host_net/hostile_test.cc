// Hostile requests to every network host function: every field given every wrong type and
// boundary value. Nothing may throw, crash or hang; the answer is a response or an error.
#include <gtest/gtest.h>

#include "host_net/harness.h"

namespace reglet::test {
namespace {

using namespace std::chrono_literals;
namespace host = runtime::host;

std::vector<Json> hostile_values() {
  return {
      nullptr,
      true,
      -1,
      0,
      1.5,
      1e308,
      -1e308,
      Json(18446744073709551615ull),
      Json(-9223372036854775807ll - 1),
      "",
      std::string("a\0b", 3),
      "\r\nInjected: 1",
      std::string(100'000, 'a'),
      "$handle",
      "[::1]",
      "%00",
      "http://169.254.169.254/",
      "\xff\xfe",
      Json::array(),
      Json::array({1, "x", nullptr}),
      Json::object(),
      {{"a", {{"b", Json::array()}}}},
  };
}

TEST(HostileRequests, NoHandlerThrowsOrCrashes) {
  const std::vector<std::pair<std::string, std::pair<host::Handler*, Json>>> functions = {
      {"net_connect", {host::net_connect, {{"host", "127.0.0.1"}, {"port", 9}}}},
      {"net_send", {host::net_send, {{"handle", 1}, {"data_b64", ""}}}},
      {"net_recv", {host::net_recv, {{"handle", 1}, {"timeout_ms", 10}}}},
      {"net_close", {host::net_close, {{"handle", 1}}}},
      {"tcp_connect", {host::tcp_connect, {{"host", "127.0.0.1"}, {"port", 9}}}},
      {"dns_lookup",
       {host::dns_lookup, {{"hostname", "example.test"}, {"nameserver", "127.0.0.1"}}}},
      {"http_request", {host::http_request, {{"url", "http://127.0.0.1:9/"}}}},
  };
  const std::vector<std::string> fields = {
      "host",           "port",   "timeout_ms", "tls",       "server_name", "insecure_skip_verify",
      "ca_cert_pem",    "handle", "data_b64",   "max_bytes", "hostname",    "type",
      "nameserver",     "method", "url",        "headers",   "body_b64",    "follow_redirects",
      "max_body_bytes", "context"};
  // No grants: nothing can be reached, so every request ends without touching the network.
  Harness harness({});
  size_t calls = 0;
  for (const auto& [name, entry] : functions) {
    const auto& [fn, base] = entry;
    for (const std::string& field : fields) {
      for (const Json& value : hostile_values()) {
        Json request = base;
        request[field] = value;
        auto result = harness.call(fn, request, 2s);
        ++calls;
        if (!result.ok()) {
          const ErrorCode code = result.error().code;
          EXPECT_TRUE(code == ErrorCode::invalid_argument || code == ErrorCode::capability_denied)
              << name << "." << field << " = " << value.dump().substr(0, 80) << ": "
              << result.error().to_string();
          EXPECT_LT(result.error().message.size(), 4096u) << "messages stay bounded";
        }
      }
    }
  }
  EXPECT_GT(calls, 3000u);
  for (const auto& record : harness.audit()) EXPECT_EQ(record["decision"], "deny");
}

}  // namespace
}  // namespace reglet::test
