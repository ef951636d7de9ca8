// Host functions (issue "outside world"): fs_stat and env_get through a plugin, per call, next to
// the same host function called without a guest and (fs_stat) the bare system call.
//
// Per-call cost through a plugin is measured by difference: the hostcall test plugin makes the
// same call `repeat` times inside one observation, so (T(repeat=N) - T(repeat=0)) / N is the cost
// of one call from guest code (request JSON built and response JSON parsed in the guest, the
// engine's host-call path, the host function, the response buffer from the guest's allocate),
// without the observation's fixed cost.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_support.h"
#include "runtime/host/context.h"
#include "runtime/host/host_functions.h"

namespace reglet::bench {
namespace {

constexpr int kRepeat = 100;
constexpr std::string_view kEnvVar = "REGLET_BENCH_VAR";

struct HostcallFixture {
  TempDir dir;
  std::string path = dir.write("stat-me.txt", 512);
  Runtime runtime;
  std::shared_ptr<Plugin> plugin;

  explicit HostcallFixture(const Tier& tier) : runtime(options(tier)) {
    const std::vector<uint8_t> wasm = read_file(test_plugin_path("hostcall.wasm"));
    auto loaded = runtime.load_plugin("hostcall", wasm);
    plugin = must(loaded, "load hostcall");
    for (const std::string& grant : {"fs:read:" + path, "env:" + std::string(kEnvVar)}) {
      if (!runtime.capabilities().grant("hostcall", grant)) die("grant " + grant);
    }
  }

  static RuntimeOptions options(const Tier& tier) {
    RuntimeOptions options = runtime_options(tier);
    options.environment = std::map<std::string, std::string>{{std::string(kEnvVar), "benchmark"}};
    return options;
  }
};

HostcallFixture& hostcall(const Tier& tier) {
  return fixture<HostcallFixture>("hostcall/" + tier.name,
                                  [&tier] { return std::make_unique<HostcallFixture>(tier); });
}

// One observation of the hostcall plugin making `repeat` calls of `function`.
void through_plugin(benchmark::State& state, const Tier& tier, const std::string& function,
                    int repeat) {
  HostcallFixture& f = hostcall(tier);
  const Config request =
      function == "fs_stat" ? Config{{"path", f.path}} : Config{{"name", std::string(kEnvVar)}};
  const Config config = {{"function", function}, {"request", request}, {"repeat", repeat}};
  for (auto _ : state) {
    auto evidence = f.plugin->observe(config);
    // hostcall reports a host error as data.error; a denied grant must not pass for a fast call.
    if (!evidence || evidence->error || evidence->data.contains("error")) {
      state.SkipWithError(
          ("hostcall failed: " + (evidence ? evidence->raw : evidence.error().to_string()))
              .c_str());
      break;
    }
  }
  state.counters["per_iter"] = repeat;
}

// The host function alone: its callback called with a DirectCaller (no guest, no engine).
struct DirectFixture {
  TempDir dir;
  std::string path = dir.write("stat-me.txt", 512);
  std::shared_ptr<runtime::Services> services = std::make_shared<runtime::Services>();
  std::unique_ptr<runtime::InstanceContext> context;

  DirectFixture() {
    services->environment = {{std::string(kEnvVar), "benchmark"}};
    for (const std::string& grant : {"fs:read:" + path, "env:" + std::string(kEnvVar)}) {
      if (!services->capabilities.grant("direct", grant)) die("grant " + grant);
    }
    context = std::make_unique<runtime::InstanceContext>(services, "direct",
                                                         services->capabilities.grants("direct"));
  }
};

void host_only(benchmark::State& state, const std::string& function) {
  auto& f = fixture<DirectFixture>("direct", [] { return std::make_unique<DirectFixture>(); });
  auto func = runtime::host::find(function);
  if (!func) die("no host function " + function);
  const std::string request = function == "fs_stat" ? Config{{"path", f.path}}.dump()
                                                    : Config{{"name", std::string(kEnvVar)}}.dump();
  DirectCaller caller(f.context.get());
  engine::Value result;
  for (auto _ : state) {
    const engine::Value arg = engine::Value::i64(caller.put_request(request));
    if (func->callback(caller, std::span<const engine::Value>(&arg, 1),
                       std::span<engine::Value>(&result, 1))) {
      state.SkipWithError("host function trapped");
      break;
    }
  }
  // The last response must be a success, not a fast error.
  const auto range = result.as_i64();
  const std::string_view response(
      reinterpret_cast<const char*>(caller.memory().data()) + (range >> 32), range & 0xffffffffu);
  if (response.find("\"error\"") != std::string_view::npos) {
    state.SkipWithError(("host function answered " + std::string(response)).c_str());
  }
}

// The system call the host function wraps.
void fs_stat_native(benchmark::State& state) {
  auto& f = fixture<DirectFixture>("direct", [] { return std::make_unique<DirectFixture>(); });
  for (auto _ : state) {
    struct stat info {};
    if (::stat(f.path.c_str(), &info) != 0) state.SkipWithError("stat failed");
    benchmark::DoNotOptimize(info);
  }
}

// stat() plus the owner and group names fs_stat reports (getpwuid_r/getgrgid_r, which read
// /etc/passwd and /etc/group on every call when no name service cache runs).
void fs_stat_native_names(benchmark::State& state) {
  auto& f = fixture<DirectFixture>("direct", [] { return std::make_unique<DirectFixture>(); });
  std::vector<char> buffer(16384);
  for (auto _ : state) {
    struct stat info {};
    if (::stat(f.path.c_str(), &info) != 0) state.SkipWithError("stat failed");
    struct passwd pw {};
    struct passwd* pw_result = nullptr;
    ::getpwuid_r(info.st_uid, &pw, buffer.data(), buffer.size(), &pw_result);
    struct group gr {};
    struct group* gr_result = nullptr;
    ::getgrgid_r(info.st_gid, &gr, buffer.data(), buffer.size(), &gr_result);
    benchmark::DoNotOptimize(pw_result);
    benchmark::DoNotOptimize(gr_result);
  }
}

}  // namespace

void register_host_benchmarks() {
  using benchmark::kMicrosecond;
  using benchmark::kNanosecond;
  using benchmark::RegisterBenchmark;
  configure(RegisterBenchmark("fs_stat/native", fs_stat_native), kNanosecond);
  configure(RegisterBenchmark("fs_stat/native_with_names", fs_stat_native_names), kNanosecond);
  configure(RegisterBenchmark("fs_stat/host_only", host_only, std::string("fs_stat")),
            kMicrosecond);
  configure(RegisterBenchmark("env_get/host_only", host_only, std::string("env_get")),
            kMicrosecond);
  for (const Tier& tier : tiers()) {
    for (const std::string& function : {std::string("fs_stat"), std::string("env_get")}) {
      for (const int repeat : {0, kRepeat}) {
        const std::string name = function + "/plugin_x" + std::to_string(repeat) + "/" + tier.name;
        configure(RegisterBenchmark(name.c_str(), through_plugin, tier, function, repeat),
                  kMicrosecond);
      }
    }
  }
}

}  // namespace reglet::bench
