// Engine-level benchmarks (issue "runtime core"): the cost of a host call, of a fresh instance
// from the pre-initialised image, and of compute inside the guest against the same C natively.
// Each runs per tier through the engine interface; the host-call one also runs against WABT's
// interpreter used bare, which is the baseline our layer is judged against.
#include <wabt/binary-reader.h>
#include <wabt/error-formatter.h>
#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>

#include <array>
#include <cstring>
#include <filesystem>

#include "bench_support.h"
#include "engine/prep/prepare.h"
#include "kernels/kernels.h"
#include "reglet/builtins.h"
#include "runtime/host/context.h"
#include "runtime/host/imports.h"
#include "support/wat.h"

namespace reglet::bench {
namespace {

namespace wi = wabt::interp;
using engine::ExecutionControl;
using engine::ValType;
using engine::Value;

// --- 1. Host-call round trip --------------------------------------------------------------------

// Host calls per guest call: enough that the one host->guest call per iteration is noise.
constexpr uint32_t kHostCalls = 100'000;

// A guest loop calling an imported no-op N times, with the ABI's (i64) -> i64 shape. The result
// chains through the calls so that nothing can be skipped.
constexpr std::string_view kHostCallWat = R"((module
  (import "bench" "noop" (func $noop (param i64) (result i64)))
  (func (export "run") (param $n i32) (result i64)
    (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (call $noop (local.get $acc)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))))";

// (a) Through engine::HostFunc on a tier: the module as the runtime prepares it (interruption
// checks, call-depth counting) and our dispatch. `direct`: the no-op in the (i64) -> i64 fast
// form every reglet_host function uses (HostFunc::direct_i64); otherwise the general form
// (Value conversion, std::function), which WASI's functions use.
std::optional<engine::Trap> noop_direct(engine::Caller&, const void*, uint64_t arg,
                                        uint64_t& result) {
  result = arg + 1;
  return std::nullopt;
}

void host_call_engine(benchmark::State& state, const Tier& tier, bool direct) {
  auto engine = tier.make_engine();
  auto prepared = engine::PreparedModule::prepare(test::wat_to_wasm(kHostCallWat));
  must(prepared, "prepare");
  engine::HostFunc noop =
      direct ? engine::HostFunc::direct_i64("bench", "noop", noop_direct, nullptr)
             : engine::HostFunc{"bench",
                                "noop",
                                {{ValType::i64}, {ValType::i64}},
                                [](engine::Caller&, std::span<const Value> args,
                                   std::span<Value> results) -> std::optional<engine::Trap> {
                                  results[0] = Value::i64(args[0].as_i64() + 1);
                                  return std::nullopt;
                                }};
  auto module = engine->compile(*prepared, {noop});
  must(module, "compile");
  ExecutionControl control;  // no deadline: the checks still run, they just never fire
  auto instance = (*module)->instantiate(nullptr, nullptr, control);
  must(instance, "instantiate");
  const Value n = Value::i32(kHostCalls);
  for (auto _ : state) {
    auto outcome = (*instance)->call("run", std::span<const Value>(&n, 1), control);
    auto* values = std::get_if<std::vector<Value>>(&outcome);
    if (!values || values->at(0).as_i64() != kHostCalls) {
      state.SkipWithError("the host-call loop did not return the call count");
      break;
    }
  }
  state.counters["per_iter"] = kHostCalls;
}

// WABT's interpreter with nothing of ours: a bare Store, bare interp::HostFunc, a default
// Thread, Func::Call. Imports from module "bench" get `bench_import`; the preprocessing's
// internal imports (in a prepared binary) get bare no-ops that let the guest run on.
struct BareWabt {
  wi::Store store;
  wi::Module::Ptr module;
  std::vector<wi::HostFunc::Ptr> funcs;
  wi::Instance::Ptr instance;
  std::unique_ptr<wi::Thread> thread;

