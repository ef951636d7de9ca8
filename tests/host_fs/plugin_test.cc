// fs, env and exec host functions through the real path: a wasm plugin built with the SDK
// (tests/plugins/hostcall) calling reglet_host, loaded and run by reglet::Runtime.
#include <chrono>
#include <fstream>
#include <iterator>

#include "host_fs/host_test_support.h"
#include "runtime/host/fs_support.h"

namespace reglet::test {
namespace {

using nlohmann::json;
using runtime::host::base64_decode;
using runtime::host::base64_encode;
using Clock = std::chrono::steady_clock;

std::vector<uint8_t> hostcall_wasm() {
  std::ifstream in(REGLET_TEST_PLUGIN_DIR "/hostcall.wasm", std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Runs on both engine tiers, with the same expectations.
class HostcallPlugin : public ::testing::TestWithParam<EngineKind> {
 protected:
  void SetUp() override {
    const std::vector<uint8_t> wasm = hostcall_wasm();
    ASSERT_FALSE(wasm.empty()) << "missing " REGLET_TEST_PLUGIN_DIR "/hostcall.wasm";
    RuntimeOptions options;
    options.engine = GetParam();
    options.aot_cache_dir = std::string(REGLET_TEST_BINARY_DIR) + "/../aot-cache";
    options.environment =
        std::map<std::string, std::string>{{"APP_MODE", "strict"}, {"SECRET", "s"}};
    options.audit_log = std::make_shared<AuditLog>([this](const std::string& line) {
      std::lock_guard lock(mutex_);
      audit_.push_back(json::parse(line));
    });
    runtime_ = std::make_unique<Runtime>(std::move(options));
    auto loaded = runtime_->load_plugin("hostcall", wasm);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    plugin_ = *loaded;
    dir.mkdir("data");
    dir.mkdir("other");
    dir.write("data/file.txt", "plugin content");
    dir.write("other/secret", "no");
  }

  void grant(const std::string& capability) {
    auto status = runtime_->capabilities().grant("hostcall", capability);
    ASSERT_TRUE(status.ok()) << status.error().to_string();
  }

  // The result of one call: {"response": ...} or {"error": {...}}. It goes through the plugin's
  // "session" mode: the hostcall schema declares `request` as an object whose values are all
  // objects (sdk::Schema::object's value type), so a config {"request": {"path": "/x"}} would be
  // refused as invalid_config before the plugin runs; "steps" is not constrained by the schema.
  Result<json> host_call(const std::string& function, const json& request,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    ObserveOptions options;
    options.timeout = timeout;
    const json config = {{"function", "session"},
                         {"steps", json::array({{{"function", function}, {"request", request}}})}};
    auto evidence = plugin_->observe(config, options);
    if (!evidence.ok()) return evidence.error();
    const json& steps = evidence->data["steps"];
    if (!steps.is_array() || steps.size() != 1) {
      return make_error(ErrorCode::internal, "unexpected evidence: " + evidence->data.dump());
    }
    return steps[0];
  }

  static ::testing::AssertionResult HasError(const Result<json>& data, std::string_view code,
                                             std::string_view fragment = {}) {
    if (!data.ok()) return ::testing::AssertionFailure() << data.error().to_string();
    if (!data->contains("error")) return ::testing::AssertionFailure() << data->dump();
    const json& error = (*data)["error"];
    if (error.value("code", "") != code ||
        error.value("message", "").find(fragment) == std::string::npos) {
      return ::testing::AssertionFailure()
             << "expected " << code << " with '" << fragment << "', got " << error.dump();
    }
    return ::testing::AssertionSuccess();
  }

  size_t audited(const std::string& capability, const std::string& decision) {
    std::lock_guard lock(mutex_);
    size_t count = 0;
    for (const auto& entry : audit_) {
      if (entry.value("capability", "") == capability && entry.value("decision", "") == decision &&
          entry.value("plugin", "") == "hostcall") {
        ++count;
      }
    }
    return count;
  }

  TempDir dir;
  std::unique_ptr<Runtime> runtime_;
  std::shared_ptr<Plugin> plugin_;
  std::mutex mutex_;
  std::vector<json> audit_;
};

TEST_P(HostcallPlugin, FsReadAllowedAndDenied) {
  grant("fs:read:" + dir.path() + "/data/**");
  auto read = host_call("fs_read", {{"path", dir / "data/file.txt"}});
  ASSERT_TRUE(read.ok()) << read.error().to_string();
  ASSERT_TRUE(read->contains("response")) << read->dump();
  EXPECT_EQ(*base64_decode((*read)["response"]["data_b64"].get<std::string>()), "plugin content");
  EXPECT_EQ((*read)["response"]["eof"], true);
  EXPECT_EQ(audited("fs:read:" + (dir / "data/file.txt"), "allow"), 1u);

  EXPECT_TRUE(HasError(host_call("fs_read", {{"path", dir / "other/secret"}}), "capability_denied",
                       "fs:read:" + (dir / "other/secret")));
  dir.symlink(dir / "other/secret", "data/escape");
  EXPECT_TRUE(HasError(host_call("fs_read", {{"path", dir / "data/escape"}}), "capability_denied",
                       "fs:read:" + (dir / "other/secret")));
  EXPECT_TRUE(HasError(host_call("fs_read", {{"path", dir / "data/missing"}}), "not_found"));
  EXPECT_EQ(audited("fs:read:" + (dir / "other/secret"), "deny"), 2u);
}

TEST_P(HostcallPlugin, FsWriteThenStat) {
  grant("fs:write:" + dir.path() + "/data/**");
  auto written =
      host_call("fs_write", {{"path", dir / "data/out.txt"}, {"data_b64", base64_encode("abc")}});
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE(written->contains("response")) << written->dump();
  EXPECT_EQ((*written)["response"]["bytes_written"], 3);
  EXPECT_EQ(dir.read("data/out.txt"), "abc");
  // Write does not imply read (stat needs fs:read).
  EXPECT_TRUE(HasError(host_call("fs_stat", {{"path", dir / "data/out.txt"}}), "capability_denied",
                       "fs:read:"));
  grant("fs:read:" + dir.path() + "/data/**");
  auto stat = host_call("fs_stat", {{"path", dir / "data/out.txt"}});
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ((*stat)["response"]["type"], "file");
  EXPECT_EQ((*stat)["response"]["size"], 3);
  auto missing = host_call("fs_stat", {{"path", dir / "data/nothing"}});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ((*missing)["response"]["exists"], false);
}

TEST_P(HostcallPlugin, EnvGet) {
  grant("env:APP_MODE");
  auto found = host_call("env_get", {{"name", "APP_MODE"}});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)["response"], (json{{"found", true}, {"value", "strict"}}));
  EXPECT_TRUE(
      HasError(host_call("env_get", {{"name", "SECRET"}}), "capability_denied", "env:SECRET"));
  EXPECT_TRUE(HasError(host_call("env_get", {{"name", "A=B"}}), "invalid_argument"));
}

TEST_P(HostcallPlugin, ExecRun) {
  EXPECT_TRUE(HasError(host_call("exec_run", {{"command", "/bin/sh"}, {"args", {"-c", "echo hi"}}}),
                       "capability_denied", "exec:"));
  grant("exec:/bin/sh");
  auto ran = host_call("exec_run", {{"command", "/bin/sh"}, {"args", {"-c", "echo hi; exit 3"}}});
  ASSERT_TRUE(ran.ok()) << ran.error().to_string();
  ASSERT_TRUE(ran->contains("response")) << ran->dump();
  EXPECT_EQ((*ran)["response"]["stdout"], "hi\n");
  EXPECT_EQ((*ran)["response"]["exit_code"], 3);

  auto timed = host_call(
      "exec_run",
      {{"command", "/bin/sh"}, {"args", {"-c", "exec /bin/sleep 100"}}, {"timeout_ms", 200}});
  ASSERT_TRUE(timed.ok());
  EXPECT_EQ((*timed)["response"]["timed_out"], true);
  EXPECT_TRUE(HasError(host_call("exec_run", {{"command", "/bin/sh"}, {"env", {{"X", "1"}}}}),
                       "capability_denied", "env:X"));
}

TEST_P(HostcallPlugin, ExecAtTheObservationDeadline) {
  grant("exec:/bin/sleep");
  const auto start = Clock::now();
  auto result = host_call("exec_run", {{"command", "/bin/sleep"}, {"args", {"100"}}},
                          std::chrono::milliseconds(400));
  const auto elapsed = Clock::now() - start;
  // The host answers `timeout`; the guest is out of time too, so the observation ends with it.
  if (result.ok()) {
    EXPECT_TRUE(HasError(result, "timeout"));
  } else {
    EXPECT_EQ(result.error().code, ErrorCode::timeout) << result.error().to_string();
  }
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
}

TEST_P(HostcallPlugin, MalformedRequestsAreInvalidArgument) {
  EXPECT_TRUE(HasError(host_call("fs_read", {{"path", 5}}), "invalid_argument", "'path'"));
  EXPECT_TRUE(HasError(host_call("fs_write", {{"path", "/x"}, {"data_b64", "***"}}),
                       "invalid_argument", "base64"));
  EXPECT_TRUE(HasError(host_call("exec_run", {{"command", "/bin/sh"}, {"args", {1}}}),
                       "invalid_argument", "args[0]"));
}

INSTANTIATE_TEST_SUITE_P(Tiers, HostcallPlugin, ::testing::Values(EngineKind::interp, EngineKind::aot),
                         [](const auto& info) {
                           return std::string(info.param == EngineKind::aot ? "aot" : "interp");
                         });

}  // namespace
}  // namespace reglet::test
