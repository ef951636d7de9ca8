// The runtime and the ABI (SPEC §2, §4) with hand-written plugins: lifecycle, caching, results in
// both shapes, config validation, and every adversarial case the host must contain.
#include "reglet/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runtime/wat_plugins.h"
#include "support/temp_dir.h"
#include "support/wat.h"

namespace reglet {
namespace {

using namespace std::chrono_literals;
using test::plugin_wat;
using test::wat_to_wasm;
using test::WatPlugin;

std::vector<uint8_t> build(const WatPlugin& plugin) {
  return wat_to_wasm(plugin_wat(plugin));
}

// Every test runs on both engine tiers, with the same expectations.
class RuntimeTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  RuntimeOptions options() {
    RuntimeOptions o;
    o.engine = GetParam();
    o.aot_cache_dir = std::string(REGLET_TEST_BINARY_DIR) + "/../aot-cache";
    o.log_sink = [this](const LogRecord& record) {
      std::lock_guard lock(log_mutex_);
      logs_.push_back(record);
    };
    return o;
  }

  std::shared_ptr<Plugin> load(Runtime& runtime, const WatPlugin& plugin, std::string name = "p") {
    auto loaded = runtime.load_plugin(name, build(plugin));
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error().to_string());
    return loaded.ok() ? *loaded : nullptr;
  }

  static Error observe_error(Plugin& plugin, nlohmann::json config = nlohmann::json::object(),
                             ObserveOptions opts = {}) {
    auto result = plugin.observe(config, opts);
    EXPECT_FALSE(result.ok()) << "observe unexpectedly succeeded: " << result->raw;
    return result.ok() ? Error{} : result.error();
  }

  std::mutex log_mutex_;
  std::vector<LogRecord> logs_;
};

TEST_P(RuntimeTest, LifecycleAndCaching) {
  Runtime runtime(options());
  auto plugin = load(runtime, {});
  ASSERT_TRUE(plugin);
  EXPECT_EQ(runtime.get_plugin("p"), plugin);
  EXPECT_EQ(runtime.get_plugin("missing"), nullptr);
  // A second load of the same name returns the cached plugin, even with other bytes.
  WatPlugin other;
  other.describe_json = R"({"name":"other","version":"2","capabilities":[]})";
  auto again = runtime.load_plugin("p", build(other));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, plugin);

  auto info = plugin->describe();
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->name, "wat");
  EXPECT_EQ(info->version, "1.0.0");
  auto schema = plugin->schema();
  ASSERT_TRUE(schema.ok());
  ASSERT_EQ(schema->fields.size(), 1u);
  EXPECT_EQ(schema->fields[0].name, "n");
  EXPECT_EQ(schema->fields[0].type, "integer");

  auto evidence = plugin->observe({{"n", 1}});
  ASSERT_TRUE(evidence.ok()) << evidence.error().to_string();
  EXPECT_TRUE(evidence->status);
  EXPECT_EQ(evidence->data, nlohmann::json({{"ok", true}}));
  EXPECT_FALSE(evidence->error);
  EXPECT_EQ(evidence->raw, WatPlugin().result_json);
  EXPECT_LE(std::chrono::system_clock::now() - evidence->timestamp, 5s);

  EXPECT_EQ(runtime.plugin_names(), std::vector<std::string>{"p"});
  runtime.close();
  EXPECT_EQ(runtime.get_plugin("p"), nullptr);
  // A plugin still held stays usable after close.
  EXPECT_TRUE(plugin->observe({{"n", 2}}).ok());
}

