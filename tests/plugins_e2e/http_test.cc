// The `http` plugin end to end, against HTTP and HTTPS servers on loopback.
#include <gtest/gtest.h>

#include "plugins_e2e/e2e_support.h"
#include "support/loopback_servers.h"

namespace reglet::e2e {
namespace {

using test::HttpServer;
using test::TestCertificate;
using Response = HttpServer::Response;

std::string grant_for(const HttpServer& server) {
  return "network:outbound:127.0.0.1:" + std::to_string(server.port());
}

const std::string kPage = "<html><body>reglet says hello, and then some more text</body></html>";

// A small site: / answers kPage, /a -> /b -> /c redirects, /echo returns the request body,
// /missing is 404.
Response site(const HttpServer::Request& request) {
  if (request.target == "/") {
    return Response::make(200, kPage, {{"Content-Type", "text/html"}, {"X-Test", "yes"}});
  }
  if (request.target == "/a") return Response::redirect(302, "/b");
  if (request.target == "/b") return Response::redirect(301, "/c");
  if (request.target == "/c") return Response::make(200, "landed");
  if (request.target == "/echo") {
    return Response::make(201, request.method + ":" + request.body,
                          {{"X-Content-Type", request.header("content-type")}});
  }
  return Response::make(404, "not here");
}

TEST(HttpPlugin, OkWithHeadersAndBody) {
  HttpServer server(site);
  json out = evidence_of(observe("http", {{"url", server.url("/")}, {"body_preview_length", 12}},
                                 {grant_for(server)}));
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["status_code"], 200);
  EXPECT_TRUE(data["response_time_ms"].is_number());
  EXPECT_EQ(data["protocol"], "HTTP/1.1");
  EXPECT_EQ(data["headers"]["content-type"], "text/html");
  EXPECT_EQ(data["headers"]["x-test"], "yes");
  EXPECT_EQ(data["body_size"], kPage.size());
  EXPECT_EQ(data["body_sha256"], sha256_hex(kPage));
  EXPECT_EQ(data["body"], kPage.substr(0, 12));
  EXPECT_EQ(data["body_truncated"], true);
  EXPECT_EQ(data["redirects"], json::array());
  EXPECT_EQ(data["expectation_failed"], false);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "GET");
}

TEST(HttpPlugin, BodyPreviewDefaultAndWholeAndNone) {
  const std::string big(500, 'x');
  HttpServer server([&](const HttpServer::Request&) { return Response::make(200, big); });
  json by_default = evidence_of(observe("http", {{"url", server.url("/")}}, {grant_for(server)}));
  EXPECT_EQ(by_default["data"]["body"], big.substr(0, 200));  // Reglet's default preview

  json whole = evidence_of(observe("http", {{"url", server.url("/")}, {"body_preview_length", -1}},
                                   {grant_for(server)}));
  EXPECT_EQ(whole["data"]["body"], big);
  EXPECT_EQ(whole["data"]["body_truncated"], false);

  json none = evidence_of(
      observe("http", {{"url", server.url("/")}, {"body_preview_length", 0}}, {grant_for(server)}));
  EXPECT_FALSE(none["data"].contains("body"));
  EXPECT_EQ(none["data"]["body_sha256"], sha256_hex(big));
}

TEST(HttpPlugin, DefaultVerdictIs2xxOr3xx) {
  HttpServer server(site);
  json out = evidence_of(observe("http", {{"url", server.url("/missing")}}, {grant_for(server)}));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["status_code"], 404);
  EXPECT_EQ(out["data"]["expectation_failed"], true);
}

TEST(HttpPlugin, ExpectedStatus) {
  HttpServer server(site);
  json met = evidence_of(observe(
      "http", {{"url", server.url("/missing")}, {"expected_status", 404}}, {grant_for(server)}));
  EXPECT_EQ(met["status"], true);
  EXPECT_EQ(met["data"]["expectation_failed"], false);

  json unmet = evidence_of(
      observe("http", {{"url", server.url("/")}, {"expected_status", 204}}, {grant_for(server)}));
  EXPECT_EQ(unmet["status"], false);
  EXPECT_EQ(unmet["data"]["status_code"], 200);
  EXPECT_EQ(unmet["data"]["expectation_failed"], true);
  EXPECT_TRUE(unmet["data"]["expectation_error"].is_string());
}

TEST(HttpPlugin, ExpectedBodyContains) {
  HttpServer server(site);
  json met = evidence_of(
      observe("http", {{"url", server.url("/")}, {"expected_body_contains", "reglet says hello"}},
              {grant_for(server)}));
  EXPECT_EQ(met["status"], true);
  EXPECT_EQ(met["data"]["expectation_failed"], false);

  // Beyond the preview still counts: the whole body is searched.
  json far = evidence_of(observe("http",
                                 {{"url", server.url("/")},
                                  {"expected_body_contains", "more text"},
                                  {"body_preview_length", 5}},
                                 {grant_for(server)}));
  EXPECT_EQ(far["status"], true);

  json unmet =
      evidence_of(observe("http", {{"url", server.url("/")}, {"expected_body_contains", "goodbye"}},
                          {grant_for(server)}));
  EXPECT_EQ(unmet["status"], false);
  EXPECT_EQ(unmet["data"]["expectation_failed"], true);
}