  BareWabt(const std::vector<uint8_t>& wasm, wi::HostFunc::Callback bench_import) {
    wi::ModuleDesc desc;
    wabt::Errors errors;
    wabt::Features features;
    const wabt::ReadBinaryOptions options(features, nullptr, false, true, false);
    if (wabt::Failed(wi::ReadBinaryInterp("bench.wasm", wasm.data(), wasm.size(), options, &errors,
                                          &desc))) {
      die("WABT cannot read the module: " +
          wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
    }
    module = wi::Module::New(store, desc);
    wi::RefVec imports;
    for (const wi::ImportType& import : module->import_types()) {
      auto* type = wabt::cast<wi::FuncType>(import.type.get());
      wi::HostFunc::Callback callback;
      if (import.module == "bench") {
        callback = bench_import;
      } else if (import.name == engine::kInterruptImport) {
        callback = [](wi::Thread&, const wi::Values&, wi::Values& results, wi::Trap::Ptr*) {
          results[0] = wi::Value::Make(engine::kInterruptBudget);
          return wabt::Result::Ok;
        };
      } else {  // memory_grow_failed, stack_exhausted: not reached by the benchmark modules
        callback = [](wi::Thread&, const wi::Values&, wi::Values&, wi::Trap::Ptr*) {
          return wabt::Result::Error;
        };
      }
      funcs.push_back(wi::HostFunc::New(store, *type, std::move(callback)));
      imports.push_back(funcs.back()->self());
    }
    wi::Trap::Ptr trap;
    instance = wi::Instance::Instantiate(store, module->self(), imports, &trap);
    if (!instance) die("WABT cannot instantiate the module");
    // The default thread's call stack (about 1,600 frames) is deep enough for the kernels.
    thread = std::make_unique<wi::Thread>(store);
  }

  wi::Func::Ptr find(std::string_view name) {
    const auto& types = module->export_types();
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i].name == name) return store.UnsafeGet<wi::Func>(instance->exports()[i]);
    }
    die("no export " + std::string(name));
  }

  // Calls an export; returns the first i32 result (0 when there is none).
  uint32_t call(std::string_view name, const wi::Values& params) {
    wi::Values results;
    wi::Trap::Ptr trap;
    if (wabt::Failed(find(name)->Call(*thread, params, results, &trap))) {
      die("bare WABT call of " + std::string(name) + " failed" +
          (trap ? ": " + trap->message() : std::string()));
    }
    return results.empty() ? 0 : results[0].Get<uint32_t>();
  }
};

// (b) The baseline: the same loop in bare WABT. With `instrumented`, the binary is the prepared
// one (its internal imports bound to bare no-ops), which separates what the instrumentation
// costs from what our dispatch costs.
void host_call_bare_wabt(benchmark::State& state, bool instrumented) {
  std::vector<uint8_t> wasm = test::wat_to_wasm(kHostCallWat);
  if (instrumented) {
    auto prepared = engine::PreparedModule::prepare(wasm);
    wasm = must(prepared, "prepare").binary();
  }
  BareWabt bare(wasm,
                [](wi::Thread&, const wi::Values& params, wi::Values& results, wi::Trap::Ptr*) {
                  results[0] = wi::Value::Make(params[0].Get<uint64_t>() + 1);
                  return wabt::Result::Ok;
                });
  wi::Func::Ptr run = bare.find("run");
  const wi::Values params = {wi::Value::Make(kHostCalls)};
  wi::Values results;
  wi::Trap::Ptr trap;
  for (auto _ : state) {
    results.clear();
    if (wabt::Failed(run->Call(*bare.thread, params, results, &trap)) ||
        results.at(0).Get<uint64_t>() != kHostCalls) {
      state.SkipWithError("the bare host-call loop failed");
      break;
    }
  }
  state.counters["per_iter"] = kHostCalls;
}

// --- 2. Fresh instance from the pre-initialised image ----------------------------------------

