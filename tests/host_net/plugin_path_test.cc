// The network host functions through the real path: the SDK-built hostcall plugin calling
// reglet_host, loaded and run by reglet::Runtime (JSON in guest memory, responses through the
// guest's allocate, fresh instance per observation).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "host_net/harness.h"
#include "reglet/runtime.h"
#include "support/loopback_servers.h"

namespace reglet::test {
namespace {

using namespace std::chrono_literals;

std::vector<uint8_t> hostcall_wasm() {
  std::ifstream in(REGLET_TEST_PLUGIN_DIR "/hostcall.wasm", std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Runs on both engine tiers, with the same expectations.
class NetThroughGuest : public ::testing::TestWithParam<EngineKind> {
 protected:
  void SetUp() override {
    const std::vector<uint8_t> wasm = hostcall_wasm();
    ASSERT_FALSE(wasm.empty()) << "missing " REGLET_TEST_PLUGIN_DIR "/hostcall.wasm";
    RuntimeOptions options;
    options.engine = GetParam();
    options.aot_cache_dir = std::string(REGLET_TEST_BINARY_DIR) + "/../aot-cache";
    options.audit_log = std::make_shared<AuditLog>([this](const std::string& line) {
      std::lock_guard lock(mutex_);
      audit_.push_back(Json::parse(line));
    });
    runtime_ = std::make_unique<Runtime>(std::move(options));
    auto loaded = runtime_->load_plugin("hostcall", wasm);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    plugin_ = *loaded;
  }

  void grant(const std::string& capability) {
    auto status = runtime_->capabilities().grant("hostcall", capability);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
  }

  // {"response": ...} or {"error": {...}} as the guest saw it. Sent as a one-step session:
  // hostcall's schema declares "request" as an object of objects, so a request with string or
  // number fields given as {"function", "request"} fails config validation (invalid_config)
  // before the plugin runs; session steps are not typed by the schema.
  Result<Json> host_call(const std::string& function, const Json& request,
                         std::chrono::milliseconds timeout = 30s) {
    auto steps = session(Json::array({{{"function", function}, {"request", request}}}), timeout);
    if (!steps.ok()) return steps.error();
    if (!steps->is_array() || steps->size() != 1) {
      return make_error(ErrorCode::internal, "unexpected session result " + steps->dump());
    }
    return (*steps)[0];
  }

  Result<Json> session(const Json& steps, std::chrono::milliseconds timeout = 30s) {
    ObserveOptions options;
    options.timeout = timeout;
    auto evidence = plugin_->observe({{"function", "session"}, {"steps", steps}}, options);
    if (!evidence.ok()) return evidence.error();
    return evidence->data["steps"];
  }

  static ::testing::AssertionResult GuestError(const Result<Json>& data, std::string_view code,
                                               std::string_view fragment = {}) {
    if (!data.ok()) return ::testing::AssertionFailure() << data.error().to_string();
    if (!data->contains("error")) return ::testing::AssertionFailure() << data->dump();
    const Json& error = (*data)["error"];
    if (!error.is_object() || error.value("code", "") != code ||
        error.value("message", "").find(fragment) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "expected " << code << " with '" << fragment << "', got " << error.dump();
    }
    return ::testing::AssertionSuccess();
  }

  size_t audited(const std::string& capability, const std::string& decision) {
    std::lock_guard lock(mutex_);
    return static_cast<size_t>(std::count_if(audit_.begin(), audit_.end(), [&](const Json& e) {
      return e.value("capability", "") == capability && e.value("decision", "") == decision &&
             e.value("plugin", "") == "hostcall";
    }));
  }

  std::unique_ptr<Runtime> runtime_;
  std::shared_ptr<Plugin> plugin_;
  std::mutex mutex_;
  std::vector<Json> audit_;
};

TEST_P(NetThroughGuest, TcpConnect) {
  TcpServer server(TcpServer::Mode::hold);
  const std::string capability = "network:outbound:127.0.0.1:" + std::to_string(server.port());
  // Denied before the grant, named.
  EXPECT_TRUE(GuestError(host_call("tcp_connect", {{"host", "127.0.0.1"}, {"port", server.port()}}),
                         "capability_denied", capability));
  EXPECT_EQ(audited(capability, "deny"), 1u);
  grant("network:outbound:127.0.0.1:*");
  auto connected = host_call("tcp_connect", {{"host", "127.0.0.1"}, {"port", server.port()}});
  ASSERT_TRUE(connected.ok()) << connected.error().to_string();
  ASSERT_TRUE(connected->contains("response")) << connected->dump();
  EXPECT_EQ((*connected)["response"]["connected"], true);
  EXPECT_EQ((*connected)["response"]["remote_addr"], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(audited(capability, "allow"), 1u);
  // A refused connection is evidence, with an error string (not a host error object).
  auto refused = host_call("tcp_connect", {{"host", "127.0.0.1"}, {"port", closed_port()}});
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(refused->contains("response")) << refused->dump();
  EXPECT_EQ((*refused)["response"]["connected"], false);
  EXPECT_TRUE((*refused)["response"]["error"].is_string());
  EXPECT_TRUE(GuestError(host_call("tcp_connect", {{"host", "127.0.0.1"}, {"port", 0}}),
                         "invalid_argument"));
}

TEST_P(NetThroughGuest, AnyHostGrantDoesNotReachSpecialAddresses) {
  grant("network:outbound:*:*");
  for (const char* target : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "localhost"}) {
    EXPECT_TRUE(GuestError(host_call("tcp_connect", {{"host", target}, {"port", 80}}),
                           "capability_denied", "network:outbound:"))
        << target;
  }
}

TEST_P(NetThroughGuest, Session) {
  TcpServer server(TcpServer::Mode::greet_then_echo, nullptr, "HELLO\n");
  grant("network:outbound:127.0.0.1:*");
  auto steps = session(Json::array({
      {{"function", "net_connect"}, {"request", {{"host", "127.0.0.1"}, {"port", server.port()}}}},
      {{"function", "net_recv"}, {"request", {{"handle", "$handle"}, {"timeout_ms", 2000}}}},
      {{"function", "net_send"}, {"request", {{"handle", "$handle"}, {"data_b64", b64("ping")}}}},
      {{"function", "net_recv"}, {"request", {{"handle", "$handle"}, {"timeout_ms", 2000}}}},
      {{"function", "net_close"}, {"request", {{"handle", "$handle"}}}},
      {{"function", "net_send"}, {"request", {{"handle", "$handle"}, {"data_b64", b64("x")}}}},
  }));
  ASSERT_TRUE(steps.ok()) << steps.error().to_string();
  ASSERT_EQ(steps->size(), 6u) << steps->dump();
  EXPECT_TRUE((*steps)[0]["response"]["handle"].is_number_integer()) << steps->dump();
  EXPECT_EQ(unb64((*steps)[1]["response"]["data_b64"]), "HELLO\n");
  EXPECT_EQ((*steps)[2]["response"]["bytes_sent"], 4);
  EXPECT_EQ(unb64((*steps)[3]["response"]["data_b64"]), "ping");
  EXPECT_EQ((*steps)[4]["response"], Json::object());
  EXPECT_EQ((*steps)[5]["error"]["code"], "invalid_argument") << "closed handles are gone";
}

TEST_P(NetThroughGuest, HandlesFromNowhereAndAcrossObservations) {
  TcpServer server(TcpServer::Mode::hold);
  grant("network:outbound:127.0.0.1:*");
  EXPECT_TRUE(GuestError(host_call("net_send", {{"handle", 1}, {"data_b64", b64("x")}}),
                         "invalid_argument", "handle"));
  EXPECT_TRUE(GuestError(host_call("net_recv", {{"handle", 424242}}), "invalid_argument"));
  // A handle left open is closed with its instance, and is not valid in the next observation.
  auto opened = host_call("net_connect", {{"host", "127.0.0.1"}, {"port", server.port()}});
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(opened->contains("response")) << opened->dump();
  const Json handle = (*opened)["response"]["handle"];
  const auto end = std::chrono::steady_clock::now() + 3s;
  while (server.finished() < 1 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.finished(), 1u) << "the socket must close with the instance";
  EXPECT_TRUE(GuestError(host_call("net_send", {{"handle", handle}, {"data_b64", b64("x")}}),
                         "invalid_argument"));
}

TEST_P(NetThroughGuest, DeadlineEndsABlockedReceive) {
  TcpServer server(TcpServer::Mode::hold);
  grant("network:outbound:127.0.0.1:*");
  const auto start = std::chrono::steady_clock::now();
  auto steps = session(
      Json::array({
          {{"function", "net_connect"},
           {"request", {{"host", "127.0.0.1"}, {"port", server.port()}}}},
          {{"function", "net_recv"}, {"request", {{"handle", "$handle"}, {"timeout_ms", 60000}}}},
      }),
      500ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  // Either the guest saw the host's timeout error and the engine then stopped it at its
  // deadline, or it finished first with the timeout error in its evidence.
  if (steps.ok()) {
    EXPECT_EQ((*steps)[1]["error"]["code"], "timeout") << steps->dump();
  } else {
    EXPECT_EQ(steps.error().code, ErrorCode::timeout) << steps.error().to_string();
  }
}

TEST_P(NetThroughGuest, DnsLookup) {
  DnsServer dns;
  dns.add_a("host.test", "192.0.2.7");
  EXPECT_TRUE(GuestError(
      host_call("dns_lookup", {{"hostname", "host.test"}, {"nameserver", dns.address()}}),
      "capability_denied", "network:outbound:127.0.0.1:" + std::to_string(dns.port())));
  grant("network:outbound:127.0.0.1:" + std::to_string(dns.port()));
  auto result = host_call("dns_lookup", {{"hostname", "host.test"}, {"nameserver", dns.address()}});
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(result->contains("response")) << result->dump();
  EXPECT_EQ((*result)["response"]["records"], Json::array({"192.0.2.7"}));
  auto missing =
      host_call("dns_lookup", {{"hostname", "nope.test"}, {"nameserver", dns.address()}});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ((*missing)["response"]["is_not_found"], true);
}

TEST_P(NetThroughGuest, HttpRequestAndRedirectToMetadata) {
  HttpServer server([](const HttpServer::Request& request) {
    if (request.target == "/meta") {
      return HttpServer::Response::redirect(302, "http://169.254.169.254/latest/meta-data/");
    }
    return HttpServer::Response::make(200, "guest ok", {{"X-Test", "1"}});
  });
  grant("network:outbound:127.0.0.1:" + std::to_string(server.port()));
  grant("network:outbound:*:*");
  auto ok = host_call("http_request", {{"method", "GET"}, {"url", server.url("/")}});
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->contains("response")) << ok->dump();
  EXPECT_EQ((*ok)["response"]["status_code"], 200);
  EXPECT_EQ((*ok)["response"]["headers"]["x-test"], "1");
  EXPECT_EQ(unb64((*ok)["response"]["body_b64"]), "guest ok");
  EXPECT_TRUE(GuestError(host_call("http_request", {{"url", server.url("/meta")}}),
                         "capability_denied", "network:outbound:169.254.169.254:80"));
  EXPECT_TRUE(
      GuestError(host_call("http_request", {{"url", "file:///etc/passwd"}}), "invalid_argument"));
}

INSTANTIATE_TEST_SUITE_P(Tiers, NetThroughGuest, ::testing::Values(EngineKind::interp, EngineKind::aot),
                         [](const auto& info) {
                           return std::string(info.param == EngineKind::aot ? "aot" : "interp");
                         });

}  // namespace
}  // namespace reglet::test
