// dns_lookup against a test DNS server on loopback. The capability checked is the nameserver's.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "host_net/harness.h"
#include "support/loopback_servers.h"

namespace reglet::test {
namespace {

using namespace std::chrono_literals;
namespace host = runtime::host;

class DnsLookup : public ::testing::Test {
 protected:
  void SetUp() override {
    dns_.add_a("example.test", "192.0.2.1");
    dns_.add_a("example.test", "192.0.2.2");
    dns_.add_aaaa("example.test", "2001:db8::1");
    dns_.add_cname("www.example.test", "example.test");
    dns_.add_mx("example.test", 10, "mail.example.test");
    dns_.add_mx("example.test", 20, "backup.example.test");
    dns_.add_txt("example.test", {"v=spf1 -all"});
    dns_.add_txt("example.test", {"part one ", "part two"});
    dns_.add_ns("example.test", "ns1.example.test");
    dns_.add_ns("example.test", "ns2.example.test");
    dns_.add_a("only-v4.example.test", "192.0.2.9");
    dns_.set_rcode("broken.example.test", 2);
    dns_.set_silent("silent.example.test");
  }

  std::string grant() const { return "network:outbound:127.0.0.1:" + std::to_string(dns_.port()); }

  Result<Json> lookup(Harness& harness, const std::string& name, const std::string& type,
                      Json extra = Json::object(),
                      std::chrono::milliseconds call_timeout = std::chrono::seconds(30)) {
    Json request = {{"hostname", name}, {"type", type}, {"nameserver", dns_.address()}};
    request.update(extra);
    return harness.call(host::dns_lookup, request, call_timeout);
  }

  static std::vector<std::string> sorted(const Json& records) {
    auto out = records.get<std::vector<std::string>>();
    std::sort(out.begin(), out.end());
    return out;
  }