TEST(HttpPlugin, RedirectChain) {
  HttpServer server(site);
  json out = evidence_of(observe("http", {{"url", server.url("/a")}}, {grant_for(server)}));
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["status_code"], 200);
  EXPECT_EQ(data["body"], "landed");
  ASSERT_EQ(data["redirects"].size(), 2u) << data.dump();
  EXPECT_EQ(data["redirects"][0]["url"], server.url("/a"));
  EXPECT_EQ(data["redirects"][0]["status"], 302);
  EXPECT_EQ(data["redirects"][0]["location"], server.url("/b"));
  EXPECT_EQ(data["redirects"][1]["status"], 301);
  EXPECT_EQ(data["redirects"][1]["location"], server.url("/c"));
}

TEST(HttpPlugin, RedirectsNotFollowed) {
  HttpServer server(site);
  json out = evidence_of(observe("http", {{"url", server.url("/a")}, {"follow_redirects", false}},
                                 {grant_for(server)}));
  EXPECT_EQ(out["status"], true);  // 302 is 3xx
  EXPECT_EQ(out["data"]["status_code"], 302);
  EXPECT_EQ(out["data"]["headers"]["location"], "/b");
  EXPECT_EQ(out["data"]["redirects"], json::array());
}

TEST(HttpPlugin, RedirectToADeniedPortIsAnError) {
  HttpServer elsewhere([](const HttpServer::Request&) { return Response::make(200, "secret"); });
  HttpServer server(
      [&](const HttpServer::Request&) { return Response::redirect(302, elsewhere.url("/")); });
  const RunResult result = observe("http", {{"url", server.url("/")}}, {grant_for(server)});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("network:outbound:127.0.0.1:" +
                                                            std::to_string(elsewhere.port())),
            std::string::npos)
      << out.dump();
  EXPECT_TRUE(elsewhere.requests().empty());
}

TEST(HttpPlugin, PostWithBodyAndHeaders) {
  HttpServer server(site);
  json out = evidence_of(observe("http",
                                 {{"url", server.url("/echo")},
                                  {"method", "POST"},
                                  {"headers", {{"Content-Type", "application/json"}}},
                                  {"body", "{\"k\": 1}"}},
                                 {grant_for(server)}));
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["status_code"], 201);
  EXPECT_EQ(out["data"]["body"], "POST:{\"k\": 1}");
  EXPECT_EQ(out["data"]["headers"]["x-content-type"], "application/json");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "POST");
  EXPECT_EQ(server.requests()[0].body, "{\"k\": 1}");
}

TEST(HttpPlugin, HttpsWithATrustedCertificate) {
  const TestCertificate cert = TestCertificate::generate();
  HttpServer server(site, &cert);
  json out = evidence_of(observe("http", {{"url", server.url("/")}, {"ca_cert_pem", cert.cert_pem}},
                                 {grant_for(server)}));
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["status_code"], 200);
  EXPECT_EQ(data["body_sha256"], sha256_hex(kPage));
  EXPECT_EQ(data["tls_cert_subject"], cert.subject);
  EXPECT_EQ(data["tls_cert_not_after"], cert.not_after);
  EXPECT_TRUE(data["tls_version"].is_string());
}

TEST(HttpPlugin, HttpsVerificationFailureIsEvidence) {
  // The server's self-signed certificate is not in the system store.
  const TestCertificate cert = TestCertificate::generate();
  HttpServer server(site, &cert);
  json out = evidence_of(observe("http", {{"url", server.url("/")}}, {grant_for(server)}));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["status_code"], 0);
  EXPECT_EQ(out["data"]["expectation_failed"], true);
  EXPECT_TRUE(out["data"]["error"].is_string());
  EXPECT_TRUE(server.requests().empty());

  json skipped = evidence_of(observe(
      "http", {{"url", server.url("/")}, {"insecure_skip_verify", true}}, {grant_for(server)}));
  EXPECT_EQ(skipped["status"], true);
  EXPECT_EQ(skipped["data"]["status_code"], 200);
}

TEST(HttpPlugin, ConnectionRefusedIsEvidence) {
  const uint16_t port = test::closed_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  json out = evidence_of(
      observe("http", {{"url", url}}, {"network:outbound:127.0.0.1:" + std::to_string(port)}));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["status_code"], 0);
  EXPECT_EQ(out["data"]["url"], url);
  EXPECT_TRUE(out["data"]["error"].is_string());
}

TEST(HttpPlugin, TimeoutIsEvidence) {
  HttpServer server([](const HttpServer::Request&) {
    Response response = Response::make(200, "late");
    response.delay = std::chrono::milliseconds(3000);
    return response;
  });
  json out = evidence_of(
      observe("http", {{"url", server.url("/")}, {"timeout_ms", 300}}, {grant_for(server)}));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["is_timeout"], true);

  // Reglet's timeout_seconds works too.
  json seconds = evidence_of(
      observe("http", {{"url", server.url("/")}, {"timeout_seconds", 1}}, {grant_for(server)}));
  EXPECT_EQ(seconds["status"], false);
  EXPECT_EQ(seconds["data"]["is_timeout"], true);
}

TEST(HttpPlugin, LoopbackWithoutAnIpGrantIsDenied) {
  HttpServer server(site);
  const RunResult result = observe("http", {{"url", server.url("/")}},
                                   {"network:outbound:80,443", "network:outbound:*"});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "capability_denied");
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpPlugin, UnknownMethodIsAConfigError) {
  HttpServer server(site);
  const RunResult result =
      observe("http", {{"url", server.url("/")}, {"method", "BREW"}}, {grant_for(server)});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "invalid_config");
}

}  // namespace
}  // namespace reglet::e2e
