// tcp_connect: a one-shot reachability and TLS probe. Failures to connect are evidence
// (connected: false with an error), denials and bad requests are errors.
#include <gtest/gtest.h>

#include <thread>

#include "host_net/harness.h"
#include "support/loopback_servers.h"

namespace reglet::test {
namespace {

using namespace std::chrono_literals;
namespace host = runtime::host;

std::string loopback_grant() {
  return "network:outbound:127.0.0.1:*";
}

TEST(TcpConnect, ConnectsToAGrantedListener) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({loopback_grant()});
  auto result = harness.call(host::tcp_connect, {{"host", "127.0.0.1"}, {"port", server.port()}});
  ASSERT_TRUE(IsOk(result));
  const Json& r = *result;
  EXPECT_EQ(r["connected"], true);
  EXPECT_EQ(r["address"], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(r["remote_addr"], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(r["local_addr"].get<std::string>().starts_with("127.0.0.1:")) << r;
  EXPECT_GE(r["response_time_ms"].get<int64_t>(), 0);
  EXPECT_EQ(r["is_timeout"], false);
  EXPECT_FALSE(r.contains("tls_version")) << "no TLS facts without tls";
  EXPECT_FALSE(r.contains("error"));
  auto audit = harness.audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["decision"], "allow");
  EXPECT_EQ(audit[0]["function"], "tcp_connect");
  EXPECT_EQ(audit[0]["capability"], "network:outbound:127.0.0.1:" + std::to_string(server.port()));
}

TEST(TcpConnect, PortAsStringAndHostName) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({loopback_grant()});
  auto result = harness.call(host::tcp_connect,
                             {{"host", "localhost"}, {"port", std::to_string(server.port())}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["connected"], true);
  EXPECT_EQ((*result)["address"], "localhost:" + std::to_string(server.port()));
  EXPECT_EQ((*result)["remote_addr"], "127.0.0.1:" + std::to_string(server.port()));
}

TEST(TcpConnect, Ipv6LoopbackWithAnIpGrant) {
  TcpServer server(TcpServer::Mode::hold, nullptr, {}, "::1");
  Harness harness({"network:outbound:[::1]:*"});
  auto result = harness.call(host::tcp_connect, {{"host", "::1"}, {"port", server.port()}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["connected"], true) << *result;
  EXPECT_EQ((*result)["address"], "[::1]:" + std::to_string(server.port()));
  EXPECT_EQ((*result)["remote_addr"], "[::1]:" + std::to_string(server.port()));
  // The IPv4 loopback is another address, not granted.
  EXPECT_TRUE(
      IsError(harness.call(host::tcp_connect, {{"host", "127.0.0.1"}, {"port", server.port()}}),
              ErrorCode::capability_denied, "network:outbound:127.0.0.1:"));
}

TEST(TcpConnect, RefusedIsEvidenceNotAnError) {
  Harness harness({loopback_grant()});
  const uint16_t port = closed_port();
  auto result = harness.call(host::tcp_connect, {{"host", "127.0.0.1"}, {"port", port}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["connected"], false);
  EXPECT_EQ((*result)["is_timeout"], false);
  EXPECT_NE((*result)["error"].get<std::string>().find("refused"), std::string::npos) << *result;
  EXPECT_FALSE((*result).contains("remote_addr"));
}

TEST(TcpConnect, ConnectTimeoutIsEvidence) {
  StalledListener stalled;
  Harness harness({loopback_grant()});
  const auto start = std::chrono::steady_clock::now();
  auto result = harness.call(
      host::tcp_connect, {{"host", "127.0.0.1"}, {"port", stalled.port()}, {"timeout_ms", 300}});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["connected"], false);
  EXPECT_EQ((*result)["is_timeout"], true) << *result;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST(TcpConnect, CallDeadlineIsATimeoutError) {
  StalledListener stalled;
  Harness harness({loopback_grant()});
  const auto start = std::chrono::steady_clock::now();
  auto result =
      harness.call(host::tcp_connect,
                   {{"host", "127.0.0.1"}, {"port", stalled.port()}, {"timeout_ms", 10000}}, 300ms);
  EXPECT_TRUE(IsError(result, ErrorCode::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(TcpConnect, CancellationStopsIt) {
  StalledListener stalled;
  Harness harness({loopback_grant()});
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([flag] {
    std::this_thread::sleep_for(200ms);
    flag->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  auto result = harness.call(
      host::tcp_connect, {{"host", "127.0.0.1"}, {"port", stalled.port()}, {"timeout_ms", 10000}},
      30s, flag);
  canceller.join();
  EXPECT_TRUE(IsError(result, ErrorCode::cancelled));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(TcpConnect, DeniedWithoutGrantNamesTheCapability) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({"network:outbound:127.0.0.1:1-1000"});
  auto result = harness.call(host::tcp_connect, {{"host", "127.0.0.1"}, {"port", server.port()}});
  EXPECT_TRUE(IsError(result, ErrorCode::capability_denied,
                      "network:outbound:127.0.0.1:" + std::to_string(server.port())));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(server.connections(), 0u) << "a denied request must not connect";
  auto audit = harness.audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["decision"], "deny");
}

TEST(TcpConnect, AnyHostGrantsNeverReachSpecialAddresses) {
  TcpServer server(TcpServer::Mode::hold);
  for (const char* grant : {"network:outbound:*:*", "network:outbound:*", "network:outbound:80",
                            "network:outbound:*:80"}) {
    Harness harness({grant});
    for (const char* target : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "[::1]",
                               "localhost", "0.0.0.0", "::ffff:127.0.0.1"}) {
      for (uint16_t port : {uint16_t{80}, server.port()}) {
        auto result = harness.call(host::tcp_connect, {{"host", target}, {"port", port}});
        EXPECT_TRUE(IsError(result, ErrorCode::capability_denied, "network:outbound:"))
            << grant << " -> " << target << ":" << port;
      }
    }
  }
  EXPECT_EQ(server.connections(), 0u);
}

TEST(TcpConnect, BadArguments) {
  Harness harness({"network:outbound:*:*"});
  const std::vector<Json> bad = {
      Json::object(),
      {{"port", 80}},
      {{"host", "127.0.0.1"}},
      {{"host", 5}, {"port", 80}},
      {{"host", ""}, {"port", 80}},
      {{"host", "a b"}, {"port", 80}},
      {{"host", "127.1"}, {"port", 80}},
      {{"host", "x.example"}, {"port", 0}},
      {{"host", "x.example"}, {"port", 65536}},
      {{"host", "x.example"}, {"port", -1}},
      {{"host", "x.example"}, {"port", 1.5}},
      {{"host", "x.example"}, {"port", "http"}},
      {{"host", "x.example"}, {"port", 80}, {"timeout_ms", 0}},
      {{"host", "x.example"}, {"port", 80}, {"timeout_ms", "5"}},
      {{"host", "x.example"}, {"port", 80}, {"timeout_ms", 1e12}},
      {{"host", "x.example"}, {"port", 80}, {"tls", "yes"}},
      {{"host", "x.example"}, {"port", 80}, {"tls", true}, {"server_name", "a b"}},
      {{"host", std::string(300, 'a')}, {"port", 80}},
  };
  for (const Json& request : bad) {
    EXPECT_TRUE(IsError(harness.call(host::tcp_connect, request), ErrorCode::invalid_argument))
        << request;
  }
  EXPECT_TRUE(harness.audit().empty()) << "invalid requests never reach a decision";
}

// --- TLS ---

class TcpConnectTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certificate_ = new TestCertificate(TestCertificate::generate()); }
  static void TearDownTestSuite() { delete certificate_; }
  static const TestCertificate& certificate() { return *certificate_; }
  static TestCertificate* certificate_;
};
TestCertificate* TcpConnectTls::certificate_ = nullptr;

TEST_F(TcpConnectTls, ReportsCertificateFactsOfASelfSignedCertificate) {
  TcpServer server(TcpServer::Mode::echo, &certificate());
  Harness harness({loopback_grant()});
  auto result = harness.call(host::tcp_connect,
                             {{"host", "127.0.0.1"}, {"port", server.port()}, {"tls", true}});
  ASSERT_TRUE(IsOk(result));
  const Json& r = *result;
  EXPECT_EQ(r["connected"], true) << r;
  EXPECT_EQ(r["tls_version"], "TLS 1.3");
  EXPECT_TRUE(r["tls_cipher_suite"].get<std::string>().starts_with("TLS_")) << r;
  EXPECT_EQ(r["tls_cert_subject"], "CN=localhost,O=Reglet Test");
  EXPECT_EQ(r["tls_cert_issuer"], "CN=localhost,O=Reglet Test");
  EXPECT_EQ(r["tls_cert_not_after"], certificate().not_after);
  EXPECT_EQ(r["tls_cert_days_remaining"], 30);
  // Self-signed and not in the system store: facts still reported, verification says no.
  EXPECT_EQ(r["tls_verified"], false);
  EXPECT_FALSE(r["tls_verify_error"].get<std::string>().empty());
}

TEST_F(TcpConnectTls, VerifiesAgainstAGivenCa) {
  TcpServer server(TcpServer::Mode::echo, &certificate());
  Harness harness({loopback_grant()});
  auto ok = harness.call(host::tcp_connect, {{"host", "127.0.0.1"},
                                             {"port", server.port()},
                                             {"tls", true},
                                             {"ca_cert_pem", certificate().cert_pem}});
  ASSERT_TRUE(IsOk(ok));
  EXPECT_EQ((*ok)["tls_verified"], true) << *ok;
  EXPECT_FALSE((*ok).contains("tls_verify_error"));
  auto by_name = harness.call(host::tcp_connect, {{"host", "localhost"},
                                                  {"port", server.port()},
                                                  {"tls", true},
                                                  {"ca_cert_pem", certificate().cert_pem}});
  ASSERT_TRUE(IsOk(by_name));
  EXPECT_EQ((*by_name)["tls_verified"], true) << *by_name;
  // The certificate is not for this name: connected, facts reported, not verified.
  auto wrong_name = harness.call(host::tcp_connect, {{"host", "127.0.0.1"},
                                                     {"port", server.port()},
                                                     {"tls", true},
                                                     {"server_name", "other.example"},
                                                     {"ca_cert_pem", certificate().cert_pem}});
  ASSERT_TRUE(IsOk(wrong_name));
  EXPECT_EQ((*wrong_name)["connected"], true);
  EXPECT_EQ((*wrong_name)["tls_verified"], false);
  EXPECT_NE((*wrong_name)["tls_verify_error"].get<std::string>().find("mismatch"),
            std::string::npos)
      << *wrong_name;
}

TEST_F(TcpConnectTls, ExpiredAndCaSignedCertificates) {
  CertificateOptions expired_options;
  expired_options.not_before_offset = std::chrono::hours(-24 * 10);
  expired_options.valid_for = std::chrono::hours(24 * 5) - std::chrono::hours(1);
  const TestCertificate expired = TestCertificate::generate(expired_options);
  TcpServer expired_server(TcpServer::Mode::echo, &expired);
  Harness harness({loopback_grant()});
  auto r = harness.call(host::tcp_connect, {{"host", "127.0.0.1"},
                                            {"port", expired_server.port()},
                                            {"tls", true},
                                            {"ca_cert_pem", expired.cert_pem}});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ((*r)["connected"], true);
  EXPECT_EQ((*r)["tls_cert_days_remaining"], -6) << *r;  // expired 5 days and an hour ago
  EXPECT_EQ((*r)["tls_verified"], false);
  EXPECT_NE((*r)["tls_verify_error"].get<std::string>().find("expired"), std::string::npos);

  CertificateOptions ca_options;
  ca_options.common_name = "Reglet Test CA";
  ca_options.dns_names = {};
  ca_options.ip_addresses = {};
  const TestCertificate ca = TestCertificate::generate(ca_options);
  CertificateOptions leaf_options;
  leaf_options.common_name = "service.test";
  leaf_options.organization = "Leaf Org";
  leaf_options.is_ca = false;
  const TestCertificate leaf = TestCertificate::generate(leaf_options, &ca);
  TcpServer leaf_server(TcpServer::Mode::echo, &leaf);
  auto signed_result = harness.call(host::tcp_connect, {{"host", "127.0.0.1"},
                                                        {"port", leaf_server.port()},
                                                        {"tls", true},
                                                        {"ca_cert_pem", ca.cert_pem}});
  ASSERT_TRUE(IsOk(signed_result));
  EXPECT_EQ((*signed_result)["tls_cert_subject"], "CN=service.test,O=Leaf Org");
  EXPECT_EQ((*signed_result)["tls_cert_issuer"], "CN=Reglet Test CA,O=Reglet Test");
  EXPECT_EQ((*signed_result)["tls_verified"], true) << *signed_result;
}

TEST_F(TcpConnectTls, HandshakeWithAPlainServerFailsAsEvidence) {
  TcpServer plain(TcpServer::Mode::close_immediately);
  Harness harness({loopback_grant()});
  auto result = harness.call(host::tcp_connect,
                             {{"host", "127.0.0.1"}, {"port", plain.port()}, {"tls", true}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["connected"], false);
  EXPECT_NE((*result)["error"].get<std::string>().find("TLS"), std::string::npos) << *result;
}

TEST_F(TcpConnectTls, SilentServerTimesOutInTheHandshake) {
  TcpServer silent(TcpServer::Mode::hold);  // never answers the ClientHello
  Harness harness({loopback_grant()});
  auto result = harness.call(
      host::tcp_connect,
      {{"host", "127.0.0.1"}, {"port", silent.port()}, {"tls", true}, {"timeout_ms", 300}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["connected"], false);
  EXPECT_EQ((*result)["is_timeout"], true) << *result;
  auto deadline = harness.call(
      host::tcp_connect, {{"host", "127.0.0.1"}, {"port", silent.port()}, {"tls", true}}, 300ms);
  EXPECT_TRUE(IsError(deadline, ErrorCode::timeout));
}

}  // namespace
}  // namespace reglet::test