TEST_P(RuntimeTest, DescribeCapabilitiesInBothForms) {
  Runtime runtime(options());
  WatPlugin p;
  p.describe_json =
      R"({"name":"c","version":"1","description":"d","capabilities":[{"kind":"fs","pattern":"read:/etc/**"},"network:outbound:443"]})";
  auto plugin = load(runtime, p);
  auto info = plugin->describe();
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->capabilities.size(), 2u);
  EXPECT_EQ(info->capabilities[0].to_string(), "fs:read:/etc/**");
  EXPECT_EQ(info->capabilities[1].to_string(), "network:outbound:443");
}

TEST_P(RuntimeTest, ObserveSeesTheConfig) {
  // observe returns its input: the flat shape, so the config comes back as data.
  Runtime runtime(options());
  WatPlugin p;
  p.observe_body =
      "(i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))"
      " (i64.extend_i32_u (local.get $len)))";
  p.schema_json = R"({"type":"object"})";
  auto plugin = load(runtime, p);
  nlohmann::json config = {{"path", "/etc/hostname"}, {"list", {1, 2, 3}}};
  auto evidence = plugin->observe(config);
  ASSERT_TRUE(evidence.ok()) << evidence.error().to_string();
  EXPECT_TRUE(evidence->status);
  EXPECT_EQ(evidence->data, config);
}

TEST_P(RuntimeTest, ResultShapes) {
  Runtime runtime(options());
  struct Case {
    std::string result;
    bool status;
    nlohmann::json data;
    std::string error_code, error_message, error_type;
  } cases[] = {
      {R"({"status":false,"data":{"exists":false}})", false, {{"exists", false}}, "", "", ""},
      {R"({"status":false,"data":null,"error":{"message":"bad path","type":"config","code":"invalid_config"}})",
       false, nlohmann::json::object(), "invalid_config", "bad path", "config"},
      {R"({"status":false,"error":{"message":"boom","type":"internal"}})", false,
       nlohmann::json::object(), "plugin_error", "boom", "internal"},
      {R"({"hostname":"x","uptime":3})", true, {{"hostname", "x"}, {"uptime", 3}}, "", "", ""},
      {R"({"error":"old style failure","detail":1})",
       false,
       {{"detail", 1}},
       "plugin_error",
       "old style failure",
       ""},
  };
  int index = 0;
  for (const Case& c : cases) {
    WatPlugin p;
    p.result_json = c.result;
    auto plugin = load(runtime, p, "shape" + std::to_string(index++));
    auto evidence = plugin->observe(nlohmann::json::object());
    ASSERT_TRUE(evidence.ok()) << c.result << ": " << evidence.error().to_string();
    EXPECT_EQ(evidence->status, c.status) << c.result;
    EXPECT_EQ(evidence->data, c.data) << c.result;
    if (c.error_code.empty()) {
      EXPECT_FALSE(evidence->error) << c.result;
    } else {
      ASSERT_TRUE(evidence->error) << c.result;
      EXPECT_EQ(evidence->error->code, c.error_code);
      EXPECT_EQ(evidence->error->message, c.error_message);
      EXPECT_EQ(evidence->error->type, c.error_type);
    }
  }
}

TEST_P(RuntimeTest, ConfigIsValidatedAgainstTheSchema) {
  Runtime runtime(options());
  WatPlugin p;
  p.schema_json =
      R"({"type":"object","required":["path"],"additionalProperties":false,"properties":{
          "path":{"type":"string","minLength":1},
          "mode":{"type":"string","enum":["exists","content"]},
          "timeout":{"type":"integer","minimum":1},
          "headers":{"type":"object","additionalProperties":{"type":"string"}},
          "args":{"type":"array","items":{"type":"string"}}}})";
  auto plugin = load(runtime, p);
  auto invalid = [&](nlohmann::json config, std::string_view needle) {
    auto result = plugin->observe(config);
    ASSERT_FALSE(result.ok()) << config.dump();
    EXPECT_EQ(result.error().code, ErrorCode::invalid_config) << config.dump();
    EXPECT_NE(result.error().message.find(needle), std::string::npos)
        << result.error().message << " (wanted " << needle << ")";
  };
  invalid(nlohmann::json::object(), "path");
  invalid({{"path", 3}}, "path");
  invalid({{"path", ""}}, "path");
  invalid({{"path", "/x"}, {"mode", "write"}}, "mode");
  invalid({{"path", "/x"}, {"timeout", 0}}, "timeout");
  invalid({{"path", "/x"}, {"timeout", 1.5}}, "timeout");
  invalid({{"path", "/x"}, {"colour", "red"}}, "colour");
  invalid({{"path", "/x"}, {"headers", {{"Accept", 1}}}}, "headers.Accept");
  invalid({{"path", "/x"}, {"args", {"a", 2}}}, "args[1]");
  invalid(nlohmann::json::array(), "object");
  EXPECT_TRUE(plugin
                  ->observe({{"path", "/x"},
                             {"mode", "exists"},
                             {"timeout", 5},
                             {"headers", {{"Accept", "text/plain"}}},
                             {"args", {"-a"}}})
                  .ok());
}

TEST_P(RuntimeTest, InvalidAndTruncatedModules) {
  Runtime runtime(options());
  auto bytes = build({});
  bytes.resize(bytes.size() / 2);
  auto truncated = runtime.load_plugin("t", bytes);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code, ErrorCode::invalid_module);

  std::vector<uint8_t> nonsense = {0, 'a', 's', 'm', 1, 0, 0, 0, 0xff, 0xff};
  auto bad = runtime.load_plugin("b", nonsense);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_module);
  EXPECT_EQ(runtime.get_plugin("t"), nullptr);

  auto bad_name = runtime.load_plugin("a=b", build({}));
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code, ErrorCode::invalid_argument);
}

TEST_P(RuntimeTest, MissingExportsAreAbiErrors) {
  Runtime runtime(options());
  WatPlugin no_observe;
  no_observe.export_observe = false;
  auto a = runtime.load_plugin("a", build(no_observe));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::abi_error);
  EXPECT_NE(a.error().message.find("observe"), std::string::npos) << a.error().message;

  WatPlugin no_memory;
  no_memory.export_memory = false;
  auto b = runtime.load_plugin("b", build(no_memory));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::abi_error);
  EXPECT_NE(b.error().message.find("memory"), std::string::npos);

  WatPlugin wrong_signature;
  wrong_signature.extra = "(func (export \"_initialize\") (param i32))";
  auto c = runtime.load_plugin("c", build(wrong_signature));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::abi_error);

  WatPlugin unknown_import;
  unknown_import.imports = "(import \"env\" \"magic\" (func))";
  auto d = runtime.load_plugin("d", build(unknown_import));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::abi_error);
  EXPECT_NE(d.error().message.find("env.magic"), std::string::npos);

  WatPlugin unknown_host_function;
  unknown_host_function.imports =
      "(import \"reglet_host\" \"format_disk\" (func (param i64) (result i64)))";
  auto e = runtime.load_plugin("e", build(unknown_host_function));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::abi_error);
}

// Each adversarial plugin is contained with the right code, and the runtime stays usable.
class AdversarialTest : public RuntimeTest {
 protected:
  void SetUp() override {
    runtime_ = std::make_unique<Runtime>(options());
    healthy_ = load(*runtime_, {}, "healthy");
  }
  void expect_still_usable() {
    auto evidence = healthy_->observe({{"n", 1}});
    ASSERT_TRUE(evidence.ok()) << evidence.error().to_string();
    EXPECT_TRUE(evidence->status);
  }
  // Loads the plugin, then observes it; `observed_for` is the time the observation took (not
  // the load, which on the AOT tier may include compiling).
  Error run(WatPlugin plugin, std::chrono::milliseconds timeout = 5s,
            std::chrono::steady_clock::duration* observed_for = nullptr) {
    auto loaded = runtime_->load_plugin("adversary" + std::to_string(counter_++), build(plugin));
    if (!loaded.ok()) return loaded.error();
    ObserveOptions opts;
    opts.timeout = timeout;
    const auto start = std::chrono::steady_clock::now();
    Error error = observe_error(**loaded, nlohmann::json::object(), opts);
    if (observed_for) *observed_for = std::chrono::steady_clock::now() - start;
    return error;
  }
  std::unique_ptr<Runtime> runtime_;
  std::shared_ptr<Plugin> healthy_;
  int counter_ = 0;
};

TEST_P(AdversarialTest, EndlessLoopStopsWithinDeadlinePlus100ms) {
  WatPlugin p;
  p.observe_body = "(loop (br 0)) (i64.const 0)";
  std::chrono::steady_clock::duration elapsed{};
  Error error = run(p, 300ms, &elapsed);
  EXPECT_EQ(error.code, ErrorCode::timeout) << error.to_string();
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 400ms);
  expect_still_usable();
}

TEST_P(AdversarialTest, LoopWithCallsStopsAtDeadline) {
  WatPlugin p;
  p.extra = "(func $work (result i32) (i32.const 1))";
  p.observe_body =
      "(local $n i32) (loop (local.set $n (i32.add (local.get $n) (call $work))) (br 0)) "
      "(i64.const 0)";
  std::chrono::steady_clock::duration elapsed{};
  Error error = run(p, 200ms, &elapsed);
  EXPECT_EQ(error.code, ErrorCode::timeout);
  EXPECT_LT(elapsed, 300ms);
  expect_still_usable();
}

TEST_P(AdversarialTest, CancelFromAnotherThread) {
  auto loaded = runtime_->load_plugin("spin", build([] {
                                        WatPlugin p;
                                        p.observe_body = "(loop (br 0)) (i64.const 0)";
                                        return p;
                                      }()));
  ASSERT_TRUE(loaded.ok());
  CancelToken token;
  ObserveOptions opts;
  opts.cancel = token;
  std::thread canceller([token] {
    std::this_thread::sleep_for(50ms);
    token.cancel();
  });
  auto start = std::chrono::steady_clock::now();
  Error error = observe_error(**loaded, nlohmann::json::object(), opts);
  canceller.join();
  EXPECT_EQ(error.code, ErrorCode::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 150ms);
  expect_still_usable();
}

TEST_P(AdversarialTest, MemoryBomb) {
  WatPlugin p;
  p.observe_body =
      "(loop (br_if 0 (i32.ne (memory.grow (i32.const 256)) (i32.const -1)))) unreachable";
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::memory_limit) << error.to_string();
  expect_still_usable();
}

TEST_P(AdversarialTest, EndlessRecursion) {
  WatPlugin p;
  p.extra =
      "(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))";
  p.observe_body = "(i64.extend_i32_u (call $down (i32.const 0)))";
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::stack_exhausted) << error.to_string();
  expect_still_usable();
}

TEST_P(AdversarialTest, PlainTrap) {
  WatPlugin p;
  p.observe_body = "(i64.extend_i32_u (i32.div_u (i32.const 1) (i32.const 0)))";
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::trap);
  EXPECT_NE(error.message.find("divide by zero"), std::string::npos) << error.message;
  expect_still_usable();
}

TEST_P(AdversarialTest, PackedPointerOutOfRange) {
  WatPlugin p;
  p.observe_body = "(i64.const 0x00FF000000000010)";  // ptr 16711680 > 2 pages, len 16
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::abi_error);
  EXPECT_NE(error.message.find("outside"), std::string::npos) << error.message;
  expect_still_usable();
}

TEST_P(AdversarialTest, PackedPointerThatWouldWrap) {
  WatPlugin p;
  p.observe_body = "(i64.const 0xFFFFFFF000000020)";  // ptr 0xFFFFFFF0 + len 0x20 wraps in 32 bits
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::abi_error) << error.to_string();
  expect_still_usable();
}

TEST_P(AdversarialTest, ZeroPointerOrLength) {
  WatPlugin zero_ptr;
  zero_ptr.observe_body = "(i64.const 16)";
  EXPECT_EQ(run(zero_ptr).code, ErrorCode::abi_error);
  WatPlugin zero_len;
  zero_len.observe_body = "(i64.const 0x0000040000000000)";
  EXPECT_EQ(run(zero_len).code, ErrorCode::abi_error);
  expect_still_usable();
}

TEST_P(AdversarialTest, AllocateReturnsGarbage) {
  WatPlugin beyond;
  beyond.allocate_body = "(i32.const -16)";  // 0xFFFFFFF0
  Error error = run(beyond);
  EXPECT_EQ(error.code, ErrorCode::abi_error) << error.to_string();
  EXPECT_NE(error.message.find("allocate"), std::string::npos);
  WatPlugin zero;
  zero.allocate_body = "(i32.const 0)";
  Error zero_error = run(zero);
  EXPECT_EQ(zero_error.code, ErrorCode::abi_error);
  EXPECT_NE(zero_error.message.find("returned 0"), std::string::npos) << zero_error.message;
  WatPlugin trapping;
  trapping.allocate_body = "unreachable";
  EXPECT_EQ(run(trapping).code, ErrorCode::trap);
  expect_still_usable();
}

TEST_P(AdversarialTest, MalformedJson) {
  WatPlugin p;
  p.result_json = R"({"status": tru)";
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::abi_error);
  EXPECT_NE(error.message.find("not valid JSON"), std::string::npos) << error.message;
  WatPlugin binary;
  binary.result_json = std::string("\xff\xfe\x00\x01", 4);
  EXPECT_EQ(run(binary).code, ErrorCode::abi_error);
  expect_still_usable();
}

TEST_P(AdversarialTest, JsonThatIsNotAnObject) {
  for (std::string json : {"[1,2,3]", "42", "\"text\"", "null"}) {
    WatPlugin p;
    p.result_json = json;
    Error error = run(p);
    EXPECT_EQ(error.code, ErrorCode::abi_error) << json;
    EXPECT_NE(error.message.find("not a JSON object"), std::string::npos) << error.message;
  }
  WatPlugin bad_status;
  bad_status.result_json = R"({"status":"yes","data":{}})";
  EXPECT_EQ(run(bad_status).code, ErrorCode::abi_error);
  expect_still_usable();
}

TEST_P(AdversarialTest, HugeResultIsRejected) {
  WatPlugin p;
  p.memory_pages = 40;
  // Claims 2 MiB at offset 64 KiB: in memory, but above the 1 MiB evidence limit.
  p.observe_body = "(i64.const 0x0001000000200000)";
  Error error = run(p);
  EXPECT_EQ(error.code, ErrorCode::abi_error);
  EXPECT_NE(error.message.find("limit"), std::string::npos) << error.message;
  expect_still_usable();
}

TEST_P(AdversarialTest, HugeMalformedInputFromDescribe) {
  WatPlugin p;
  p.describe_json = std::string(5000, '[');
  auto loaded = runtime_->load_plugin("deep", build(p));
  ASSERT_TRUE(loaded.ok());
  auto info = (*loaded)->describe();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::abi_error);
  expect_still_usable();
}

TEST_P(AdversarialTest, InitializeThatNeverReturns) {
  RuntimeOptions o = options();
  o.load_timeout = 100ms;
  Runtime runtime(o);
  WatPlugin p;
  p.extra = "(func (export \"_initialize\") (loop (br 0)))";
  auto loaded = runtime.load_plugin("init", build(p));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::timeout);
}

TEST_P(RuntimeTest, LogMessageReachesTheSink) {
  Runtime runtime(options());
  WatPlugin p;
  const std::string request = R"({"level":"warn","message":"disk almost full","attrs":{"pct":93}})";
  p.imports = "(import \"reglet_host\" \"log_message\" (func $log (param i64) (result i64)))";
  p.extra = "(data (i32.const 4096) \"" + [&] {
    std::string escaped;
    for (char c : request) {
      if (c == '"')
        escaped += "\\\"";
      else
        escaped += c;
    }
    return escaped;
  }() + "\")";
  p.observe_body =
      "(drop (call $log (i64.const " + std::to_string((uint64_t{4096} << 32) | request.size()) +
      "))) (i64.or (i64.shl (i64.extend_i32_u (global.get $result_ptr)) (i64.const 32))"
      " (i64.extend_i32_u (global.get $result_len)))";
  p.memory_pages = 2;
  auto plugin = load(runtime, p);
  ObserveOptions opts;
  opts.request_id = "req-7";
  auto evidence = plugin->observe({{"n", 1}}, opts);
  ASSERT_TRUE(evidence.ok()) << evidence.error().to_string();
  std::lock_guard lock(log_mutex_);
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_EQ(logs_[0].plugin, "p");
  EXPECT_EQ(logs_[0].level, "warn");
  EXPECT_EQ(logs_[0].message, "disk almost full");
  EXPECT_EQ(logs_[0].attrs["pct"], 93);
  EXPECT_EQ(logs_[0].attrs["request_id"], "req-7");
}

TEST_P(RuntimeTest, ObservationsDoNotShareState) {
  // observe bumps a global counter and returns {"n": counter} via the flat shape.
  Runtime runtime(options());
  WatPlugin p;
  p.extra = R"((global $count (mut i32) (i32.const 0))
    (data (i32.const 8192) "{\"n\":0}"))";
  p.observe_body =
      "(global.set $count (i32.add (global.get $count) (i32.const 1)))"
      "(i32.store8 (i32.const 8197) (i32.add (i32.const 48) (global.get $count)))"
      "(i64.const " +
      std::to_string((uint64_t{8192} << 32) | 7) + ")";
  auto plugin = load(runtime, p);
  for (int i = 0; i < 5; ++i) {
    auto evidence = plugin->observe({{"n", 1}});
    ASSERT_TRUE(evidence.ok()) << evidence.error().to_string();
    EXPECT_EQ(evidence->data["n"], 1) << "observation " << i << " saw earlier state";
  }
}

TEST_P(RuntimeTest, EightThreadsTimesAThousandObservations) {
  Runtime runtime(options());
  WatPlugin p;
  p.observe_body =
      "(i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))"
      " (i64.extend_i32_u (local.get $len)))";
  p.schema_json = R"({"type":"object"})";
  auto plugin = load(runtime, p);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        nlohmann::json config = {{"thread", t}, {"i", i}};
        auto evidence = plugin->observe(config);
        if (!evidence.ok() || evidence->data != config) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

std::string tier_name(const ::testing::TestParamInfo<EngineKind>& info) {
  return info.param == EngineKind::aot ? "aot" : "interp";
}

INSTANTIATE_TEST_SUITE_P(Tiers, RuntimeTest, ::testing::Values(EngineKind::interp, EngineKind::aot),
                         tier_name);
INSTANTIATE_TEST_SUITE_P(Tiers, AdversarialTest,
                         ::testing::Values(EngineKind::interp, EngineKind::aot), tier_name);

// ---- engine auto ------------------------------------------------------------------------------

namespace automatic {

struct Logged {
  std::mutex mutex;
  std::vector<LogRecord> records;
  bool has(std::string_view level, std::string_view text) {
    std::lock_guard lock(mutex);
    for (const LogRecord& r : records) {
      if (r.level == level && r.message.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

RuntimeOptions automatic_options(const std::string& cache, Logged& logged) {
  RuntimeOptions o;
  o.engine = EngineKind::automatic;
  o.aot_cache_dir = cache;
  o.log_sink = [&logged](const LogRecord& record) {
    std::lock_guard lock(logged.mutex);
    logged.records.push_back(record);
  };
  return o;
}

// With a compiler and no object: compiled once (saying so), then found in the cache.
TEST(AutomaticEngine, CompilesOnceThenUsesTheCache) {
  ::reglet::test::TempDir cache;
  ASSERT_FALSE(cache.path().empty());
  {
    Logged logged;
    Runtime runtime(automatic_options(cache.path(), logged));
    auto plugin = runtime.load_plugin("p", build({}));
    ASSERT_TRUE(plugin.ok()) << plugin.error().to_string();
    EXPECT_EQ((*plugin)->engine_name(), "aot");
    EXPECT_TRUE(logged.has("notice", "compiling to native code"));
    EXPECT_TRUE((*plugin)->observe(nlohmann::json::object()).ok());
  }
  Logged logged;
  Runtime runtime(automatic_options(cache.path(), logged));
  auto plugin = runtime.load_plugin("p", build({}));
  ASSERT_TRUE(plugin.ok()) << plugin.error().to_string();
  EXPECT_EQ((*plugin)->engine_name(), "aot");
  EXPECT_FALSE(logged.has("notice", "compiling")) << "the cached object was not used";
}

// A compiler that fails leaves the interpreter, with a warning: auto promises a working plugin.
TEST(AutomaticEngine, FallsBackToTheInterpreterWhenCompilationFails) {
  ::reglet::test::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string compiler = dir.path() + "/broken-cc";
  {
    std::ofstream script(compiler);
    script << "#!/bin/sh\n"
              "if [ \"$1\" = \"--version\" ]; then echo 'broken-cc 1.0'; exit 0; fi\n"
              "echo 'broken-cc: cannot compile' >&2\n"
              "exit 1\n";
  }
  std::filesystem::permissions(compiler, std::filesystem::perms::owner_all);
  ::setenv("CC", compiler.c_str(), 1);
  Logged logged;
  Runtime runtime(automatic_options(dir.path() + "/cache", logged));
  auto plugin = runtime.load_plugin("p", build({}));
  ::unsetenv("CC");
  ASSERT_TRUE(plugin.ok()) << plugin.error().to_string();
  EXPECT_EQ((*plugin)->engine_name(), "interp");
  EXPECT_TRUE(logged.has("warn", "native compilation failed, using the interpreter"));
  EXPECT_TRUE((*plugin)->observe(nlohmann::json::object()).ok());
}

}  // namespace automatic

}  // namespace
}  // namespace reglet
