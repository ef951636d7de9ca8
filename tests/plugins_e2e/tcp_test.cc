// The `tcp` plugin end to end, against listeners on loopback.
#include <gtest/gtest.h>

#include "plugins_e2e/e2e_support.h"
#include "support/loopback_servers.h"

namespace reglet::e2e {
namespace {

using test::TcpServer;
using test::TestCertificate;

std::string loopback_grant(uint16_t port) {
  return "network:outbound:127.0.0.1:" + std::to_string(port);
}

TEST(TcpPlugin, OpenPort) {
  TcpServer server(TcpServer::Mode::hold);
  const std::string port = std::to_string(server.port());
  json out = evidence_of(observe("tcp", {{"host", "127.0.0.1"}, {"port", server.port()}},
                                 {loopback_grant(server.port())}));
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["connected"], true);
  EXPECT_EQ(data["address"], "127.0.0.1:" + port);
  EXPECT_EQ(data["remote_addr"], "127.0.0.1:" + port);
  const std::string local = data["local_addr"];
  EXPECT_EQ(local.rfind("127.0.0.1:", 0), 0u) << local;
  EXPECT_NE(local, "127.0.0.1:" + port);
  EXPECT_TRUE(data["response_time_ms"].is_number());
  EXPECT_GE(data["response_time_ms"].get<double>(), 0);
  EXPECT_FALSE(data.contains("tls_version"));
}

TEST(TcpPlugin, PortAsAStringLikeRegletsProfiles) {
  TcpServer server(TcpServer::Mode::hold);
  json out =
      evidence_of(observe("tcp", {{"host", "127.0.0.1"}, {"port", std::to_string(server.port())}},
                          {loopback_grant(server.port())}));
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["connected"], true);
}

TEST(TcpPlugin, ClosedPortIsEvidence) {
  const uint16_t port = test::closed_port();
  json out =
      evidence_of(observe("tcp", {{"host", "127.0.0.1"}, {"port", port}}, {loopback_grant(port)}));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["connected"], false);
  EXPECT_EQ(out["data"]["address"], "127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(out["data"]["error"].is_string());
}

TEST(TcpPlugin, ConnectTimeoutIsEvidence) {
  test::StalledListener stalled;
  json out = evidence_of(
      observe("tcp", {{"host", "127.0.0.1"}, {"port", stalled.port()}, {"timeout_ms", 300}},
              {loopback_grant(stalled.port())}));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["connected"], false);
  EXPECT_EQ(out["data"]["is_timeout"], true);
}

TEST(TcpPlugin, TlsListenerReportsTheCertificate) {
  const TestCertificate cert = TestCertificate::generate();
  TcpServer server(TcpServer::Mode::hold, &cert);
  json out =
      evidence_of(observe("tcp", {{"host", "127.0.0.1"}, {"port", server.port()}, {"tls", true}},
                          {loopback_grant(server.port())}));
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["connected"], true);
  const std::string version = data["tls_version"];
  EXPECT_TRUE(version == "TLS 1.2" || version == "TLS 1.3") << version;
  EXPECT_EQ(data["tls_cipher_suite"].get<std::string>().rfind("TLS_", 0), 0u) << data.dump();
  EXPECT_EQ(data["tls_cert_subject"], cert.subject);
  EXPECT_EQ(data["tls_cert_issuer"], cert.issuer);
  EXPECT_EQ(data["tls_cert_not_after"], cert.not_after);
  EXPECT_EQ(data["tls_cert_days_remaining"], 30);
}

TEST(TcpPlugin, ExpectedTlsVersion) {
  const TestCertificate cert = TestCertificate::generate();
  TcpServer server(TcpServer::Mode::hold, &cert);
  json met = evidence_of(observe("tcp",
                                 {{"host", "127.0.0.1"},
                                  {"port", server.port()},
                                  {"tls", true},
                                  {"expected_tls_version", "TLS 1.2"}},
                                 {loopback_grant(server.port())}));
  EXPECT_EQ(met["status"], true);
  EXPECT_EQ(met["data"]["expectation_failed"], false);

  // Without tls there is no TLS version to meet the expectation.
  TcpServer plain(TcpServer::Mode::hold);
  json unmet = evidence_of(observe(
      "tcp", {{"host", "127.0.0.1"}, {"port", plain.port()}, {"expected_tls_version", "TLS 1.2"}},
      {loopback_grant(plain.port())}));
  EXPECT_EQ(unmet["status"], false);
  EXPECT_EQ(unmet["data"]["connected"], true);
  EXPECT_EQ(unmet["data"]["expectation_failed"], true);
}

TEST(TcpPlugin, LoopbackNeedsAnIpGrant) {
  // A port-only grant covers public destinations; loopback must be named as an IP or CIDR.
  TcpServer server(TcpServer::Mode::hold);
  const std::vector<std::string> port_only = {"network:outbound:*",
                                              "network:outbound:" + std::to_string(server.port())};
  for (const std::string& grant : port_only) {
    const RunResult result =
        observe("tcp", {{"host", "127.0.0.1"}, {"port", server.port()}}, {grant});
    EXPECT_EQ(result.exit_code, 2) << grant << ": " << result.describe();
    json out = result.json_out();
    EXPECT_EQ(out["error"]["code"], "capability_denied") << result.describe();
    EXPECT_NE(out["error"]["message"].get<std::string>().find("network:outbound:127.0.0.1:" +
                                                              std::to_string(server.port())),
              std::string::npos)
        << out.dump();
  }
  EXPECT_EQ(server.connections(), 0u);
}

TEST(TcpPlugin, BadPortIsAConfigError) {
  for (const json& port : {json(0), json(70000), json("http")}) {
    const RunResult result =
        observe("tcp", {{"host", "127.0.0.1"}, {"port", port}}, {"network:outbound:127.0.0.1:*"});
    EXPECT_EQ(result.exit_code, 2) << port << ": " << result.describe();
    const std::string code = result.json_out()["error"]["code"];
    EXPECT_TRUE(code == "invalid_config" || code == "invalid_argument") << code;
  }
}

}  // namespace
}  // namespace reglet::e2e
