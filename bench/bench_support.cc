#include "bench_support.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "runtime/abi/guest_memory.h"

namespace reglet::bench {

std::vector<Tier> tiers() {
  // The tiers measured; every tier-parametrised benchmark (and row of the table) has one per
  // tier. Kept apart from tests/support/engines.cc on purpose: a tier is benchmarked once it is
  // ready to be measured, not as soon as tests start exercising it.
  return {
      {"interp", [] { return engine::make_interp_engine(); }, EngineKind::interp},
      {"aot", [] { return engine::aot::make_aot_engine(aot_options()); }, EngineKind::aot},
  };
}

std::string aot_cache_dir() { return std::string(REGLET_BENCH_BINARY_DIR) + "/aot-cache"; }

engine::aot::AotOptions aot_options() {
  engine::aot::AotOptions options;
  options.cache_dir = aot_cache_dir();
  return options;
}

RuntimeOptions runtime_options(const Tier& tier) {
  RuntimeOptions options;
  options.engine = tier.kind;
  options.aot_cache_dir = aot_cache_dir();
  return options;
}

void die(const std::string& message) {
  std::fprintf(stderr, "reglet-bench: %s\n", message.c_str());
  std::exit(2);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path + " (is the build complete?)");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string bench_plugin_path(std::string_view file) {
  return std::string(REGLET_BENCH_BINARY_DIR) + "/" + std::string(file);
}

std::string test_plugin_path(std::string_view file) {
  return std::string(REGLET_TEST_PLUGIN_DIR) + "/" + std::string(file);
}

namespace detail {
std::vector<std::pair<std::string, std::shared_ptr<void>>>& fixtures() {
  static auto* all = new std::vector<std::pair<std::string, std::shared_ptr<void>>>();
  return *all;
}
}  // namespace detail

void release_fixtures() {
  // Newest first: a later fixture may use an earlier one.
  auto& all = detail::fixtures();
  while (!all.empty()) all.pop_back();
}

benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* bench,
                                          benchmark::TimeUnit unit) {
  auto min = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  auto max = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  return bench->UseRealTime()
      ->Unit(unit)
      ->ComputeStatistics("min", min)
      ->ComputeStatistics("max", max);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "reglet-bench-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) die("mkdtemp failed");
  // The canonical path, so that grants and requests name the same thing.
  path_ = std::filesystem::canonical(pattern).string();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& name, size_t bytes) const {
  const std::string file = path_ + "/" + name;
  std::ofstream out(file, std::ios::binary);
  for (size_t i = 0; i < bytes; ++i) out.put(static_cast<char>('a' + i % 26));
  if (!out) die("cannot write " + file);
  return file;
}

DirectCaller::DirectCaller(void* host_data) : memory_(1u << 20), host_data_(host_data) {}

engine::Outcome<std::vector<engine::Value>> DirectCaller::call(
    std::string_view name, std::span<const engine::Value> args) {
  if (name != "allocate" || args.size() != 1) {
    return engine::Trap{engine::TrapKind::host_error, "DirectCaller only allocates", 0,
                        ErrorCode::internal};
  }
  const uint32_t size = args[0].as_i32();
  if (size > memory_.size() - next_) return std::vector<engine::Value>{engine::Value::i32(0)};
  const uint32_t ptr = next_;
  next_ += (size + 15) & ~15u;
  return std::vector<engine::Value>{engine::Value::i32(ptr)};
}

uint64_t DirectCaller::put_request(std::string_view json) {
  constexpr uint32_t kRequestAt = 16;  // a zero pointer is an ABI error
  if (json.size() > memory_.size() / 2) die("request too large for DirectCaller");
  std::copy(json.begin(), json.end(), memory_.begin() + kRequestAt);
  next_ = (kRequestAt + static_cast<uint32_t>(json.size()) + 15) & ~15u;
  return runtime::pack(kRequestAt, static_cast<uint32_t>(json.size()));
}

}  // namespace reglet::bench