  DnsServer dns_;
};

TEST_F(DnsLookup, AllRecordTypes) {
  Harness harness({grant()});
  auto a = lookup(harness, "example.test", "A");
  ASSERT_TRUE(IsOk(a));
  EXPECT_EQ(sorted((*a)["records"]), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ((*a)["is_not_found"], false);
  EXPECT_EQ((*a)["is_timeout"], false);
  EXPECT_EQ((*a)["rcode"], "NOERROR");
  EXPECT_EQ((*a)["nameserver"], dns_.address());
  EXPECT_GE((*a)["query_time_ms"].get<int64_t>(), 0);

  auto aaaa = lookup(harness, "example.test", "AAAA");
  ASSERT_TRUE(IsOk(aaaa));
  EXPECT_EQ((*aaaa)["records"], Json::array({"2001:db8::1"}));

  auto cname = lookup(harness, "www.example.test", "CNAME");
  ASSERT_TRUE(IsOk(cname));
  EXPECT_EQ((*cname)["records"], Json::array({"example.test"}));
  // An A query for an alias follows it.
  auto alias = lookup(harness, "www.example.test", "A");
  ASSERT_TRUE(IsOk(alias));
  EXPECT_EQ(sorted((*alias)["records"]), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));

  auto mx = lookup(harness, "example.test", "mx");  // type is case-insensitive
  ASSERT_TRUE(IsOk(mx));
  EXPECT_EQ(sorted((*mx)["records"]),
            (std::vector<std::string>{"10 mail.example.test", "20 backup.example.test"}));
  ASSERT_EQ((*mx)["mx_records"].size(), 2u);
  bool saw_primary = false;
  for (const auto& record : (*mx)["mx_records"]) {
    if (record["host"] == "mail.example.test") {
      EXPECT_EQ(record["pref"], 10);
      saw_primary = true;
    }
  }
  EXPECT_TRUE(saw_primary) << *mx;

  auto txt = lookup(harness, "example.test", "TXT");
  ASSERT_TRUE(IsOk(txt));
  // A record's strings are joined, records stay apart.
  EXPECT_EQ(sorted((*txt)["records"]),
            (std::vector<std::string>{"part one part two", "v=spf1 -all"}));

  auto ns = lookup(harness, "example.test", "NS");
  ASSERT_TRUE(IsOk(ns));
  EXPECT_EQ(sorted((*ns)["records"]),
            (std::vector<std::string>{"ns1.example.test", "ns2.example.test"}));

  auto audit = harness.audit();
  ASSERT_FALSE(audit.empty());
  for (const auto& record : audit) {
    EXPECT_EQ(record["decision"], "allow");
    EXPECT_EQ(record["capability"], "network:outbound:127.0.0.1:" + std::to_string(dns_.port()));
  }
}

TEST_F(DnsLookup, NotFoundIsEvidence) {
  Harness harness({grant()});
  auto nx = lookup(harness, "missing.example.test", "A");
  ASSERT_TRUE(IsOk(nx));
  EXPECT_EQ((*nx)["records"], Json::array());
  EXPECT_EQ((*nx)["is_not_found"], true);
  EXPECT_EQ((*nx)["rcode"], "NXDOMAIN");
  auto no_data = lookup(harness, "only-v4.example.test", "AAAA");
  ASSERT_TRUE(IsOk(no_data));
  EXPECT_EQ((*no_data)["is_not_found"], true);
  EXPECT_EQ((*no_data)["rcode"], "NOERROR");
  auto no_mx = lookup(harness, "only-v4.example.test", "MX");
  ASSERT_TRUE(IsOk(no_mx));
  EXPECT_EQ((*no_mx)["mx_records"], Json::array());
  auto servfail = lookup(harness, "broken.example.test", "A");
  ASSERT_TRUE(IsOk(servfail));
  EXPECT_EQ((*servfail)["is_not_found"], false);
  EXPECT_EQ((*servfail)["rcode"], "SERVFAIL");
  EXPECT_TRUE((*servfail).contains("error"));
}

TEST_F(DnsLookup, SilentNameserverTimesOut) {
  Harness harness({grant()});
  const auto start = std::chrono::steady_clock::now();
  auto evidence = lookup(harness, "silent.example.test", "A", {{"timeout_ms", 300}});
  ASSERT_TRUE(IsOk(evidence));
  EXPECT_EQ((*evidence)["is_timeout"], true) << *evidence;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // The call's deadline is an error, not evidence.
  auto error = lookup(harness, "silent.example.test", "A", {{"timeout_ms", 10000}}, 300ms);
  EXPECT_TRUE(IsError(error, ErrorCode::timeout));
  // So is cancellation.
  auto flag = std::make_shared<std::atomic<bool>>(false);
  std::thread canceller([flag] {
    std::this_thread::sleep_for(150ms);
    flag->store(true);
  });
  auto cancelled = harness.call(
      host::dns_lookup,
      {{"hostname", "silent.example.test"}, {"nameserver", dns_.address()}, {"timeout_ms", 10000}},
      30s, flag);
  canceller.join();
  EXPECT_TRUE(IsError(cancelled, ErrorCode::cancelled));
}

TEST_F(DnsLookup, NameserverMustBeGranted) {
  Harness harness({"network:outbound:127.0.0.1:53"});
  EXPECT_TRUE(IsError(lookup(harness, "example.test", "A"), ErrorCode::capability_denied,
                      "network:outbound:127.0.0.1:" + std::to_string(dns_.port())));
  EXPECT_EQ(dns_.queries(), 0u) << "no query to an ungranted nameserver";
  Harness any({"network:outbound:*:*"});
  EXPECT_TRUE(IsError(lookup(any, "example.test", "A"), ErrorCode::capability_denied));
  EXPECT_TRUE(IsError(
      any.call(host::dns_lookup, {{"hostname", "example.test"}, {"nameserver", "169.254.169.254"}}),
      ErrorCode::capability_denied, "network:outbound:169.254.169.254:53"));
  EXPECT_EQ(dns_.queries(), 0u);
}

TEST_F(DnsLookup, NameserverByName) {
  Harness harness({grant()});
  auto result = harness.call(
      host::dns_lookup,
      {{"hostname", "example.test"}, {"nameserver", "localhost:" + std::to_string(dns_.port())}});
  ASSERT_TRUE(IsOk(result));
  EXPECT_EQ((*result)["records"].size(), 2u);
}

TEST_F(DnsLookup, SystemResolversAreCheckedToo) {
  // No nameserver: the system's resolvers (/etc/resolv.conf), each checked on port 53.
  Harness harness({});
  auto result = harness.call(host::dns_lookup, {{"hostname", "example.test"}});
  EXPECT_TRUE(IsError(result, ErrorCode::capability_denied, ":53"));
  auto audit = harness.audit();
  ASSERT_FALSE(audit.empty());
  for (const auto& record : audit) EXPECT_EQ(record["decision"], "deny");
}

TEST_F(DnsLookup, BadArguments) {
  Harness harness({"network:outbound:*:*", grant()});
  const std::vector<Json> bad = {
      Json::object(),
      {{"hostname", 5}},
      {{"hostname", ""}},
      {{"hostname", "a b.example"}},
      {{"hostname", "192.0.2.1"}},
      {{"hostname", std::string(300, 'a')}},
      {{"hostname", "example.test"}, {"type", "PTR"}},
      {{"hostname", "example.test"}, {"type", 1}},
      {{"hostname", "example.test"}, {"nameserver", "x:0"}},
      {{"hostname", "example.test"}, {"nameserver", "[::1"}},
      {{"hostname", "example.test"}, {"nameserver", 53}},
      {{"hostname", "example.test"}, {"nameserver", "a b"}},
      {{"hostname", "example.test"}, {"nameserver", dns_.address()}, {"timeout_ms", 0}},
  };
  for (const Json& request : bad) {
    EXPECT_TRUE(IsError(harness.call(host::dns_lookup, request), ErrorCode::invalid_argument))
        << request;
  }
  EXPECT_EQ(dns_.queries(), 0u);
}

}  // namespace
}  // namespace reglet::test
