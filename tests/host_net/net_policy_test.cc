// The shared resolver + checker and request helpers (net_policy.h): host syntax, base64,
// deadlines, and SPEC §3's network rules on resolved addresses.
#include "runtime/host/net_policy.h"

#include <gtest/gtest.h>

#include <thread>

#include "host_net/harness.h"

namespace reglet::test {
namespace {

namespace net = runtime::host::net;
using namespace std::chrono_literals;

TEST(NetPolicyHost, AcceptsNamesAndLiterals) {
  for (const char* good : {"example.com", "EXAMPLE.com.", "a-b.c_d.example", "localhost", "x",
                           "xn--bcher-kva.example", "_dmarc.example.com"}) {
    auto host = net::parse_host(good, "f");
    ASSERT_TRUE(host.ok()) << good << ": " << host.error().message;
    EXPECT_FALSE(host->literal) << good;
    EXPECT_EQ(host->text, good);
  }
  auto v4 = net::parse_host("10.1.2.3", "f");
  ASSERT_TRUE(v4.ok());
  ASSERT_TRUE(v4->literal);
  EXPECT_EQ(v4->text, "10.1.2.3");
  auto v6 = net::parse_host("[::1]", "f");
  ASSERT_TRUE(v6.ok());
  ASSERT_TRUE(v6->literal);
  EXPECT_EQ(v6->text, "::1");
  auto mapped = net::parse_host("::ffff:127.0.0.1", "f");
  ASSERT_TRUE(mapped.ok());
  EXPECT_TRUE(mapped->literal->is_v4()) << "IPv4-mapped addresses are IPv4 for the checks";
}

TEST(NetPolicyHost, RejectsEverythingElse) {
  const std::string too_long(254, 'a');
  const std::string long_label = std::string(64, 'a') + ".com";
  for (const std::string& bad : {std::string(),
                                 std::string("exa mple.com"),
                                 std::string("a\0b", 3),
                                 std::string("a..b"),
                                 std::string("-a.com"),
                                 std::string("a-.com"),
                                 std::string(".a.com"),
                                 std::string("http://example.com"),
                                 std::string("example.com/path"),
                                 std::string("user@example.com"),
                                 std::string("fe80::1%eth0"),
                                 std::string("127.1"),
                                 std::string("2130706433"),
                                 std::string("0x7f.0.0.1"),
                                 std::string("10.0.0.300"),
                                 std::string("[::1"),
                                 std::string("exämple.com"),
                                 too_long,
                                 long_label,
                                 std::string("example.com:80")}) {
    auto host = net::parse_host(bad, "f");
    EXPECT_FALSE(host.ok()) << "accepted '" << bad << "'";
    if (!host.ok()) {
      EXPECT_EQ(host.error().code, ErrorCode::invalid_argument);
    }
  }
}

TEST(NetPolicyHost, HostPort) {
  auto a = net::parse_host_port("1.2.3.4:5353", 53, "f", "ns");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first.text, "1.2.3.4");
  EXPECT_EQ(a->second, 5353);
  auto b = net::parse_host_port("[::1]:54", 53, "f", "ns");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first.text, "::1");
  EXPECT_EQ(b->second, 54);
  auto c = net::parse_host_port("::1", 53, "f", "ns");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->second, 53);
  auto d = net::parse_host_port("ns.example", 53, "f", "ns");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->first.text, "ns.example");
  EXPECT_EQ(d->second, 53);
  for (const char* bad : {"x:0", "x:70000", "x:", "x:abc", "[::1", "[::1]x", "[::1]:", ":53",
                          "1.2.3.4:-1", "a b:53"}) {
    EXPECT_FALSE(net::parse_host_port(bad, 53, "f", "ns").ok()) << bad;
  }
}

TEST(NetPolicyBase64, RoundTripsAllLengths) {
  std::string bytes;
  for (int length = 0; length < 40; ++length) {
    auto decoded = net::base64_decode(net::base64_encode(bytes));
    ASSERT_TRUE(decoded) << length;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(length * 37 + 200));
  }
  EXPECT_EQ(net::base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(net::base64_decode("aGVsbG8=").value_or("x"), "hello");
}