// A built-in plugin compiled with the real host functions, and its image made the way
// Runtime::load_plugin makes it (instantiate, `_initialize`, capture).
struct ImageFixture {
  std::span<const uint8_t> wasm;
  std::unique_ptr<engine::Engine> engine;
  std::shared_ptr<engine::Module> module;
  std::shared_ptr<runtime::Services> services = std::make_shared<runtime::Services>();
  std::unique_ptr<runtime::InstanceContext> context;
  engine::InstanceImage image;

  ImageFixture(const Tier& tier, std::string_view plugin) {
    auto bytes = builtin_plugin(plugin);
    if (!bytes) die("no built-in plugin " + std::string(plugin));
    wasm = *bytes;
    engine = tier.make_engine();
    auto prepared = engine::PreparedModule::prepare(wasm);
    must(prepared, "prepare");
    auto host_funcs = runtime::resolve_imports(prepared->imports());
    auto compiled = engine->compile(*prepared, std::move(must(host_funcs, "resolve imports")));
    module = must(compiled, "compile");
    if (!module->supports_images()) die(std::string(plugin) + " does not support images");
    context = std::make_unique<runtime::InstanceContext>(services, std::string(plugin),
                                                         services->capabilities.grants(plugin));
    ExecutionControl control;
    auto first = module->instantiate(context.get(), nullptr, control);
    must(first, "instantiate");
    if (std::holds_alternative<engine::Trap>((*first)->call("_initialize", {}, control))) {
      die("_initialize failed");
    }
    image = (*first)->capture();
  }
};

constexpr std::string_view kImagePlugin = "file";

ImageFixture& image_fixture(const Tier& tier) {
  return fixture<ImageFixture>(
      "image/" + tier.name, [&tier] { return std::make_unique<ImageFixture>(tier, kImagePlugin); });
}

// What every observation pays before the plugin runs: Module::instantiate with the image, then
// the instance's destruction.
void instantiate_image(benchmark::State& state, const Tier& tier) {
  ImageFixture& f = image_fixture(tier);
  ExecutionControl control;
  for (auto _ : state) {
    auto instance = f.module->instantiate(f.context.get(), &f.image, control);
    if (!instance) {
      state.SkipWithError(instance.error().to_string().c_str());
      break;
    }
    benchmark::DoNotOptimize(instance->get());
  }
  state.counters["wasm_bytes"] = static_cast<double>(f.wasm.size());
  state.counters["image_bytes"] = static_cast<double>(f.image.memory.size());
}

// For comparison, what the image saves: a new instance without one, and `_initialize` run again.
void instantiate_initialize(benchmark::State& state, const Tier& tier) {
  ImageFixture& f = image_fixture(tier);
  ExecutionControl control;
  for (auto _ : state) {
    auto instance = f.module->instantiate(f.context.get(), nullptr, control);
    if (!instance ||
        std::holds_alternative<engine::Trap>((*instance)->call("_initialize", {}, control))) {
      state.SkipWithError("instantiate + _initialize failed");
      break;
    }
  }
  state.counters["wasm_bytes"] = static_cast<double>(f.wasm.size());
}

// --- 4. Compute kernels: the guest against the same C natively --------------------------------

constexpr uint32_t kFibN = 30;
constexpr uint32_t kFibResult = 832'040;
constexpr uint32_t kShaBytes = 8u << 20;

const std::vector<uint8_t>& sha_input() {
  static const std::vector<uint8_t> data = [] {
    std::vector<uint8_t> bytes(kShaBytes);
    uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift64: incompressible, reproducible
    for (auto& b : bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = static_cast<uint8_t>(x >> 24);
    }
    return bytes;
  }();
  return data;
}

constexpr uint32_t kJsonBytes = 4u << 20;
constexpr uint32_t kMatrixN = 200;
constexpr uint32_t kMatrixBytes = kMatrixN * kMatrixN * sizeof(double);

