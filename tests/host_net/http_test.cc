// http_request against real HTTP and HTTPS servers on loopback: responses, bounds, deadlines,
// redirects (each hop re-checked), TLS, and SSRF attempts.
#include <gtest/gtest.h>

#include <thread>

#include "host_net/harness.h"
#include "support/loopback_servers.h"

namespace reglet::test {
namespace {

using namespace std::chrono_literals;
namespace host = runtime::host;
using Response = HttpServer::Response;

class HttpRequest : public ::testing::Test {
 protected:
  static Response route(const HttpServer::Request& request, uint16_t other_port) {
    const std::string& target = request.target;
    const std::string other = std::to_string(other_port);
    if (target == "/") return Response::make(200, "hello", {{"Content-Type", "text/plain"}});
    if (target == "/missing") return Response::make(404, "nope");
    if (target == "/headers") {
      return Response::make(
          200, "",
          {{"X-Multi", "a"}, {"X-Multi", "b"}, {"X-Single", "one"}, {"Set-Cookie", "k=v"}});
    }
    if (target == "/echo") {
      return Response::make(200, request.body,
                            {{"X-Method", request.method},
                             {"X-Auth", request.header("authorization")},
                             {"X-Custom", request.header("x-custom")},
                             {"X-Host", request.header("host")}});
    }
    if (target == "/big") return Response::make(200, std::string(100'000, 'x'));
    if (target == "/slow") {
      Response response = Response::make(200, "late");
      response.delay = 3000ms;
      return response;
    }
    if (target == "/slowbody") {
      Response response = Response::make(200, "late");
      response.body_delay = 3000ms;
      return response;
    }
    if (target.starts_with("/chain/")) {
      // /chain/N redirects N times (301 with a relative "../" reference, 302 with an
      // absolute path, alternately), then answers 200.
      const int n = std::stoi(target.substr(7));
      if (n == 0) return Response::make(200, "end of chain");
      const std::string next = "chain/" + std::to_string(n - 1);
      return n % 2 == 0 ? Response::redirect(301, "../" + next)
                        : Response::redirect(302, "/" + next);
    }
    if (target == "/absolute") {
      // An absolute URL to another origin (by name) of the same server.
      const std::string host = request.header("host");
      return Response::redirect(307,
                                "http://localhost:" + host.substr(host.rfind(':') + 1) + "/echo");
    }
    if (target == "/to-other-port")
      return Response::redirect(302, "http://127.0.0.1:" + other + "/");
    if (target == "/to-metadata") {
      return Response::redirect(302, "http://169.254.169.254/latest/meta-data/iam/");
    }
    if (target == "/to-private") return Response::redirect(302, "http://10.0.0.1/");
    if (target == "/to-v6-loopback") return Response::redirect(302, "http://[::1]:" + other + "/");
    if (target == "/to-file") return Response::redirect(302, "file:///etc/passwd");
    if (target == "/loop") return Response::redirect(302, "/loop");
    if (target == "/see-other") return Response::redirect(303, "/echo");
    if (target == "/temporary") return Response::redirect(307, "/echo");
    if (target == "/found") return Response::redirect(302, "/echo");
    if (target == "/folded") {
      return Response::verbatim(
          "HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 0\r\n"
          "Connection: close\r\n\r\n");
    }
    if (target == "/informational") {
      return Response::verbatim(
          "HTTP/1.1 100 Continue\r\nX-Early: yes\r\n\r\nHTTP/1.1 200 OK\r\n"
          "X-Final: yes\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    }
    return Response::make(500);
  }

  void SetUp() override {
    other_ = std::make_unique<HttpServer>(
        [](const HttpServer::Request&) { return Response::make(200, "other"); });
    const uint16_t other_port = other_->port();
    server_ = std::make_unique<HttpServer>(
        [other_port](const HttpServer::Request& request) { return route(request, other_port); });
  }

  std::string grant_main() const {
    return "network:outbound:127.0.0.1:" + std::to_string(server_->port());
  }

  Result<Json> get(Harness& harness, const std::string& path, Json extra = Json::object(),
                   std::chrono::milliseconds call_timeout = std::chrono::seconds(30)) {
    Json request = {{"method", "GET"}, {"url", server_->url(path)}};
    request.update(extra);
    return harness.call(host::http_request, request, call_timeout);
  }

  std::unique_ptr<HttpServer> other_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpRequest, SimpleGet) {
  Harness harness({grant_main()});
  auto result = get(harness, "/");
  ASSERT_TRUE(IsOk(result));
  const Json& r = *result;
  EXPECT_EQ(r["status_code"], 200);
  EXPECT_EQ(unb64(r["body_b64"]), "hello");
  EXPECT_EQ(r["body_size"], 5);
  EXPECT_EQ(r["truncated"], false);
  EXPECT_EQ(r["protocol"], "HTTP/1.1");
  EXPECT_EQ(r["headers"]["content-type"], "text/plain");
  EXPECT_EQ(r["redirects"], Json::array());
  EXPECT_EQ(r["url"], server_->url("/"));
  EXPECT_EQ(r["remote_addr"], "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_GE(r["response_time_ms"].get<int64_t>(), 0);
  EXPECT_FALSE(r.contains("tls_version"));
  auto audit = harness.audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["decision"], "allow");
  EXPECT_EQ(audit[0]["request"]["url"], server_->url("/"));
}

TEST_F(HttpRequest, StatusCodesAreResponsesNotErrors) {
  Harness harness({grant_main()});
  auto result = get(harness, "/missing");
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["status_code"], 404);
  EXPECT_EQ(unb64((*result)["body_b64"]), "nope");
}

TEST_F(HttpRequest, HeadersLowerCasedAndJoined) {
  Harness harness({grant_main()});
  auto result = get(harness, "/headers");
  ASSERT_TRUE(IsOk(result));
  const Json& headers = (*result)["headers"];
  EXPECT_EQ(headers["x-multi"], "a, b");
  EXPECT_EQ(headers["x-single"], "one");
  EXPECT_EQ(headers["set-cookie"], "k=v");
  EXPECT_FALSE(headers.contains("X-Single"));
  auto folded = get(harness, "/folded");
  ASSERT_TRUE(IsOk(folded));
  EXPECT_EQ((*folded)["headers"]["x-folded"], "first second");
  auto informational = get(harness, "/informational");
  ASSERT_TRUE(IsOk(informational));
  EXPECT_EQ((*informational)["status_code"], 200);
  EXPECT_EQ((*informational)["headers"]["x-final"], "yes");
  EXPECT_FALSE((*informational)["headers"].contains("x-early")) << "1xx headers are dropped";
}

TEST_F(HttpRequest, PostWithBodyAndHeaders) {
  Harness harness({grant_main()});
  auto result = harness.call(host::http_request,
                             {{"method", "post"},
                              {"url", server_->url("/echo")},
                              {"headers", {{"X-Custom", "value 1"}, {"Authorization", "Bearer t"}}},
                              {"body_b64", b64("payload\x01\x02")}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["status_code"], 200);
  EXPECT_EQ((*result)["headers"]["x-method"], "POST");
  EXPECT_EQ((*result)["headers"]["x-custom"], "value 1");
  EXPECT_EQ((*result)["headers"]["x-auth"], "Bearer t");
  EXPECT_EQ(unb64((*result)["body_b64"]), "payload\x01\x02");
  auto head = harness.call(host::http_request, {{"method", "HEAD"}, {"url", server_->url("/")}});
  ASSERT_TRUE(IsOk(head));
  EXPECT_EQ((*head)["status_code"], 200);
  EXPECT_EQ((*head)["body_size"], 0);
  auto put = harness.call(host::http_request, {{"method", "PUT"}, {"url", server_->url("/echo")}});
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ((*put)["headers"]["x-method"], "PUT");
}

TEST_F(HttpRequest, BodyIsBounded) {
  Harness harness({grant_main()});
  auto result = get(harness, "/big", {{"max_body_bytes", 1000}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["truncated"], true);
  EXPECT_EQ((*result)["body_size"], 1000);
  EXPECT_EQ(unb64((*result)["body_b64"]), std::string(1000, 'x'));
  auto whole = get(harness, "/big");
  ASSERT_TRUE(IsOk(whole));
  EXPECT_EQ((*whole)["truncated"], false);
  EXPECT_EQ((*whole)["body_size"], 100'000);
  // The runtime's bound applies whatever the request asks for.
  RuntimeOptions small;
  small.max_host_response_bytes = 4096;
  Harness bounded({grant_main()}, small);
  auto capped = get(bounded, "/big", {{"max_body_bytes", 1'000'000'000}});
  ASSERT_TRUE(IsOk(capped));
  EXPECT_EQ((*capped)["body_size"], 4096);
  EXPECT_EQ((*capped)["truncated"], true);
}

TEST_F(HttpRequest, Deadlines) {
  Harness harness({grant_main()});
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsError(get(harness, "/slow", {{"timeout_ms", 300}}), ErrorCode::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsError(get(harness, "/slow", Json::object(), 300ms), ErrorCode::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsError(get(harness, "/slowbody", Json::object(), 300ms), ErrorCode::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpRequest, Cancellation) {
  Harness harness({grant_main()});
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([flag] {
    std::this_thread::sleep_for(200ms);
    flag->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  auto result = harness.call(host::http_request, {{"url", server_->url("/slow")}}, 30s, flag);
  canceller.join();
  EXPECT_TRUE(IsError(result, ErrorCode::cancelled));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST_F(HttpRequest, RedirectChainsRelativeAndAbsolute) {
  Harness harness({"network:outbound:127.0.0.1:*"});
  auto result = get(harness, "/chain/4");
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["status_code"], 200);
  EXPECT_EQ(unb64((*result)["body_b64"]), "end of chain");
  const Json& redirects = (*result)["redirects"];
  ASSERT_EQ(redirects.size(), 4u) << *result;
  EXPECT_EQ(redirects[0]["url"], server_->url("/chain/4"));
  EXPECT_EQ(redirects[0]["status"], 301);
  EXPECT_EQ(redirects[0]["location"], server_->url("/chain/3"));
  EXPECT_EQ(redirects[1]["status"], 302);
  EXPECT_EQ((*result)["url"], server_->url("/chain/0"));
  // Every hop was checked and audited.
  EXPECT_EQ(harness.audit().size(), 5u);

  auto absolute = get(harness, "/absolute");
  ASSERT_TRUE(IsOk(absolute));
  EXPECT_EQ((*absolute)["status_code"], 200);
  EXPECT_EQ((*absolute)["headers"]["x-host"], "localhost:" + std::to_string(server_->port()));

  auto not_followed = get(harness, "/chain/1", {{"follow_redirects", false}});
  ASSERT_TRUE(IsOk(not_followed));
  EXPECT_EQ((*not_followed)["status_code"], 302);
  EXPECT_EQ((*not_followed)["headers"]["location"], "/chain/0");
  EXPECT_EQ((*not_followed)["redirects"], Json::array());
}

TEST_F(HttpRequest, RedirectMethodsAndCredentials) {
  Harness harness({"network:outbound:127.0.0.1:*"});
  const Json post = {
      {"method", "POST"}, {"body_b64", b64("data")}, {"headers", {{"Authorization", "secret"}}}};
  auto see_other = get(harness, "/see-other", post);
  ASSERT_TRUE(IsOk(see_other));
  EXPECT_EQ((*see_other)["headers"]["x-method"], "GET");
  EXPECT_EQ(unb64((*see_other)["body_b64"]), "");
  auto found = get(harness, "/found", post);
  ASSERT_TRUE(IsOk(found));
  EXPECT_EQ((*found)["headers"]["x-method"], "GET");
  auto temporary = get(harness, "/temporary", post);
  ASSERT_TRUE(IsOk(temporary));
  EXPECT_EQ((*temporary)["headers"]["x-method"], "POST");
  EXPECT_EQ(unb64((*temporary)["body_b64"]), "data");
  EXPECT_EQ((*temporary)["headers"]["x-auth"], "secret") << "same origin keeps credentials";
  // To another origin (127.0.0.1 -> localhost), credentials are dropped.
  auto cross = get(harness, "/absolute", post);
  ASSERT_TRUE(IsOk(cross));
  EXPECT_EQ((*cross)["headers"]["x-auth"], "");
}

TEST_F(HttpRequest, RedirectToDeniedDestinationsStops) {
  // The first hop is granted; where it redirects is not.
  Harness harness({grant_main(), "network:outbound:*:*"});
  EXPECT_TRUE(IsError(get(harness, "/to-other-port"), ErrorCode::capability_denied,
                      "network:outbound:127.0.0.1:" + std::to_string(other_->port())));
  EXPECT_TRUE(IsError(get(harness, "/to-metadata"), ErrorCode::capability_denied,
                      "network:outbound:169.254.169.254:80"));
  EXPECT_TRUE(IsError(get(harness, "/to-private"), ErrorCode::capability_denied,
                      "network:outbound:10.0.0.1:80"));
  EXPECT_TRUE(IsError(get(harness, "/to-v6-loopback"), ErrorCode::capability_denied,
                      "network:outbound:[::1]:" + std::to_string(other_->port())));
  EXPECT_TRUE(other_->requests().empty()) << "a denied hop is never contacted";
  bool saw_denied_hop = false;
  for (const auto& record : harness.audit()) {
    if (record["decision"] == "deny" && record["request"].contains("redirect"))
      saw_denied_hop = true;
  }
  EXPECT_TRUE(saw_denied_hop);
}

TEST_F(HttpRequest, UnusableRedirects) {
  Harness harness({"network:outbound:127.0.0.1:*"});
  EXPECT_TRUE(IsError(get(harness, "/loop"), ErrorCode::io_error, "redirects"));
  EXPECT_EQ(server_->requests().size(), 11u) << "the first request and 10 redirects";
  EXPECT_TRUE(IsError(get(harness, "/to-file"), ErrorCode::io_error, "http or https"));
}

TEST_F(HttpRequest, DeniedAndSsrf) {
  Harness none({});
  EXPECT_TRUE(IsError(get(none, "/"), ErrorCode::capability_denied,
                      "network:outbound:127.0.0.1:" + std::to_string(server_->port())));
  Harness any({"network:outbound:*:*", "network:outbound:80,443"});
  const std::string port = std::to_string(server_->port());
  for (const std::string& url : std::vector<std::string>{
           server_->url("/"), "http://localhost:" + port + "/", "http://[::1]:" + port + "/",
           "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:" + port,
           "http://[::ffff:127.0.0.1]:" + port + "/", "http://127.1:" + port + "/",
           "http://2130706433:" + port + "/", "http://0x7f000001:" + port + "/",
           "https://169.254.169.254/"}) {
    auto result = any.call(host::http_request, {{"url", url}});
    ASSERT_FALSE(result.ok()) << url << " -> " << *result;
    EXPECT_TRUE(result.error().code == ErrorCode::capability_denied ||
                result.error().code == ErrorCode::invalid_argument)
        << url << ": " << result.error().to_string();
  }
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(HttpRequest, CredentialsInTheUrlAreNotReported) {
  Harness harness({grant_main()});
  const std::string url = "http://user:pa55@127.0.0.1:" + std::to_string(server_->port()) + "/echo";
  auto result = harness.call(host::http_request, {{"url", url}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["url"].get<std::string>().find("pa55"), std::string::npos);
  EXPECT_EQ((*result)["headers"]["x-auth"], "Basic dXNlcjpwYTU1");
  for (const auto& record : harness.audit()) {
    EXPECT_EQ(record.dump().find("pa55"), std::string::npos);
  }
}

TEST_F(HttpRequest, BadArguments) {
  Harness harness({"network:outbound:*:*", grant_main()});
  const std::string url = server_->url("/");
  const std::vector<Json> bad = {
      Json::object(),
      {{"url", 5}},
      {{"url", ""}},
      {{"url", "not a url"}},
      {{"url", "ftp://127.0.0.1/"}},
      {{"url", "file:///etc/passwd"}},
      {{"url", "gopher://127.0.0.1:70/"}},
      {{"url", "http://"}},
      {{"url", "//127.0.0.1/"}},
      {{"url", "http://exa mple.com/"}},
      {{"url", url}, {"method", "GE T"}},
      {{"url", url}, {"method", "CONNECT"}},
      {{"url", url}, {"method", 1}},
      {{"url", url}, {"headers", "x"}},
      {{"url", url}, {"headers", {{"X-A", 1}}}},
      {{"url", url}, {"headers", {{"Bad Name", "v"}}}},
      {{"url", url}, {"headers", {{"X-A", "v\r\nInjected: 1"}}}},
      {{"url", url}, {"headers", {{"Content-Length", "5"}}}},
      {{"url", url}, {"headers", {{"Host", "evil.example"}}}},
      {{"url", url}, {"body_b64", "%%%"}},
      {{"url", url}, {"max_body_bytes", -1}},
      {{"url", url}, {"timeout_ms", 0}},
      {{"url", url}, {"follow_redirects", "yes"}},
      {{"url", url}, {"insecure_skip_verify", 1}},
      {{"url", url}, {"ca_cert_pem", "garbage"}},
      {{"url", url + std::string(9000, 'a')}},
  };
  for (const Json& request : bad) {
    EXPECT_TRUE(IsError(harness.call(host::http_request, request), ErrorCode::invalid_argument))
        << request.dump().substr(0, 200);
  }
  EXPECT_TRUE(server_->requests().empty());
}

TEST(HttpIpv6, LiteralUrlWithAnIpGrant) {
  HttpServer server([](const HttpServer::Request&) { return Response::make(200, "v6"); }, nullptr,
                    "::1");
  Harness harness({"network:outbound:[::1]:" + std::to_string(server.port())});
  auto result = harness.call(host::http_request, {{"url", server.url("/")}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ(unb64((*result)["body_b64"]), "v6");
  EXPECT_EQ((*result)["remote_addr"], "[::1]:" + std::to_string(server.port()));
}

TEST(HttpsRequest, TlsVerificationAndFacts) {
  const TestCertificate certificate = TestCertificate::generate();
  HttpServer server([](const HttpServer::Request&) { return Response::make(200, "secure"); },
                    &certificate);
  Harness harness({"network:outbound:127.0.0.1:*"});
  // Verified against the system store by default: a self-signed certificate fails.
  EXPECT_TRUE(IsError(harness.call(host::http_request, {{"url", server.url("/")}}),
                      ErrorCode::io_error, "certificate"));
  auto trusted = harness.call(host::http_request,
                              {{"url", server.url("/")}, {"ca_cert_pem", certificate.cert_pem}});
  ASSERT_TRUE(IsOk(trusted));
  EXPECT_EQ((*trusted)["status_code"], 200);
  EXPECT_EQ(unb64((*trusted)["body_b64"]), "secure");
  EXPECT_EQ((*trusted)["tls_version"], "TLS 1.3");
  EXPECT_EQ((*trusted)["tls_cert_subject"], certificate.subject);
  EXPECT_EQ((*trusted)["tls_cert_issuer"], certificate.issuer);
  EXPECT_EQ((*trusted)["tls_cert_not_after"], certificate.not_after);
  EXPECT_EQ((*trusted)["tls_cert_days_remaining"], 30);
  EXPECT_TRUE((*trusted)["tls_cipher_suite"].get<std::string>().starts_with("TLS_"));
  auto insecure =
      harness.call(host::http_request, {{"url", server.url("/")}, {"insecure_skip_verify", true}});
  ASSERT_TRUE(IsOk(insecure));
  EXPECT_EQ((*insecure)["status_code"], 200);
  EXPECT_EQ((*insecure)["tls_cert_subject"], certificate.subject);
  // By name, with the CA: host name verification passes for localhost.
  const std::string by_name = "https://localhost:" + std::to_string(server.port()) + "/";
  auto named =
      harness.call(host::http_request, {{"url", by_name}, {"ca_cert_pem", certificate.cert_pem}});
  ASSERT_TRUE(IsOk(named));
  EXPECT_EQ((*named)["status_code"], 200);
}

}  // namespace
}  // namespace reglet::test
