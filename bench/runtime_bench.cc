// Runtime-level benchmarks: whole observations through Plugin::observe, as `reglet check` makes
// them (issue "runtime core": a trivial plugin; issue "outside world": the built-in file and http
// plugins, the latter against libcurl used directly).
#include <curl/curl.h>

#include "bench_support.h"
#include "reglet/builtins.h"
#include "support/loopback_servers.h"
#include "support/wat.h"

namespace reglet::bench {
namespace {

// A Runtime with one plugin loaded and granted what the benchmark needs.
struct PluginFixture {
  Runtime runtime;
  std::shared_ptr<Plugin> plugin;

  PluginFixture(const Tier& tier, std::string_view name, std::span<const uint8_t> wasm,
                const std::vector<std::string>& grants)
      : runtime(options(tier)) {
    auto loaded = runtime.load_plugin(name, wasm);
    plugin = must(loaded, "load " + std::string(name));
    for (const std::string& grant : grants) {
      if (Status status = runtime.capabilities().grant(name, grant); !status) {
        die("grant " + grant + ": " + status.error().to_string());
      }
    }
  }

  static RuntimeOptions options(const Tier& tier) {
    RuntimeOptions options = runtime_options(tier);
    // A fixed environment: env_get answers the same on every machine.
    options.environment = std::map<std::string, std::string>{{"REGLET_BENCH_VAR", "benchmark"}};
    return options;
  }
};

// Observes `config` in a loop; every evidence must have status true (a benchmark that measures a
// failure path by accident is worse than none).
void observe_loop(benchmark::State& state, const Plugin& plugin, const Config& config) {
  for (auto _ : state) {
    auto evidence = plugin.observe(config);
    if (!evidence) {
      state.SkipWithError(evidence.error().to_string().c_str());
      break;
    }
    if (!evidence->status || evidence->error) {
      state.SkipWithError(("unexpected evidence: " + evidence->raw).c_str());
      break;
    }
  }
}

// --- 3. observe round trip of a trivial plugin ------------------------------------------------

void observe_trivial(benchmark::State& state, const Tier& tier) {
  auto& f = fixture<PluginFixture>("trivial/" + tier.name, [&tier] {
    const std::vector<uint8_t> wasm = read_file(bench_plugin_path("trivial.wasm"));
    return std::make_unique<PluginFixture>(tier, "trivial", wasm, std::vector<std::string>{});
  });
  observe_loop(state, *f.plugin, Config{{"name", "bench"}});
}

// The same plugin written with the SDK's lean JSON (JsonFields, JsonWriter) instead of Json trees.
void observe_trivial_lean(benchmark::State& state, const Tier& tier) {
  auto& f = fixture<PluginFixture>("trivial_lean/" + tier.name, [&tier] {
    const std::vector<uint8_t> wasm = read_file(bench_plugin_path("trivial_lean.wasm"));
    return std::make_unique<PluginFixture>(tier, "trivial_lean", wasm, std::vector<std::string>{});
  });
  observe_loop(state, *f.plugin, Config{{"name", "bench"}});
}

// The same observation from a plugin written by hand in WAT: no SDK, no JSON library in the
// guest; `observe` returns a constant result. What remains is the runtime's own fixed cost (config
// validation, fresh instance, allocate and copy-in, the call, parsing the result), which the SDK
// plugin above adds its guest-side JSON parsing and printing to.
constexpr std::string_view kTrivialWat = R"((module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 4096))
  (data (i32.const 1024) "{\"status\":true,\"data\":{\"name\":\"bench\"}}")
  (data (i32.const 2048) "{\"name\":\"trivial-wat\",\"version\":\"1.0.0\",\"description\":\"constant\",\"capabilities\":[]}")
  (data (i32.const 3072) "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}")
  (func (export "allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))
  (func (export "deallocate") (param i32 i32))
  (func (export "describe") (result i64)
    (i64.or (i64.shl (i64.const 2048) (i64.const 32)) (i64.const 83)))
  (func (export "schema") (result i64)
    (i64.or (i64.shl (i64.const 3072) (i64.const 32)) (i64.const 57)))
  (func (export "observe") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 1024) (i64.const 32)) (i64.const 39))))
)";