// kJsonBytes of JSON such as a plugin gets back from a host function: an array of records with
// strings (some with escapes), integers, decimals with exponents, booleans, null, nested arrays
// and objects, pretty-printed in part. Padded with spaces to the exact size.
const std::string& json_input() {
  static const std::string text = [] {
    std::string out = "[\n";
    uint64_t x = 0x2545f4914f6cdd1dull;  // xorshift64, reproducible
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    auto num = [](uint64_t v) { return std::to_string(v); };
    for (uint32_t id = 0;; ++id) {
      const uint64_t r = next();
      std::string record = R"(  {"id": )" + num(id) + R"(, "name": "host-)" + num(r % 100'000) +
                           R"(.example.org", "path": "C:\\srv\\)" + num(r % 977) +
                           R"(", "note": "tab\there \"quoted\" \u00e9", "enabled": )" +
                           (r & 1 ? "true" : "false") + R"(, "owner": null, "score": -)" +
                           num(r % 10'000) + "." + num((r >> 20) % 1000) + "e" +
                           num((r >> 30) % 12) + R"(, "ports": [)" + num(r % 65'536) + ", " +
                           num((r >> 16) % 65'536) + ", " + num((r >> 32) % 65'536) + "],\n" +
                           R"(    "meta": {"mode": "0644", "size": )" + num(r >> 40) +
                           R"(, "tags": ["a", "bc", "def"], "nested": {"level": )" + num(id % 7) +
                           R"(, "empty": {}, "list": []}}})";
      if (out.size() + record.size() + 4 > kJsonBytes) break;
      if (id > 0) out += ",\n";
      out += record;
    }
    out += "\n";
    out.append(kJsonBytes - out.size() - 1, ' ');
    out += "]";
    return out;
  }();
  return text;
}

// The matrices: small integers as doubles, so that every product and partial sum is exact and
// the guest's result can be compared with the native one bit for bit.
const std::vector<double>& matrix_input(int which) {
  static const std::vector<double> a = [] {
    std::vector<double> m(kMatrixN * kMatrixN);
    for (uint32_t i = 0; i < m.size(); ++i) m[i] = static_cast<double>(i * 7 % 19) - 9.0;
    return m;
  }();
  static const std::vector<double> b = [] {
    std::vector<double> m(kMatrixN * kMatrixN);
    for (uint32_t i = 0; i < m.size(); ++i) m[i] = static_cast<double>(i * 13 % 23) - 11.0;
    return m;
  }();
  return which == 0 ? a : b;
}

struct NativeJson {
  uint32_t hash = 0;
  uint32_t tokens = 0;
};
const NativeJson& native_json() {
  static const NativeJson result = [] {
    NativeJson r;
    const std::string& text = json_input();
    r.hash = kernel_json_tokenize(reinterpret_cast<const uint8_t*>(text.data()), kJsonBytes,
                                  &r.tokens);
    if (r.tokens == 0) die("the generated JSON does not tokenize natively");
    return r;
  }();
  return result;
}

const std::vector<double>& native_product() {
  static const std::vector<double> c = [] {
    std::vector<double> m(kMatrixN * kMatrixN);
    kernel_matmul(matrix_input(0).data(), matrix_input(1).data(), m.data(), kMatrixN);
    return m;
  }();
  return c;
}

// Guest buffers of kernels.wasm, allocated through its exported allocator and filled with the
// same inputs as the native runs. `call` allocates in the guest.
struct KernelBuffers {
  uint32_t input = 0;   // SHA-256 input
  uint32_t output = 0;  // the digest
  uint32_t json = 0;    // the JSON text
  uint32_t tokens = 0;  // the tokenizer's token count (a uint32_t)
  uint32_t a = 0, b = 0, c = 0;  // the matrices

  template <class Call>
  void allocate(Call&& call) {
    input = call(kShaBytes);
    output = call(32);
    json = call(kJsonBytes);
    tokens = call(4);
    a = call(kMatrixBytes);
    b = call(kMatrixBytes);
    c = call(kMatrixBytes);
    if (!input || !output || !json || !tokens || !a || !b || !c) {
      die("kernels.wasm: allocate failed");
    }
  }

