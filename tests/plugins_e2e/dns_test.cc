// The `dns` plugin end to end, against a UDP DNS server for a test zone on loopback.
#include <gtest/gtest.h>

#include <algorithm>

#include "plugins_e2e/e2e_support.h"
#include "support/loopback_servers.h"

namespace reglet::e2e {
namespace {

json sorted(json array) {
  std::sort(array.begin(), array.end());
  return array;
}

class DnsPlugin : public ::testing::Test {
 protected:
  DnsPlugin() {
    dns_.add_a("example.test", "192.0.2.10");
    dns_.add_a("example.test", "192.0.2.11");
    dns_.add_aaaa("example.test", "2001:db8::10");
    dns_.add_cname("www.example.test", "example.test");
    dns_.add_mx("example.test", 10, "mail.example.test");
    dns_.add_mx("example.test", 20, "backup.example.test");
    dns_.add_txt("example.test", {"v=spf1 -all"});
    dns_.add_ns("example.test", "ns1.example.test");
    dns_.add_ns("example.test", "ns2.example.test");
    dns_.add_a("v4only.example.test", "192.0.2.20");
    dns_.set_silent("silent.example.test");
  }

  std::string grant() const { return "network:outbound:127.0.0.1:" + std::to_string(dns_.port()); }

  // A successful run's evidence for `hostname` / `type` against the test server.
  json lookup(const std::string& hostname, const std::string& type, json extra = json::object()) {
    json config = {{"hostname", hostname}, {"record_type", type}, {"nameserver", dns_.address()}};
    config.update(extra);
    const RunResult result = observe("dns", config, {grant()});
    EXPECT_EQ(result.exit_code, 0) << result.describe();
    json out = result.json_out();
    EXPECT_TRUE(out.is_object()) << result.describe();
    EXPECT_FALSE(out.contains("error")) << result.describe();
    return out;
  }

  test::DnsServer dns_;
};

TEST_F(DnsPlugin, A) {
  json out = lookup("example.test", "A");
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(sorted(data["records"]), json({"192.0.2.10", "192.0.2.11"}));
  EXPECT_EQ(data["record_count"], 2);
  EXPECT_TRUE(data["query_time_ms"].is_number());
  EXPECT_EQ(data["is_not_found"], false);
  EXPECT_EQ(data["is_timeout"], false);
  EXPECT_EQ(data["hostname"], "example.test");
  EXPECT_EQ(data["record_type"], "A");
  EXPECT_GE(dns_.queries(), 1u);
}

TEST_F(DnsPlugin, RecordTypeDefaultsToA) {
  const RunResult result =
      observe("dns", {{"hostname", "example.test"}, {"nameserver", dns_.address()}}, {grant()});
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  EXPECT_EQ(result.json_out()["data"]["record_count"], 2);
}

TEST_F(DnsPlugin, AAAA) {
  json out = lookup("example.test", "AAAA");
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["records"], json({"2001:db8::10"}));
  EXPECT_EQ(out["data"]["record_count"], 1);
}

TEST_F(DnsPlugin, CNAME) {
  json out = lookup("www.example.test", "CNAME");
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["records"], json({"example.test"}));
}

TEST_F(DnsPlugin, MX) {
  json out = lookup("example.test", "MX");
  EXPECT_EQ(out["status"], true);
  json& data = out["data"];
  EXPECT_EQ(data["record_count"], 2);
  EXPECT_EQ(sorted(data["records"]), json({"10 mail.example.test", "20 backup.example.test"}));
  ASSERT_TRUE(data["mx_records"].is_array()) << data.dump();
  EXPECT_EQ(sorted(data["mx_records"]),
            sorted(json::array({{{"host", "mail.example.test"}, {"pref", 10}},
                                {{"host", "backup.example.test"}, {"pref", 20}}})));
}

TEST_F(DnsPlugin, TXT) {
  json out = lookup("example.test", "TXT");
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["records"], json({"v=spf1 -all"}));
}

TEST_F(DnsPlugin, NS) {
  json out = lookup("example.test", "NS");
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(sorted(out["data"]["records"]), json({"ns1.example.test", "ns2.example.test"}));
}

TEST_F(DnsPlugin, NxdomainIsEvidence) {
  json out = lookup("nothing.example.test", "A");
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["is_not_found"], true);
  EXPECT_EQ(out["data"]["is_timeout"], false);
  EXPECT_EQ(out["data"]["record_count"], 0);
  EXPECT_EQ(out["data"]["records"], json::array());
  EXPECT_EQ(out["data"]["rcode"], "NXDOMAIN");
}

TEST_F(DnsPlugin, NameWithoutThatTypeIsNotFound) {
  json out = lookup("v4only.example.test", "MX");
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["record_count"], 0);
  EXPECT_EQ(out["data"]["is_not_found"], true);
  EXPECT_EQ(out["data"]["mx_records"], json::array());
}

TEST_F(DnsPlugin, CnameIsFollowedForOtherTypes) {
  // The MX of www.example.test are those of example.test, which it is an alias of.
  json out = lookup("www.example.test", "MX");
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"]["record_count"], 2);
}

TEST_F(DnsPlugin, SilentNameserverIsATimeout) {
  const auto started = std::chrono::steady_clock::now();
  json out = lookup("silent.example.test", "A", {{"timeout_ms", 500}});
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["is_timeout"], true);
  EXPECT_EQ(out["data"]["record_count"], 0);
  // The plugin's timeout_ms bounded the wait, not the 5 s default or the 30 s deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
}

TEST_F(DnsPlugin, SilentNameserverWithTheDefaultTimeout) {
  json out = lookup("silent.example.test", "A");
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["is_timeout"], true);
}

TEST_F(DnsPlugin, DeniedNameserver) {
  // Loopback needs an IP grant; the port-only grant the plugin declares does not reach it.
  const size_t before = dns_.queries();
  for (const std::vector<std::string>& grants :
       {std::vector<std::string>{}, std::vector<std::string>{"network:outbound:53"},
        std::vector<std::string>{"network:outbound:*"}}) {
    const RunResult result =
        observe("dns", {{"hostname", "example.test"}, {"nameserver", dns_.address()}}, grants);
    EXPECT_EQ(result.exit_code, 2) << result.describe();
    json out = result.json_out();
    EXPECT_EQ(out["error"]["code"], "capability_denied") << result.describe();
    EXPECT_NE(out["error"]["message"].get<std::string>().find("network:outbound:127.0.0.1:" +
                                                              std::to_string(dns_.port())),
              std::string::npos)
        << out.dump();
  }
  EXPECT_EQ(dns_.queries(), before);
}

TEST_F(DnsPlugin, UnknownRecordTypeIsAConfigError) {
  const RunResult result = observe(
      "dns", {{"hostname", "example.test"}, {"record_type", "SOA"}, {"nameserver", dns_.address()}},
      {grant()});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "invalid_config");
}

}  // namespace
}  // namespace reglet::e2e
