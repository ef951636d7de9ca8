// reglet-bench: every Google Benchmark of the project in one executable. scripts/bench-table runs
// it with repetitions and turns the JSON into the performance table (docs/performance.md).
#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include "bench_support.h"

int main(int argc, char** argv) {
  curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread exists, as libcurl requires
  reglet::bench::register_engine_benchmarks();
  reglet::bench::register_runtime_benchmarks();
  reglet::bench::register_host_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  reglet::bench::release_fixtures();
  curl_global_cleanup();
  return 0;
}