  void fill(uint8_t* memory) const {
    std::memcpy(memory + input, sha_input().data(), kShaBytes);
    std::memcpy(memory + json, json_input().data(), kJsonBytes);
    std::memcpy(memory + a, matrix_input(0).data(), kMatrixBytes);
    std::memcpy(memory + b, matrix_input(1).data(), kMatrixBytes);
  }
};

struct KernelFixture {
  std::unique_ptr<engine::Engine> engine;
  std::shared_ptr<engine::Module> module;
  std::unique_ptr<engine::Instance> instance;
  KernelBuffers buffers;

  explicit KernelFixture(const Tier& tier) {
    engine = tier.make_engine();
    auto prepared = engine::PreparedModule::prepare(read_file(bench_plugin_path("kernels.wasm")));
    must(prepared, "prepare kernels.wasm");
    if (!prepared->imports().empty()) die("kernels.wasm should import nothing");
    auto compiled = engine->compile(*prepared, {});
    module = must(compiled, "compile kernels.wasm");
    ExecutionControl control;
    auto created = module->instantiate(nullptr, nullptr, control);
    instance = std::move(must(created, "instantiate kernels.wasm"));
    if (module->find_export("_initialize")) call("_initialize", {});
    buffers.allocate([this](uint32_t size) { return call("allocate", {Value::i32(size)}); });
    // After the allocations: memory may have grown (and moved) while they ran.
    buffers.fill(instance->memory().data());
  }

  uint32_t call(std::string_view name, std::vector<Value> args) {
    ExecutionControl control;
    auto outcome = instance->call(name, args, control);
    if (auto* trap = std::get_if<engine::Trap>(&outcome)) {
      die("kernels.wasm " + std::string(name) + ": " + trap->message);
    }
    const auto& values = std::get<std::vector<Value>>(outcome);
    return values.empty() ? 0 : values[0].as_i32();
  }
};

KernelFixture& kernel_fixture(const Tier& tier) {
  return fixture<KernelFixture>("kernels/" + tier.name,
                                [&tier] { return std::make_unique<KernelFixture>(tier); });
}

void fib_native(benchmark::State& state) {
  for (auto _ : state) {
    uint32_t n = kFibN;
    benchmark::DoNotOptimize(n);  // no constant folding of the whole call tree
    if (kernel_fib(n) != kFibResult) state.SkipWithError("wrong fib");
  }
}

void fib_wasm(benchmark::State& state, const Tier& tier) {
  KernelFixture& f = kernel_fixture(tier);
  for (auto _ : state) {
    if (f.call("fib", {Value::i32(kFibN)}) != kFibResult) state.SkipWithError("wrong fib");
  }
}

// The kernels in bare WABT, uninstrumented: what the interpreter itself costs, so that the
// ratio to native splits into WABT's share and the preprocessing's (interruption checks at
// function entries and loop headers, call-depth counting).
struct BareKernels {
  BareWabt bare{read_file(bench_plugin_path("kernels.wasm")), nullptr};
  KernelBuffers buffers;

  BareKernels() {
    bare.call("_initialize", {});
    buffers.allocate(
        [this](uint32_t size) { return bare.call("allocate", {wi::Value::Make(size)}); });
    buffers.fill(memory());
  }

  uint8_t* memory() {
    return bare.store.UnsafeGet<wi::Memory>(bare.instance->memories()[0])->UnsafeData();
  }
};

BareKernels& bare_kernels() {
  return fixture<BareKernels>("kernels/bare", [] { return std::make_unique<BareKernels>(); });
}

void fib_bare_wabt(benchmark::State& state) {
  BareKernels& k = bare_kernels();
  for (auto _ : state) {
    if (k.bare.call("fib", {wi::Value::Make(kFibN)}) != kFibResult) {
      state.SkipWithError("wrong fib");
    }
  }
}