void observe_trivial_wat(benchmark::State& state, const Tier& tier) {
  auto& f = fixture<PluginFixture>("trivial-wat/" + tier.name, [&tier] {
    const std::vector<uint8_t> wasm = test::wat_to_wasm(kTrivialWat);
    return std::make_unique<PluginFixture>(tier, "trivial-wat", wasm, std::vector<std::string>{});
  });
  observe_loop(state, *f.plugin, Config{{"name", "bench"}});
}

// --- 8. a `file` observation end to end --------------------------------------------------------

struct FileFixture {
  TempDir dir;
  std::string path = dir.write("observed.conf", 512);
  PluginFixture plugin;

  explicit FileFixture(const Tier& tier)
      : plugin(tier, "file", *builtin_plugin("file"), {"fs:read:" + path}) {}
};

void observe_file(benchmark::State& state, const Tier& tier) {
  auto& f = fixture<FileFixture>("file/" + tier.name,
                                 [&tier] { return std::make_unique<FileFixture>(tier); });
  observe_loop(state, *f.plugin.plugin, Config{{"path", f.path}});
}

// --- 9. HTTP GET to a loopback server: the http plugin against libcurl directly ---------------

struct HttpFixture {
  test::HttpServer server{[](const test::HttpServer::Request&) {
    return test::HttpServer::Response::make(200, "ok\n", {{"Content-Type", "text/plain"}});
  }};
};

HttpFixture& http_server() {
  return fixture<HttpFixture>("http-server", [] { return std::make_unique<HttpFixture>(); });
}

void http_get_plugin(benchmark::State& state, const Tier& tier) {
  HttpFixture& server = http_server();
  auto& f = fixture<PluginFixture>("http/" + tier.name, [&tier, &server] {
    const std::string grant = "network:outbound:127.0.0.1:" + std::to_string(server.server.port());
    return std::make_unique<PluginFixture>(tier, "http", *builtin_plugin("http"),
                                           std::vector<std::string>{grant});
  });
  observe_loop(state, *f.plugin, Config{{"url", server.server.url("/")}});
}

size_t discard_body(char*, size_t size, size_t count, void* sink) {
  static_cast<std::string*>(sink)->append(size * count, '\0');
  return size * count;
}

// libcurl as the host function uses it: a new easy handle and a new connection per request (the
// host forbids reuse so that every request is checked against the grants), no proxy.
void http_get_libcurl(benchmark::State& state) {
  HttpFixture& server = http_server();
  const std::string url = server.server.url("/");
  for (auto _ : state) {
    CURL* curl = curl_easy_init();
    std::string body;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30'000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK || status != 200 || body.size() != 3) {
      state.SkipWithError("libcurl GET failed");
      break;
    }
  }
}

}  // namespace

void register_runtime_benchmarks() {
  using benchmark::kMicrosecond;
  using benchmark::RegisterBenchmark;
  configure(RegisterBenchmark("http_get/libcurl", http_get_libcurl), kMicrosecond);
  for (const Tier& tier : tiers()) {
    configure(
        RegisterBenchmark(("observe_trivial_wat/" + tier.name).c_str(), observe_trivial_wat, tier),
        kMicrosecond);
    configure(RegisterBenchmark(("observe_trivial_lean/" + tier.name).c_str(), observe_trivial_lean,
                                tier),
              kMicrosecond);
    configure(RegisterBenchmark(("observe_trivial/" + tier.name).c_str(), observe_trivial, tier),
              kMicrosecond);
    configure(RegisterBenchmark(("observe_file/" + tier.name).c_str(), observe_file, tier),
              kMicrosecond);
    configure(RegisterBenchmark(("http_get/" + tier.name).c_str(), http_get_plugin, tier),
              kMicrosecond);
  }
}

}  // namespace reglet::bench