TEST(NetPolicyBase64, DecodingIsStrict) {
  for (const char* bad : {"abc", "ab=c", "a===", "====", "!!!!", "aGVs bG8=", "aGVsbG8=\n",
                          "aGVsbG8=aGVs", "aGV=bG8="}) {
    EXPECT_FALSE(net::base64_decode(bad)) << bad;
  }
}

TEST(NetPolicyDeadline, DistinguishesOperationCallAndCancel) {
  engine::ExecutionControl far(engine::ExecutionControl::Clock::now() + 10s);
  EXPECT_EQ(net::Deadline(far, 10s).check(), net::Stop::none);
  EXPECT_EQ(net::Deadline(far, 0ms).check(), net::Stop::op_timeout);
  engine::ExecutionControl past(engine::ExecutionControl::Clock::now() - 1ms);
  EXPECT_EQ(net::Deadline(past, 10s).check(), net::Stop::call_timeout);
  engine::ExecutionControl cancelled(engine::ExecutionControl::Clock::now() + 10s);
  cancelled.cancel();
  EXPECT_EQ(net::Deadline(cancelled, 10s).check(), net::Stop::cancelled);
  // The earlier deadline wins, and poll slices are short enough to notice cancellation.
  engine::ExecutionControl soon(engine::ExecutionControl::Clock::now() + 100ms);
  net::Deadline deadline(soon, 10s);
  EXPECT_LE(deadline.remaining(), 100ms);
  EXPECT_LE(deadline.poll_ms(), 50);
  EXPECT_EQ(net::stop_error(net::Stop::call_timeout, "f", "x").code, ErrorCode::timeout);
  EXPECT_EQ(net::stop_error(net::Stop::cancelled, "f", "x").code, ErrorCode::cancelled);
}

TEST(NetPolicyLookup, LocalhostComesFromTheHostsFile) {
  engine::ExecutionControl control(engine::ExecutionControl::Clock::now() + 10s);
  auto lookup = net::lookup_host(*net::parse_host("localhost", "f"), net::Deadline(control, 5s));
  ASSERT_TRUE(lookup.error.empty()) << lookup.error;
  ASSERT_FALSE(lookup.addresses.empty());
  EXPECT_TRUE(std::find(lookup.addresses.begin(), lookup.addresses.end(),
                        *IpAddress::parse("127.0.0.1")) != lookup.addresses.end());
}

// resolve_and_check, the heart of the network rules.
class ResolveAndCheck : public ::testing::Test {
 protected:
  Result<net::Destination> check(Harness& harness, const std::string& host, uint16_t port) {
    engine::ExecutionControl control(engine::ExecutionControl::Clock::now() + 10s);
    auto parsed = net::parse_host(host, "test_fn");
    if (!parsed.ok()) return parsed.error();
    return net::resolve_and_check(harness.context(), "test_fn", {{"host", host}}, *parsed, port,
                                  net::Deadline(control, 5s));
  }
};

TEST_F(ResolveAndCheck, LiteralAllowedByIpGrantIsAuditedOnce) {
  Harness harness({"network:outbound:127.0.0.1:8000-9000"});
  auto destination = check(harness, "127.0.0.1", 8080);
  ASSERT_TRUE(destination.ok()) << destination.error().message;
  ASSERT_EQ(destination->addresses.size(), 1u);
  EXPECT_EQ(destination->addresses[0].to_string(), "127.0.0.1");
  auto audit = harness.audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["capability"], "network:outbound:127.0.0.1:8080");
  EXPECT_EQ(audit[0]["function"], "test_fn");
}

TEST_F(ResolveAndCheck, PortOutsideTheGrantIsDenied) {
  Harness harness({"network:outbound:127.0.0.1:8000-9000"});
  auto destination = check(harness, "127.0.0.1", 22);
  ASSERT_FALSE(destination.ok());
  EXPECT_EQ(destination.error().code, ErrorCode::capability_denied);
  EXPECT_NE(destination.error().message.find("network:outbound:127.0.0.1:22"), std::string::npos)
      << destination.error().message;
}