void sha256_bare_wabt(benchmark::State& state) {
  BareKernels& k = bare_kernels();
  for (auto _ : state) {
    k.bare.call("sha256", {wi::Value::Make(k.buffers.input), wi::Value::Make(kShaBytes),
                           wi::Value::Make(k.buffers.output)});
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kShaBytes);
}

std::array<uint8_t, 32> native_digest() {
  std::array<uint8_t, 32> digest{};
  kernel_sha256(sha_input().data(), kShaBytes, digest.data());
  return digest;
}

void sha256_native(benchmark::State& state) {
  std::array<uint8_t, 32> digest{};
  for (auto _ : state) {
    kernel_sha256(sha_input().data(), kShaBytes, digest.data());
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kShaBytes);
}

void sha256_wasm(benchmark::State& state, const Tier& tier) {
  KernelFixture& f = kernel_fixture(tier);
  const std::array<uint8_t, 32> expected = native_digest();
  for (auto _ : state) {
    f.call("sha256", {Value::i32(f.buffers.input), Value::i32(kShaBytes),
                      Value::i32(f.buffers.output)});
  }
  // The same digest as natively: the guest really hashed the same bytes.
  if (std::memcmp(f.instance->memory().data() + f.buffers.output, expected.data(), 32) != 0) {
    state.SkipWithError("the guest's SHA-256 differs from the native one");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kShaBytes);
}

void json_native(benchmark::State& state) {
  const NativeJson& expected = native_json();
  const auto* text = reinterpret_cast<const uint8_t*>(json_input().data());
  for (auto _ : state) {
    uint32_t tokens = 0;
    const uint32_t hash = kernel_json_tokenize(text, kJsonBytes, &tokens);
    benchmark::DoNotOptimize(hash);
    if (hash != expected.hash || tokens != expected.tokens) state.SkipWithError("wrong tokens");
  }
  state.counters["tokens"] = expected.tokens;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kJsonBytes);
}

// The guest's hash and token count must be the native ones: it tokenized the same text alike.
template <class Call, class Tokens>
void json_loop(benchmark::State& state, Call&& call, Tokens&& tokens) {
  const NativeJson& expected = native_json();
  for (auto _ : state) {
    if (call() != expected.hash || tokens() != expected.tokens) {
      state.SkipWithError("the guest's JSON tokens differ from the native ones");
      break;
    }
  }
  state.counters["tokens"] = expected.tokens;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kJsonBytes);
}

void json_wasm(benchmark::State& state, const Tier& tier) {
  KernelFixture& f = kernel_fixture(tier);
  const KernelBuffers& k = f.buffers;
  json_loop(
      state,
      [&] {
        return f.call("json_tokenize",
                      {Value::i32(k.json), Value::i32(kJsonBytes), Value::i32(k.tokens)});
      },
      [&] {
        uint32_t tokens;
        std::memcpy(&tokens, f.instance->memory().data() + k.tokens, 4);
        return tokens;
      });
}

void json_bare_wabt(benchmark::State& state) {
  BareKernels& b = bare_kernels();
  const KernelBuffers& k = b.buffers;
  json_loop(
      state,
      [&] {
        return b.bare.call("json_tokenize", {wi::Value::Make(k.json), wi::Value::Make(kJsonBytes),
                                             wi::Value::Make(k.tokens)});
      },
      [&] {
        uint32_t tokens;
        std::memcpy(&tokens, b.memory() + k.tokens, 4);
        return tokens;
      });
}

