// The narrow interface between the runtime and the engine tiers (interpreter, ahead-of-time).
//
// Modelled on proxy-wasm-cpp-host's WasmVm: the runtime prepares a module once (shared IR
// preprocessing in prep/), hands it to a tier which compiles it with the host functions bound,
// and then creates instances, calls exports, and reads or writes guest memory. Nothing above this
// header knows which tier runs a plugin.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "reglet/error.h"

namespace reglet::engine {

enum class ValType : uint8_t { i32, i64, f32, f64 };

std::string_view to_string(ValType type);

// A WebAssembly number. Plugins only exchange numbers with the host (the ABI is i32/i64).
struct Value {
  ValType type = ValType::i32;
  uint64_t bits = 0;  // i32 in the low 32 bits; floats as their bit pattern

  static Value i32(uint32_t v) { return {ValType::i32, v}; }
  static Value i64(uint64_t v) { return {ValType::i64, v}; }
  static Value f32(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return {ValType::f32, b};
  }
  static Value f64(double v) {
    uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return {ValType::f64, b};
  }
  uint32_t as_i32() const { return static_cast<uint32_t>(bits); }
  uint64_t as_i64() const { return bits; }
};

// Room for the arguments and results of one host call, left uninitialised: the tiers' dispatch
// writes only the slots a signature uses (Value's default member initialisers made every call
// zero all of them, half the cost of an AOT host call).
struct HostCallScratch {
  static constexpr size_t kMaxParams = 16, kMaxResults = 4;
  Value* params() { return reinterpret_cast<Value*>(params_); }
  Value* results() { return reinterpret_cast<Value*>(results_); }
  static bool fits(size_t params, size_t results) {
    return params <= kMaxParams && results <= kMaxResults;
  }

 private:
  alignas(Value) unsigned char params_[kMaxParams * sizeof(Value)];
  alignas(Value) unsigned char results_[kMaxResults * sizeof(Value)];
};

struct FuncSig {
  std::vector<ValType> params;
  std::vector<ValType> results;
  friend bool operator==(const FuncSig&, const FuncSig&) = default;
  std::string to_string() const;  // "(i32, i32) -> i64"
};

// Why a call stopped early. Maps one to one onto the error codes of SPEC §4.
enum class TrapKind : uint8_t {
  timeout,          // deadline passed (checked at function entries, loop headers, host calls)
  cancelled,        // cancelled from another thread
  memory_limit,     // memory.grow failed at the cap and the guest then trapped
  stack_exhausted,  // call stack or value stack exhausted
  trap,             // any other trap (unreachable, out-of-bounds access, division by zero, ...)
  exit,             // the guest called WASI proc_exit; exit_code says with what
  host_error,       // a host function failed in a way the guest cannot handle (e.g. ABI misuse)
};

struct Trap {
  TrapKind kind = TrapKind::trap;
  std::string message;
  int exit_code = 0;
  ErrorCode host_code = ErrorCode::internal;  // for host_error: the error code to report

  Error to_error() const;
};

template <class T>
using Outcome = std::variant<T, Trap>;

// Deadline and cancellation of one top-level call. Shared by every nested call made while it runs
// (host functions calling back into the guest) and read by blocking host functions.
class ExecutionControl {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ExecutionControl(Clock::time_point deadline = Clock::time_point::max())
      : deadline_(deadline) {}

  Clock::time_point deadline() const { return deadline_; }
  void set_deadline(Clock::time_point deadline) { deadline_ = deadline; }
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Watch a flag owned by someone else too (a caller-side cancellation token).
  void link(std::shared_ptr<const std::atomic<bool>> external) { external_ = std::move(external); }

  // nullopt while the call may go on; otherwise the reason to stop.
  std::optional<TrapKind> should_stop() const {
    if (cancelled() || (external_ && external_->load(std::memory_order_relaxed))) {
      return TrapKind::cancelled;
    }
    if (Clock::now() >= deadline_) return TrapKind::timeout;
    return std::nullopt;
  }
  // Time left before the deadline, never negative.
  std::chrono::milliseconds remaining() const;

