// Shared by the benchmark files: the tiers to measure, fixtures built once per process, plugin
// files, and a Caller that lets a benchmark call a host function without a guest.
//
// Every benchmark is registered at run time (main.cc), once per tier where the tier matters, so
// that adding a tier (the ahead-of-time one) to tiers() adds its rows to the table.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/aot/aot_engine.h"
#include "engine/engine.h"
#include "reglet/runtime.h"

namespace reglet::bench {

// One engine tier: a factory for the engine-level benchmarks (engine::Module and Instance
// directly) and the RuntimeOptions::engine value for the runtime-level ones (Plugin::observe).
struct Tier {
  std::string name;  // "interp" or "aot": the suffix of the benchmark names
  std::function<std::unique_ptr<engine::Engine>()> make_engine;
  EngineKind kind;
};
std::vector<Tier> tiers();

// The AOT tier keeps the objects it compiles for the benchmark guests (kernels, trivial and
// hostcall plugins; the built-in plugins are linked in) in BUILD/bench/aot-cache, so that only
// the first run of reglet-bench compiles them, in fixtures, outside every timed loop; and so that
// the benchmarks neither read nor fill the user's own cache.
std::string aot_cache_dir();
engine::aot::AotOptions aot_options();
// RuntimeOptions for a runtime-level benchmark on `tier` (engine and AOT cache set).
RuntimeOptions runtime_options(const Tier& tier);

// A setup problem is a broken benchmark, not a measurement: stop with a message.
[[noreturn]] void die(const std::string& message);
template <class T>
T& must(Result<T>& result, std::string_view what) {
  if (!result) die(std::string(what) + ": " + result.error().to_string());
  return *result;
}

std::vector<uint8_t> read_file(const std::string& path);
// Paths of the wasm files the build made (compile definitions from bench/CMakeLists.txt).
std::string bench_plugin_path(std::string_view file);  // bench/<file>
std::string test_plugin_path(std::string_view file);   // tests/plugins/<file>

// Google Benchmark re-runs a benchmark function for every repetition (and while it sizes the
// iteration count); fixtures that are expensive to build (a loaded plugin, a server) are built on
// first use, kept by key, and released by release_fixtures() before main returns, so that no
// server thread or Runtime outlives main.
template <class T>
T& fixture(const std::string& key, const std::function<std::unique_ptr<T>()>& make);
void release_fixtures();

// Common settings: wall-clock time (several benchmarks wait on other threads or the kernel),
// and min/max across repetitions next to the mean/median/stddev so the spread can be reported.
benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* bench,
                                          benchmark::TimeUnit unit);

// A scratch directory, removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Creates `name` in the directory with `bytes` bytes of text and returns its path.
  std::string write(const std::string& name, size_t bytes) const;

 private:
  std::string path_;
};

// A Caller without a guest: "memory" is a host buffer, `allocate` a bump allocator. For timing a
// host function's own work (request parsing, capability check, the system call, the response)
// apart from what the guest and the engine add around it.
class DirectCaller final : public engine::Caller {
 public:
  explicit DirectCaller(void* host_data);
  std::span<uint8_t> memory() override { return memory_; }
  engine::Outcome<std::vector<engine::Value>> call(std::string_view name,
                                                   std::span<const engine::Value> args) override;
  engine::ExecutionControl& control() override { return control_; }
  void* host_data() override { return host_data_; }

  // Writes a request into "guest memory" (freeing everything allocated before) and returns it
  // packed as the ABI passes it.
  uint64_t put_request(std::string_view json);

 private:
  std::vector<uint8_t> memory_;
  uint32_t next_ = 0;
  engine::ExecutionControl control_;
  void* host_data_;
};

// --- registration (one function per file) ---
void register_engine_benchmarks();
void register_runtime_benchmarks();
void register_host_benchmarks();

// --- implementation of fixture<T> ---
namespace detail {
// In creation order, so that release_fixtures() can tear down newest first.
std::vector<std::pair<std::string, std::shared_ptr<void>>>& fixtures();
}  // namespace detail

template <class T>
T& fixture(const std::string& key, const std::function<std::unique_ptr<T>()>& make) {
  auto& all = detail::fixtures();
  for (auto& [name, value] : all) {
    if (name == key) return *static_cast<T*>(value.get());
  }
  all.emplace_back(key, std::shared_ptr<T>(make()));
  return *static_cast<T*>(all.back().second.get());
}

}  // namespace reglet::bench