void matmul_native(benchmark::State& state) {
  const std::vector<double>& expected = native_product();
  std::vector<double> c(kMatrixN * kMatrixN);
  for (auto _ : state) {
    kernel_matmul(matrix_input(0).data(), matrix_input(1).data(), c.data(), kMatrixN);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  if (c != expected) state.SkipWithError("matmul is not deterministic");
}

// The guest's product must be the native one, bit for bit (exact with these inputs).
bool same_product(const uint8_t* guest_c) {
  return std::memcmp(guest_c, native_product().data(), kMatrixBytes) == 0;
}

void matmul_wasm(benchmark::State& state, const Tier& tier) {
  KernelFixture& f = kernel_fixture(tier);
  const KernelBuffers& k = f.buffers;
  const std::vector<Value> args = {Value::i32(k.a), Value::i32(k.b), Value::i32(k.c),
                                   Value::i32(kMatrixN)};
  for (auto _ : state) f.call("matmul", args);
  if (!same_product(f.instance->memory().data() + k.c)) {
    state.SkipWithError("the guest's matrix product differs from the native one");
  }
}

void matmul_bare_wabt(benchmark::State& state) {
  BareKernels& b = bare_kernels();
  const KernelBuffers& k = b.buffers;
  const wi::Values args = {wi::Value::Make(k.a), wi::Value::Make(k.b), wi::Value::Make(k.c),
                           wi::Value::Make(kMatrixN)};
  for (auto _ : state) b.bare.call("matmul", args);
  if (!same_product(b.memory() + k.c)) {
    state.SkipWithError("the guest's matrix product differs from the native one");
  }
}

// --- AOT compilation of a plugin: cold, and from the cache -----------------------------------

// What Runtime::load_plugin hands the AOT engine for a plugin that is not built in: the prepared
// trivial SDK plugin and its host functions. Preparing (parsing, instrumenting) is the same for
// both tiers and stays outside the timed loops.
struct CompileFixture {
  std::vector<uint8_t> wasm = read_file(bench_plugin_path("trivial.wasm"));
  Result<engine::PreparedModule> prepared = engine::PreparedModule::prepare(wasm);
  std::vector<engine::HostFunc> host_funcs;

  CompileFixture() {
    must(prepared, "prepare trivial.wasm");
    auto resolved = runtime::resolve_imports(prepared->imports());
    host_funcs = std::move(must(resolved, "resolve imports"));
  }
};

CompileFixture& compile_fixture() {
  return fixture<CompileFixture>("compile", [] { return std::make_unique<CompileFixture>(); });
}

// Cold: a new, empty cache directory per iteration, so that Engine::compile generates the C, runs
// the C compiler, dlopens the object and binds it. The directory's creation and removal are not
// timed. (The compiler's identity, `cc --version`, is memoised per process and so is paid by the
// first iteration only.)
void aot_compile_cold(benchmark::State& state) {
  CompileFixture& f = compile_fixture();
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::make_unique<TempDir>();
    engine::aot::AotOptions options = aot_options();
    options.cache_dir = dir->path();
    state.ResumeTiming();
    auto engine = engine::aot::make_aot_engine(options);
    auto module = engine->compile(*f.prepared, f.host_funcs);
    if (!module) {
      state.SkipWithError(module.error().to_string().c_str());
      break;
    }
    state.PauseTiming();
    dir.reset();  // the object stays mapped: the process keeps every object it loaded
    state.ResumeTiming();
  }
  state.counters["wasm_bytes"] = static_cast<double>(f.wasm.size());
}

// Cache hit, as a new process sees it: the object is in the cache directory but not yet loaded.
// Every iteration copies the cached object (untimed) into a new directory, under the name the
// cache gives it, so that Engine::compile hashes the module, finds the file, dlopens it and binds
// it. Few iterations: the process never unloads an object.
void aot_compile_cache_hit(benchmark::State& state) {
  CompileFixture& f = compile_fixture();
  const engine::aot::AotOptions shared = aot_options();
  {
    auto engine = engine::aot::make_aot_engine(shared);  // fills the bench cache if needed
    auto module = engine->compile(*f.prepared, f.host_funcs);
    must(module, "compile trivial.wasm");
  }
  const auto object = engine::aot::cached_object_path(*f.prepared, shared);
  for (auto _ : state) {
    state.PauseTiming();
    auto dir = std::make_unique<TempDir>();
    engine::aot::AotOptions options = shared;
    options.cache_dir = dir->path();
    std::filesystem::copy_file(object, engine::aot::cached_object_path(*f.prepared, options));
    state.ResumeTiming();
    auto engine = engine::aot::make_aot_engine(options);
    auto module = engine->compile(*f.prepared, f.host_funcs);
    if (!module) {
      state.SkipWithError(module.error().to_string().c_str());
      break;
    }
    state.PauseTiming();
    dir.reset();
    state.ResumeTiming();
  }
}