TEST_F(ResolveAndCheck, SpecialAddressesNeedAnIpOrCidrGrant) {
  for (const char* grant : {"network:outbound:*:*", "network:outbound:*", "network:outbound:80",
                            "network:outbound:*.example.com:*", "network:outbound:*:80"}) {
    Harness harness({grant});
    for (const char* host :
         {"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "[::1]", "0.0.0.0", "::ffff:127.0.0.1",
          "100.64.0.1", "192.168.1.1", "fd00::1", "fe80::1", "224.0.0.1", "::"}) {
      auto destination = check(harness, host, 80);
      ASSERT_FALSE(destination.ok()) << grant << " reached " << host;
      EXPECT_EQ(destination.error().code, ErrorCode::capability_denied) << host;
      EXPECT_NE(destination.error().message.find("network:outbound:"), std::string::npos);
    }
    for (const auto& record : harness.audit()) EXPECT_EQ(record["decision"], "deny") << record;
  }
}

TEST_F(ResolveAndCheck, CidrGrantReachesItsRange) {
  Harness harness({"network:outbound:10.0.0.0/8:*", "network:outbound:[::1]:443"});
  EXPECT_TRUE(check(harness, "10.9.8.7", 1234).ok());
  EXPECT_TRUE(check(harness, "::1", 443).ok());
  EXPECT_FALSE(check(harness, "::1", 80).ok());
  EXPECT_FALSE(check(harness, "11.0.0.1", 80).ok());
}

TEST_F(ResolveAndCheck, NameResolvingToLoopbackIsDeniedUnderAnyHostGrant) {
  Harness harness({"network:outbound:*:*"});
  auto destination = check(harness, "localhost", 8080);
  ASSERT_FALSE(destination.ok());
  EXPECT_EQ(destination.error().code, ErrorCode::capability_denied);
  // Named by the resolved address, which is what was checked.
  EXPECT_NE(destination.error().message.find("network:outbound:127.0.0.1:8080"), std::string::npos)
      << destination.error().message;
}

TEST_F(ResolveAndCheck, NameResolvingToAGrantedAddressIsAllowed) {
  Harness harness({"network:outbound:127.0.0.1:*"});
  auto destination = check(harness, "localhost", 8080);
  ASSERT_TRUE(destination.ok()) << destination.error().message;
  for (const auto& address : destination->addresses) {
    EXPECT_EQ(address.to_string(), "127.0.0.1") << "only checked addresses are returned";
  }
}

TEST_F(ResolveAndCheck, UngrantedNameIsDeniedWithoutAnyLookup) {
  // No grant could allow this name on this port: denied by name, before any DNS query (the
  // query itself could carry data out). A lookup would have gone to the system resolver.
  Harness harness({"network:outbound:*.example.com:443", "network:outbound:10.0.0.1:22"});
  const auto start = std::chrono::steady_clock::now();
  auto destination = check(harness, "exfiltrate-secret.attacker.invalid", 443);
  ASSERT_FALSE(destination.ok());
  EXPECT_EQ(destination.error().code, ErrorCode::capability_denied);
  EXPECT_NE(
      destination.error().message.find("network:outbound:exfiltrate-secret.attacker.invalid:443"),
      std::string::npos)
      << destination.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
  auto audit = harness.audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["decision"], "deny");
}

TEST_F(ResolveAndCheck, NoGrantsAtAllDeniesLiterals) {
  Harness harness({});
  auto destination = check(harness, "93.184.216.34", 80);
  ASSERT_FALSE(destination.ok());
  EXPECT_NE(destination.error().message.find("network:outbound:93.184.216.34:80"),
            std::string::npos);
}

TEST_F(ResolveAndCheck, PublicLiteralUnderPortGrant) {
  Harness harness({"network:outbound:443"});
  EXPECT_TRUE(check(harness, "93.184.216.34", 443).ok());
  EXPECT_FALSE(check(harness, "93.184.216.34", 80).ok());
}

TEST(NetPolicySigpipe, GuardSwallowsSigpipeOnThisThread) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  ::close(fds[1]);
  {
    net::SigpipeGuard guard;
    // write(), not send(MSG_NOSIGNAL): what OpenSSL's socket BIO does. Without the guard this
    // kills the test process.
    EXPECT_EQ(::write(fds[0], "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
  }
  ::close(fds[0]);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

}  // namespace
}  // namespace reglet::test
