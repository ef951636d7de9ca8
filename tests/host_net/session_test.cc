// net_connect / net_send / net_recv / net_close: sockets a plugin instance keeps by handle.
#include <gtest/gtest.h>

#include <thread>

#include "host_net/harness.h"
#include "support/loopback_servers.h"

namespace reglet::test {
namespace {

using namespace std::chrono_literals;
namespace host = runtime::host;

const std::string kLoopback = "network:outbound:127.0.0.1:*";

int64_t connect(Harness& harness, uint16_t port, Json extra = Json::object()) {
  Json request = {{"host", "127.0.0.1"}, {"port", port}};
  request.update(extra);
  auto result = harness.call(host::net_connect, request);
  EXPECT_TRUE(IsOk(result));
  return result.ok() ? (*result)["handle"].get<int64_t>() : -1;
}

std::string recv_text(Harness& harness, int64_t handle, Json extra = Json::object()) {
  Json request = {{"handle", handle}, {"timeout_ms", 2000}};
  request.update(extra);
  auto result = harness.call(host::net_recv, request);
  EXPECT_TRUE(IsOk(result));
  return result.ok() ? unb64((*result)["data_b64"]) : "";
}

template <class F>
bool eventually(F condition, std::chrono::milliseconds limit = 3s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

TEST(NetSession, ConnectSendReceiveClose) {
  TcpServer server(TcpServer::Mode::echo);
  Harness harness({kLoopback});
  auto connected =
      harness.call(host::net_connect, {{"host", "127.0.0.1"}, {"port", server.port()}});
  ASSERT_TRUE(IsOk(connected));
  const int64_t handle = (*connected)["handle"];
  EXPECT_GT(handle, 0);
  EXPECT_EQ((*connected)["remote_addr"], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE((*connected)["local_addr"].get<std::string>().starts_with("127.0.0.1:"));

  auto sent = harness.call(host::net_send, {{"handle", handle}, {"data_b64", b64("hello")}});
  ASSERT_TRUE(IsOk(sent));
  EXPECT_EQ((*sent)["bytes_sent"], 5);
  std::string echoed;
  while (echoed.size() < 5) echoed += recv_text(harness, handle);
  EXPECT_EQ(echoed, "hello");

  EXPECT_TRUE(IsOk(harness.call(host::net_close, {{"handle", handle}})));
  EXPECT_TRUE(eventually([&] { return server.finished() == 1; }));
  EXPECT_TRUE(IsError(harness.call(host::net_recv, {{"handle", handle}}),
                      ErrorCode::invalid_argument, "handle"));
  EXPECT_TRUE(
      IsError(harness.call(host::net_close, {{"handle", handle}}), ErrorCode::invalid_argument));
}

TEST(NetSession, BannerAndBoundedReads) {
  TcpServer server(TcpServer::Mode::greet_then_echo, nullptr, "220 ready\r\n");
  Harness harness({kLoopback});
  const int64_t handle = connect(harness, server.port());
  std::string banner;
  while (banner.size() < 11) banner += recv_text(harness, handle);
  EXPECT_EQ(banner, "220 ready\r\n");
  ASSERT_TRUE(
      IsOk(harness.call(host::net_send, {{"handle", handle}, {"data_b64", b64("hello world")}})));
  std::string first;
  ASSERT_TRUE(eventually([&] {
    first += recv_text(harness, handle, {{"max_bytes", 5 - static_cast<int>(first.size())}});
    return first.size() == 5;
  }));
  EXPECT_EQ(first, "hello");
  std::string rest;
  while (rest.size() < 6) rest += recv_text(harness, handle);
  EXPECT_EQ(rest, " world");
}

TEST(NetSession, PeerCloseIsEof) {
  TcpServer server(TcpServer::Mode::close_immediately);
  Harness harness({kLoopback});
  const int64_t handle = connect(harness, server.port());
  auto result = harness.call(host::net_recv, {{"handle", handle}, {"timeout_ms", 2000}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["eof"], true);
  EXPECT_EQ((*result)["data_b64"], "");
  auto again = harness.call(host::net_recv, {{"handle", handle}});
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ((*again)["eof"], true);
}

TEST(NetSession, ReceiveTimeoutLeavesTheHandleUsable) {
  TcpServer server(TcpServer::Mode::echo);
  Harness harness({kLoopback});
  const int64_t handle = connect(harness, server.port());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsError(harness.call(host::net_recv, {{"handle", handle}, {"timeout_ms", 200}}),
                      ErrorCode::timeout));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  // The call's deadline cuts a longer wait.
  EXPECT_TRUE(
      IsError(harness.call(host::net_recv, {{"handle", handle}, {"timeout_ms", 60000}}, 200ms),
              ErrorCode::timeout));
  ASSERT_TRUE(IsOk(harness.call(host::net_send, {{"handle", handle}, {"data_b64", b64("ping")}})));
  std::string echoed;
  while (echoed.size() < 4) echoed += recv_text(harness, handle);
  EXPECT_EQ(echoed, "ping");
}

TEST(NetSession, CancelledReceive) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({kLoopback});
  const int64_t handle = connect(harness, server.port());
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([flag] {
    std::this_thread::sleep_for(150ms);
    flag->store(true);
  });
  auto result =
      harness.call(host::net_recv, {{"handle", handle}, {"timeout_ms", 60000}}, 30s, flag);
  canceller.join();
  EXPECT_TRUE(IsError(result, ErrorCode::cancelled));
}

TEST(NetSession, LargeSendArrivesWhole) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({kLoopback});
  const int64_t handle = connect(harness, server.port());
  std::string payload(4 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  auto sent = harness.call(host::net_send, {{"handle", handle}, {"data_b64", b64(payload)}});
  ASSERT_TRUE(IsOk(sent));
  EXPECT_EQ((*sent)["bytes_sent"], payload.size());
  EXPECT_TRUE(eventually([&] { return server.received().size() == payload.size(); }, 10s));
  EXPECT_EQ(server.received(), payload);
}

TEST(NetSession, TlsSession) {
  const TestCertificate certificate = TestCertificate::generate();
  TcpServer server(TcpServer::Mode::echo, &certificate);
  Harness harness({kLoopback});
  // Verification is on by default: a self-signed certificate is refused.
  EXPECT_TRUE(IsError(harness.call(host::net_connect,
                                   {{"host", "127.0.0.1"}, {"port", server.port()}, {"tls", true}}),
                      ErrorCode::io_error, "certificate"));
  // Trusted through ca_cert_pem.
  auto connected = harness.call(host::net_connect, {{"host", "127.0.0.1"},
                                                    {"port", server.port()},
                                                    {"tls", true},
                                                    {"ca_cert_pem", certificate.cert_pem}});
  ASSERT_TRUE(IsOk(connected));
  EXPECT_EQ((*connected)["tls_version"], "TLS 1.3");
  EXPECT_EQ((*connected)["tls_cert_subject"], certificate.subject);
  EXPECT_EQ((*connected)["tls_verified"], true);
  const int64_t handle = (*connected)["handle"];
  ASSERT_TRUE(
      IsOk(harness.call(host::net_send, {{"handle", handle}, {"data_b64", b64("secret")}})));
  std::string echoed;
  while (echoed.size() < 6) echoed += recv_text(harness, handle);
  EXPECT_EQ(echoed, "secret");
  EXPECT_TRUE(IsOk(harness.call(host::net_close, {{"handle", handle}})));
  // Or verification turned off explicitly.
  auto insecure = harness.call(host::net_connect, {{"host", "127.0.0.1"},
                                                   {"port", server.port()},
                                                   {"tls", true},
                                                   {"insecure_skip_verify", true}});
  ASSERT_TRUE(IsOk(insecure));
  EXPECT_EQ((*insecure)["tls_verified"], false);
}

TEST(NetSession, HandlesBelongToOneInstance) {
  TcpServer server(TcpServer::Mode::hold);
  Harness owner({kLoopback});
  Harness other({kLoopback});
  const int64_t handle = connect(owner, server.port());
  EXPECT_TRUE(IsError(other.call(host::net_send, {{"handle", handle}, {"data_b64", b64("x")}}),
                      ErrorCode::invalid_argument, "not an open connection"));
  for (const Json& forged : {Json(123456), Json(0), Json(-1), Json("1"), Json(1.5), Json(nullptr),
                             Json::array({1}), Json(9007199254740993ull)}) {
    EXPECT_TRUE(IsError(owner.call(host::net_send, {{"handle", forged}, {"data_b64", ""}}),
                        ErrorCode::invalid_argument))
        << forged;
  }
  // Discarding the instance closes its sockets.
  EXPECT_EQ(server.finished(), 0u);
  owner.reset_instance();
  EXPECT_TRUE(eventually([&] { return server.finished() == 1; }));
  EXPECT_TRUE(IsError(owner.call(host::net_send, {{"handle", handle}, {"data_b64", ""}}),
                      ErrorCode::invalid_argument));
}

TEST(NetSession, HandleLimit) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({kLoopback});
  std::vector<int64_t> handles;
  for (int i = 0; i < 64; ++i) handles.push_back(connect(harness, server.port()));
  EXPECT_TRUE(
      IsError(harness.call(host::net_connect, {{"host", "127.0.0.1"}, {"port", server.port()}}),
              ErrorCode::io_error, "64"));
  ASSERT_TRUE(IsOk(harness.call(host::net_close, {{"handle", handles[10]}})));
  EXPECT_GT(connect(harness, server.port()), handles.back()) << "handles are never reused";
}

TEST(NetSession, ConnectFailuresAndDenials) {
  Harness harness({kLoopback});
  EXPECT_TRUE(
      IsError(harness.call(host::net_connect, {{"host", "127.0.0.1"}, {"port", closed_port()}}),
              ErrorCode::io_error, "refused"));
  StalledListener stalled;
  EXPECT_TRUE(
      IsError(harness.call(host::net_connect,
                           {{"host", "127.0.0.1"}, {"port", stalled.port()}, {"timeout_ms", 200}}),
              ErrorCode::timeout));
  EXPECT_TRUE(IsError(
      harness.call(host::net_connect, {{"host", "127.0.0.1"}, {"port", stalled.port()}}, 200ms),
      ErrorCode::timeout));

  Harness any({"network:outbound:*:*"});
  for (const char* target : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "localhost"}) {
    EXPECT_TRUE(IsError(any.call(host::net_connect, {{"host", target}, {"port", 80}}),
                        ErrorCode::capability_denied, "network:outbound:"))
        << target;
  }
  Harness none({});
  EXPECT_TRUE(IsError(none.call(host::net_connect, {{"host", "127.0.0.1"}, {"port", 80}}),
                      ErrorCode::capability_denied, "network:outbound:127.0.0.1:80"));
}

TEST(NetSession, BadArguments) {
  TcpServer server(TcpServer::Mode::hold);
  Harness harness({kLoopback});
  const int64_t handle = connect(harness, server.port());
  const std::vector<std::pair<host::Handler*, Json>> bad = {
      {host::net_connect, Json::object()},
      {host::net_connect, {{"host", "127.0.0.1"}}},
      {host::net_connect, {{"host", "127.0.0.1"}, {"port", 99999}}},
      {host::net_connect, {{"host", "127.0.0.1"}, {"port", 80}, {"tls", 1}}},
      {host::net_connect, {{"host", "127.0.0.1"}, {"port", 80}, {"ca_cert_pem", 3}}},
      {host::net_send, {{"data_b64", b64("x")}}},
      {host::net_send, {{"handle", handle}}},
      {host::net_send, {{"handle", handle}, {"data_b64", "not base64!"}}},
      {host::net_send, {{"handle", handle}, {"data_b64", 12}}},
      {host::net_send, {{"handle", handle}, {"data_b64", ""}, {"timeout_ms", -5}}},
      {host::net_recv, Json::object()},
      {host::net_recv, {{"handle", handle}, {"max_bytes", 0}}},
      {host::net_recv, {{"handle", handle}, {"max_bytes", (16 << 20) + 1}}},
      {host::net_recv, {{"handle", handle}, {"max_bytes", "10"}}},
      {host::net_recv, {{"handle", handle}, {"timeout_ms", 0}}},
      {host::net_close, Json::object()},
      {host::net_close, {{"handle", "abc"}}},
  };
  for (const auto& [fn, request] : bad) {
    EXPECT_TRUE(IsError(harness.call(fn, request), ErrorCode::invalid_argument)) << request;
  }
  auto empty = harness.call(host::net_send, {{"handle", handle}, {"data_b64", ""}});
  ASSERT_TRUE(IsOk(empty));
  EXPECT_EQ((*empty)["bytes_sent"], 0);
}

}  // namespace
}  // namespace reglet::test