// The same module again in a process that has already loaded it (a second Runtime::load_plugin
// of the same plugin): hashing the module, finding the loaded object, the Module's own checks.
void aot_compile_loaded(benchmark::State& state) {
  CompileFixture& f = compile_fixture();
  auto engine = engine::aot::make_aot_engine(aot_options());
  auto first = engine->compile(*f.prepared, f.host_funcs);
  must(first, "compile trivial.wasm");
  for (auto _ : state) {
    auto module = engine->compile(*f.prepared, f.host_funcs);
    if (!module) {
      state.SkipWithError(module.error().to_string().c_str());
      break;
    }
  }
}

}  // namespace

void register_engine_benchmarks() {
  using benchmark::kMicrosecond;
  using benchmark::kMillisecond;
  using benchmark::RegisterBenchmark;
  configure(RegisterBenchmark("host_call/bare_wabt", host_call_bare_wabt, false), kMillisecond);
  configure(RegisterBenchmark("host_call/bare_wabt_instrumented", host_call_bare_wabt, true),
            kMillisecond);
  configure(RegisterBenchmark("fib30/native", fib_native), kMillisecond);
  configure(RegisterBenchmark("sha256_8MiB/native", sha256_native), kMillisecond);
  configure(RegisterBenchmark("fib30/bare_wabt", fib_bare_wabt), kMillisecond);
  configure(RegisterBenchmark("sha256_8MiB/bare_wabt", sha256_bare_wabt), kMillisecond);
  configure(RegisterBenchmark("json_4MiB/native", json_native), kMillisecond);
  configure(RegisterBenchmark("json_4MiB/bare_wabt", json_bare_wabt), kMillisecond);
  configure(RegisterBenchmark("matmul_200/native", matmul_native), kMillisecond);
  configure(RegisterBenchmark("matmul_200/bare_wabt", matmul_bare_wabt), kMillisecond);
  // A cold compilation takes seconds: a few iterations are enough to see it.
  configure(RegisterBenchmark("aot_compile/cold/trivial", aot_compile_cold), kMillisecond)
      ->Iterations(1);
  configure(RegisterBenchmark("aot_compile/cache_hit/trivial", aot_compile_cache_hit),
            kMillisecond)
      ->Iterations(20);
  configure(RegisterBenchmark("aot_compile/loaded/trivial", aot_compile_loaded), kMicrosecond);
  for (const Tier& tier : tiers()) {
    // Registered benchmarks keep their arguments by value.
    configure(
        RegisterBenchmark(("host_call/" + tier.name).c_str(), host_call_engine, tier, true),
        kMillisecond);
    configure(RegisterBenchmark(("host_call_general/" + tier.name).c_str(), host_call_engine,
                                tier, false),
              kMillisecond);
    configure(
        RegisterBenchmark(("instantiate_image/" + tier.name).c_str(), instantiate_image, tier),
        kMicrosecond);
    configure(RegisterBenchmark(("instantiate_initialize/" + tier.name).c_str(),
                                instantiate_initialize, tier),
              kMicrosecond);
    configure(RegisterBenchmark(("fib30/" + tier.name).c_str(), fib_wasm, tier), kMillisecond);
    configure(RegisterBenchmark(("sha256_8MiB/" + tier.name).c_str(), sha256_wasm, tier),
              kMillisecond);
    configure(RegisterBenchmark(("json_4MiB/" + tier.name).c_str(), json_wasm, tier),
              kMillisecond);
    configure(RegisterBenchmark(("matmul_200/" + tier.name).c_str(), matmul_wasm, tier),
              kMillisecond);
  }
}

}  // namespace reglet::bench