 private:
  Clock::time_point deadline_;
  std::atomic<bool> cancelled_{false};
  std::shared_ptr<const std::atomic<bool>> external_;
};

class Caller;

// The one shape of the reglet_host ABI, (i64) -> i64, as a plain function: a tier calls it with
// no Value conversion and no std::function in between (on AOT that is most of a host call's
// cost). Writes `result` and returns nullopt, or returns the Trap that aborts the guest call.
// `data` is the HostFunc's direct_data. It must not throw.
using DirectI64Fn = std::optional<Trap> (*)(Caller&, const void* data, uint64_t arg,
                                            uint64_t& result);

// A host function as the runtime defines it. The callback reads its arguments, writes its
// results, and returns nullopt, or a Trap to abort the whole guest call. It must not throw.
struct HostFunc {
  std::string module;
  std::string name;
  FuncSig sig;
  std::function<std::optional<Trap>(Caller&, std::span<const Value>, std::span<Value>)> callback;
  // Set only by direct_i64(): the same function in the fast form, which tiers prefer.
  DirectI64Fn direct = nullptr;
  std::shared_ptr<const void> direct_data = nullptr;

  // A (i64) -> i64 host function given in the fast form; `callback` calls the same function, for
  // whoever needs the general one.
  static HostFunc direct_i64(std::string module, std::string name, DirectI64Fn fn,
                             std::shared_ptr<const void> data);
};

// Runs a call of a host function (either form). Host functions must not throw; one that does all
// the same stops the guest call with this trap instead of unwinding through the guest's frames.
// Always inlined: on the tiers' hot paths an out-of-line call here cost a third of a host call.
template <class Call>
[[gnu::always_inline]] inline std::optional<Trap> call_host_function(Call&& call) noexcept {
  try {
    return call();
  } catch (...) {
    return Trap{TrapKind::host_error, "host function threw", 0, ErrorCode::internal};
  }
}

// What a host function sees of the instance that called it.
class Caller {
 public:
  virtual ~Caller() = default;
  // Guest linear memory as it is now; a nested call may grow it, so take it again afterwards.
  virtual std::span<uint8_t> memory() = 0;
  // Calls an export of the same instance (e.g. `allocate`), under the same control.
  virtual Outcome<std::vector<Value>> call(std::string_view export_name,
                                           std::span<const Value> args) = 0;
  virtual ExecutionControl& control() = 0;
  // The runtime's per-instance state, as given to Module::instantiate.
  virtual void* host_data() = 0;
};

// The pre-initialised image of an instance: memory and mutable globals after `_initialize`.
struct InstanceImage {
  std::vector<uint8_t> memory;
  std::vector<Value> globals;  // every global of the module, in index order
};

class Instance {
 public:
  virtual ~Instance() = default;
  virtual Outcome<std::vector<Value>> call(std::string_view export_name,
                                           std::span<const Value> args,
                                           ExecutionControl& control) = 0;
  virtual std::span<uint8_t> memory() = 0;
  virtual InstanceImage capture() = 0;
  // Traps raised by the instance so far (for tests and metrics).
  virtual bool memory_grow_refused() const = 0;
};

struct ExportInfo {
  std::string name;
  enum class Kind : uint8_t { func, table, memory, global, tag } kind;
  FuncSig sig;  // for functions
};

// A compiled module with its host functions bound. Instances may be created from many threads at
// once; each instance is used by one thread at a time.
class Module {
 public:
  virtual ~Module() = default;
  virtual const std::vector<ExportInfo>& exports() const = 0;
  const ExportInfo* find_export(std::string_view name) const;
  // Whether an instance is fully described by an InstanceImage (see PreparedModule::resettable).
  virtual bool supports_images() const = 0;
  // A new instance. With an image, its memory (size and bytes) and globals are then set from the
  // image. `control` bounds whatever guest code instantiation runs (a start function).
  virtual Result<std::unique_ptr<Instance>> instantiate(void* host_data,
                                                        const InstanceImage* image,
                                                        ExecutionControl& control) = 0;
};

struct ImportInfo {
  std::string module;
  std::string name;
  FuncSig sig;
};

class PreparedModule;

// What every tier checks at compile: one host function per import, each with the import's
// signature (abi_error names the import), a direct form only on (i64) -> i64 (internal).
Status check_host_functions(std::span<const ImportInfo> imports, std::span<const HostFunc> funcs);

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;
  // `host_funcs` holds one entry per function import of `prepared`, in import order.
  virtual Result<std::shared_ptr<Module>> compile(const PreparedModule& prepared,
                                                  std::vector<HostFunc> host_funcs) = 0;
};

std::unique_ptr<Engine> make_interp_engine();

}  // namespace reglet::engine
