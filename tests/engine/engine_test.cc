// The engine interface, exercised with hand-written modules. Parametrised over the tiers so that
// every tier meets the same expectations.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "engine/engine.h"
#include "engine/prep/prepare.h"
#include "support/engines.h"
#include "support/wat.h"

namespace reglet::engine {
namespace {

using namespace std::chrono_literals;
using test::wat_to_wasm;

class EngineTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Engine> engine_ = test::make_engine(GetParam());

  std::shared_ptr<Module> compile(std::string_view wat, std::vector<HostFunc> host_funcs = {},
                                  PrepareOptions options = {}) {
    auto prepared = PreparedModule::prepare(wat_to_wasm(wat), options);
    EXPECT_TRUE(prepared.ok()) << (prepared.ok() ? "" : prepared.error().to_string());
    if (!prepared.ok()) return nullptr;
    auto module = engine_->compile(*prepared, std::move(host_funcs));
    EXPECT_TRUE(module.ok()) << (module.ok() ? "" : module.error().to_string());
    return module.ok() ? *module : nullptr;
  }

  std::unique_ptr<Instance> instantiate(Module& module, const InstanceImage* image = nullptr) {
    ExecutionControl control(ExecutionControl::Clock::now() + 5s);
    auto instance = module.instantiate(nullptr, image, control);
    EXPECT_TRUE(instance.ok()) << (instance.ok() ? "" : instance.error().to_string());
    return instance.ok() ? std::move(*instance) : nullptr;
  }

  static Outcome<std::vector<Value>> call(Instance& instance, std::string_view name,
                                          std::vector<Value> args = {},
                                          std::chrono::milliseconds timeout = 5000ms) {
    ExecutionControl control(ExecutionControl::Clock::now() + timeout);
    return instance.call(name, args, control);
  }

  // `export` runs forever: a call with a 150 ms deadline must stop with timeout, and soon.
  static void expect_stops_at_deadline(Instance& instance, std::string_view name) {
    const auto start = std::chrono::steady_clock::now();
    auto outcome = call(instance, name, {}, 150ms);
    ASSERT_TRUE(trap_of(outcome)) << name;
    EXPECT_EQ(trap_of(outcome)->kind, TrapKind::timeout) << name;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 250ms) << name;
  }

  static const Trap* trap_of(const Outcome<std::vector<Value>>& outcome) {
    return std::get_if<Trap>(&outcome);
  }
  static uint64_t first(const Outcome<std::vector<Value>>& outcome) {
    auto* values = std::get_if<std::vector<Value>>(&outcome);
    EXPECT_NE(values, nullptr) << (values ? "" : std::get<Trap>(outcome).message);
    return values && !values->empty() ? (*values)[0].bits : ~0ull;
  }
};

TEST_P(EngineTest, CallsAnExport) {
  auto module = compile(R"((module (func (export "add") (param i32 i32) (result i32)
                               local.get 0 local.get 1 i32.add)))");
  ASSERT_TRUE(module);
  auto instance = instantiate(*module);
  EXPECT_EQ(first(call(*instance, "add", {Value::i32(40), Value::i32(2)})), 42u);
}

TEST_P(EngineTest, MissingExportIsAbiError) {
  auto module = compile("(module (func (export \"f\")))");
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "nope");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->to_error().code, ErrorCode::abi_error);
  EXPECT_NE(trap_of(outcome)->message.find("nope"), std::string::npos);
}

TEST_P(EngineTest, WrongArgumentsAreRejected) {
  auto module = compile("(module (func (export \"f\") (param i32)))");
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "f", {Value::i64(1)});
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->to_error().code, ErrorCode::abi_error);
}

TEST_P(EngineTest, EndlessLoopStopsAtDeadline) {
  auto module = compile(R"((module (func (export "spin") (loop br 0))))");
  auto instance = instantiate(*module);
  auto start = std::chrono::steady_clock::now();
  auto outcome = call(*instance, "spin", {}, 200ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::timeout);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 300ms);
  // The instance and the module stay usable.
  auto again = call(*instance, "spin", {}, 50ms);
  ASSERT_TRUE(trap_of(again));
  EXPECT_EQ(trap_of(again)->kind, TrapKind::timeout);
}

TEST_P(EngineTest, LoopOfCallsStopsAtDeadline) {
  auto module = compile(R"((module
    (func $leaf (result i32) i32.const 1)
    (func (export "spin") (local i32)
      (loop (local.set 0 (i32.add (local.get 0) (call $leaf))) (br 0)))))");
  auto instance = instantiate(*module);
  expect_stops_at_deadline(*instance, "spin");
}

TEST_P(EngineTest, LoopsOfCallsToLeavesStopAtDeadline) {
  // Small leaf functions have no entry check (prepare.cc): loops calling them, directly or
  // through a table, keep their own; loops calling a function that checks need none.
  auto module = compile(R"((module
    (type $t (func (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $leaf)
    (func $leaf (result i32) i32.const 1)
    (func $checked (result i32) (call $leaf))
    (func (export "direct") (local i32)
      (loop (local.set 0 (i32.add (local.get 0) (call $leaf))) (br 0)))
    (func (export "indirect") (local i32)
      (loop (local.set 0 (i32.add (local.get 0) (call_indirect (type $t) (i32.const 0))))
        (br 0)))
    (func (export "through_checked") (local i32)
      (loop (local.set 0 (i32.add (local.get 0) (call $checked))) (br 0)))
    (func $counting_leaf (param i32) (result i32)
      (loop (br_if 0 (local.tee 0 (i32.add (local.get 0) (i32.const 1))))) (local.get 0))
    (func (export "in_leaf") (drop (call $counting_leaf (i32.const 1))))))");
  auto instance = instantiate(*module);
  for (auto name : {"direct", "indirect", "through_checked", "in_leaf"}) {
    expect_stops_at_deadline(*instance, name);
  }
}

TEST_P(EngineTest, LoopOfHostCallsStopsAtDeadline) {
  // The loop's only check is its host call (the preprocessing leaves the header unchecked): the
  // tiers' host-call dispatch must notice the deadline.
  std::vector<HostFunc> host;
  host.push_back({"env", "tick", {{ValType::i64}, {ValType::i64}},
                  [](Caller&, std::span<const Value> args, std::span<Value> results) {
                    results[0] = Value::i64(args[0].as_i64() + 1);
                    return std::optional<Trap>();
                  }});
  auto module = compile(R"((module (import "env" "tick" (func $tick (param i64) (result i64)))
    (func (export "spin") (local i64)
      (loop (local.set 0 (call $tick (local.get 0))) (br 0)))))",
                        std::move(host));
  auto instance = instantiate(*module);
  expect_stops_at_deadline(*instance, "spin");
}

TEST_P(EngineTest, LoopThatCanSkipItsCallKeepsItsCheck) {
  // The branch back comes before the call on one path: the header must stay checked.
  auto module = compile(R"((module
    (func $leaf (result i32) i32.const 1)
    (func (export "spin") (param i32) (local i32)
      (loop
        (block (br_if 1 (local.get 0)))
        (local.set 1 (call $leaf))
        (br 0)))))");
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "spin", {Value::i32(1)}, 150ms);
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::timeout);
  auto by_index = compile(R"((module
    (func $leaf (result i32) i32.const 1)
    (func (export "spin") (param i32) (local i32)
      (loop (if (local.get 0) (then (br_table 1 1 (i32.const 0))))
        (local.set 1 (call $leaf)) (br 0)))))");
  auto second = instantiate(*by_index);
  outcome = call(*second, "spin", {Value::i32(1)}, 150ms);
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::timeout);
}

TEST_P(EngineTest, MutualRecursionWithoutLoopsStopsAtDeadline) {
  // No loop at all: only function entries can catch this one (it tail-cycles through calls that
  // return immediately, re-entered from a single loop-free driver that recurses).
  auto module = compile(R"((module
    (func $a (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
        (else (call $b (i32.sub (local.get 0) (i32.const 1))))))
    (func $b (param i32) (result i32) (call $a (local.get 0)))
    (func (export "run") (result i32)
      (drop (call $a (i32.const 1000)))
      (drop (call $a (i32.const 1000)))
      (call $a (i32.const 1000)))))");
  auto instance = instantiate(*module);
  EXPECT_EQ(first(call(*instance, "run")), 0u);
  auto expired = call(*instance, "run", {}, 0ms);
  ASSERT_TRUE(trap_of(expired));
  EXPECT_EQ(trap_of(expired)->kind, TrapKind::timeout);
}

TEST_P(EngineTest, CancelFromAnotherThread) {
  auto module = compile(R"((module (func (export "spin") (loop br 0))))");
  auto instance = instantiate(*module);
  ExecutionControl control;  // no deadline
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    control.cancel();
  });
  auto start = std::chrono::steady_clock::now();
  auto outcome = instance->call("spin", {}, control);
  canceller.join();
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::cancelled);
  EXPECT_EQ(trap_of(outcome)->to_error().code, ErrorCode::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 150ms);
}

TEST_P(EngineTest, LinkedCancellationFlag) {
  auto module = compile(R"((module (func (export "spin") (loop br 0))))");
  auto instance = instantiate(*module);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  ExecutionControl control;
  control.link(flag);
  std::thread canceller([&] {
    std::this_thread::sleep_for(30ms);
    flag->store(true);
  });
  auto outcome = instance->call("spin", {}, control);
  canceller.join();
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::cancelled);
}

TEST_P(EngineTest, EndlessRecursionIsStackExhausted) {
  auto module = compile(R"((module (func $f (export "f") (call $f))))");
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "f");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::stack_exhausted);
  EXPECT_EQ(trap_of(outcome)->to_error().code, ErrorCode::stack_exhausted);
}

TEST_P(EngineTest, RecursionThroughCallIndirectIsStackExhausted) {
  // WABT 1.0.32 records this trap but carries on in the caller; it must still be reported.
  auto module = compile(R"((module (type $t (func (result i32)))
    (table 1 funcref) (elem (i32.const 0) $f)
    (func $f (export "f") (result i32)
      (i32.add (call_indirect (type $t) (i32.const 0)) (i32.const 1)))))");
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "f");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::stack_exhausted);
}

TEST_P(EngineTest, WideFramesGetFewerFramesNotUnboundedMemory) {
  // Each frame pushes 20,000 values before recursing: WABT's value stack is unbounded, so the
  // depth limit shrinks to keep the values within budget.
  std::string pushes;
  for (int i = 0; i < 20000; ++i) pushes += "(i32.const 1)";
  std::string drops;
  for (int i = 0; i < 20000; ++i) drops += "drop ";
  auto prepared = PreparedModule::prepare(wat_to_wasm(
      "(module (func $f (export \"f\") " + pushes + " (call $f) " + drops + "))"));
  ASSERT_TRUE(prepared.ok());
  EXPECT_GE(prepared->max_frame_values(), 20000u);
  auto module = engine_->compile(*prepared, {});
  ASSERT_TRUE(module.ok());
  auto instance = instantiate(**module);
  auto outcome = call(*instance, "f");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::stack_exhausted);
}

TEST_P(EngineTest, ModerateRecursionFits) {
  // Recursive descent parsers in plugins go a few thousand frames deep.
  auto module = compile(R"((module (func $f (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1)))))))))");
  auto instance = instantiate(*module);
  EXPECT_EQ(first(call(*instance, "depth", {Value::i32(5000)})), 5000u);
}

TEST_P(EngineTest, MemoryBombIsMemoryLimit) {
  PrepareOptions options;
  options.max_memory_pages = 64;  // 4 MiB
  auto module = compile(R"((module (memory 1)
    (func (export "bomb")
      (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      unreachable)))",
                        {}, options);
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "bomb");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::memory_limit);
  EXPECT_TRUE(instance->memory_grow_refused());
  EXPECT_LE(instance->memory().size(), 64u * kWasmPageSize);
}

TEST_P(EngineTest, GrowWithinLimitWorks) {
  PrepareOptions options;
  options.max_memory_pages = 8;
  auto module = compile(R"((module (memory 1 100)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))))",
                        {}, options);
  auto instance = instantiate(*module);
  EXPECT_EQ(first(call(*instance, "grow", {Value::i32(3)})), 1u);
  EXPECT_EQ(first(call(*instance, "grow", {Value::i32(5)})), 0xffffffffu);  // 9 > 8
  EXPECT_EQ(first(call(*instance, "grow", {Value::i32(4)})), 4u);
  EXPECT_EQ(instance->memory().size(), 8u * kWasmPageSize);
}

TEST_P(EngineTest, InitialMemoryAboveCapIsRejected) {
  PrepareOptions options;
  options.max_memory_pages = 4;
  auto prepared = PreparedModule::prepare(wat_to_wasm("(module (memory 5))"), options);
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().code, ErrorCode::memory_limit);
}

TEST_P(EngineTest, PlainTrapKeepsEngineMessage) {
  auto module = compile(R"((module (memory 1)
    (func (export "oob") (result i32) (i32.load (i32.const 70000)))
    (func (export "div") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
    (func (export "unreachable") unreachable)))");
  auto instance = instantiate(*module);
  for (auto name : {"oob", "div", "unreachable"}) {
    auto outcome = call(*instance, name);
    ASSERT_TRUE(trap_of(outcome)) << name;
    EXPECT_EQ(trap_of(outcome)->kind, TrapKind::trap) << name;
    EXPECT_FALSE(trap_of(outcome)->message.empty());
  }
  EXPECT_NE(trap_of(call(*instance, "div"))->message.find("divide by zero"), std::string::npos);
}

TEST_P(EngineTest, HostFunctionsAndReentry) {
  // The host function calls back into the guest (as the ABI does with `allocate`).
  std::vector<HostFunc> host;
  host.push_back({"env", "twice_via_guest", {{ValType::i32}, {ValType::i32}},
                  [](Caller& caller, std::span<const Value> args, std::span<Value> results)
                      -> std::optional<Trap> {
                    auto inner = caller.call("double", args);
                    if (auto* trap = std::get_if<Trap>(&inner)) return *trap;
                    results[0] = std::get<std::vector<Value>>(inner)[0];
                    caller.memory()[0] = 0x7f;
                    return std::nullopt;
                  }});
  auto module = compile(R"((module
    (import "env" "twice_via_guest" (func $h (param i32) (result i32)))
    (memory (export "memory") 1)
    (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "run") (param i32) (result i32)
      (i32.add (call $h (local.get 0)) (i32.load8_u (i32.const 0))))))",
                        std::move(host));
  auto instance = instantiate(*module);
  EXPECT_EQ(first(call(*instance, "run", {Value::i32(20)})), 40u + 0x7f);
}

TEST_P(EngineTest, HostTrapAbortsTheCall) {
  std::vector<HostFunc> host;
  host.push_back({"env", "exit", {{ValType::i32}, {}},
                  [](Caller&, std::span<const Value> args, std::span<Value>) {
                    return std::optional<Trap>(
                        Trap{TrapKind::exit, "exit", static_cast<int>(args[0].as_i32())});
                  }});
  auto module = compile(R"((module (import "env" "exit" (func $exit (param i32)))
    (func (export "run") (call $exit (i32.const 3)) unreachable)))",
                        std::move(host));
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "run");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::exit);
  EXPECT_EQ(trap_of(outcome)->exit_code, 3);
}

// The (i64) -> i64 fast form every reglet_host function uses: its data, its result, re-entry,
// a trap it returns and an exception it throws reach the guest call as from the general form.
std::optional<Trap> direct_host(Caller& caller, const void* data, uint64_t arg, uint64_t& result) {
  const uint64_t offset = *static_cast<const uint64_t*>(data);
  if (arg == 1) return Trap{TrapKind::host_error, "refused", 0, ErrorCode::capability_denied};
  if (arg == 2) throw std::runtime_error("boom");
  if (arg == 3) {  // re-enters the guest, as the ABI does with `allocate`
    Value v = Value::i32(21);
    auto inner = caller.call("double", std::span<const Value>(&v, 1));
    if (auto* trap = std::get_if<Trap>(&inner)) return *trap;
    result = std::get<std::vector<Value>>(inner)[0].bits;
    return std::nullopt;
  }
  result = arg + offset;
  return std::nullopt;
}

TEST_P(EngineTest, DirectHostFunctions) {
  std::vector<HostFunc> host;
  host.push_back(HostFunc::direct_i64("env", "direct", direct_host,
                                      std::make_shared<const uint64_t>(1000)));
  auto module = compile(R"((module
    (import "env" "direct" (func $d (param i64) (result i64)))
    (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "run") (param i64) (result i64) (call $d (local.get 0)))
    (func (export "sum") (param $n i64) (result i64) (local $acc i64)
      (loop $next
        (local.set $acc (i64.add (local.get $acc) (call $d (local.get $n))))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br_if $next (i64.gt_u (local.get $n) (i64.const 3))))
      (local.get $acc))))",
                        std::move(host));
  ASSERT_TRUE(module);
  auto instance = instantiate(*module);
  EXPECT_EQ(first(call(*instance, "run", {Value::i64(5)})), 1005u);
  EXPECT_EQ(first(call(*instance, "run", {Value::i64(~0ull - 1000)})), ~0ull);
  EXPECT_EQ(first(call(*instance, "run", {Value::i64(3)})), 42u);
  EXPECT_EQ(first(call(*instance, "sum", {Value::i64(100)})), (4u + 100u) * 97u / 2 + 97u * 1000u);
  auto refused = call(*instance, "run", {Value::i64(1)});
  ASSERT_TRUE(trap_of(refused));
  EXPECT_EQ(trap_of(refused)->kind, TrapKind::host_error);
  EXPECT_EQ(trap_of(refused)->host_code, ErrorCode::capability_denied);
  EXPECT_EQ(trap_of(refused)->message, "refused");
  auto threw = call(*instance, "run", {Value::i64(2)});
  ASSERT_TRUE(trap_of(threw));
  EXPECT_EQ(trap_of(threw)->kind, TrapKind::host_error);
  EXPECT_EQ(trap_of(threw)->host_code, ErrorCode::internal);
  // The instance still works after both.
  EXPECT_EQ(first(call(*instance, "run", {Value::i64(7)})), 1007u);
}

TEST_P(EngineTest, DirectFormCallsTheSameFunctionThroughCallback) {
  HostFunc func = HostFunc::direct_i64("env", "direct", direct_host,
                                       std::make_shared<const uint64_t>(5));
  EXPECT_EQ(func.sig, (FuncSig{{ValType::i64}, {ValType::i64}}));
  ASSERT_TRUE(func.callback);
  // A module importing it with another signature is refused, as for the general form.
  auto prepared = PreparedModule::prepare(wat_to_wasm(R"((module
    (import "env" "direct" (func $d (param i32) (result i32)))
    (func (export "run") (result i32) (call $d (i32.const 1)))))"));
  ASSERT_TRUE(prepared.ok());
  auto refused = engine_->compile(*prepared, {func});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::abi_error);
  // A direct form on a signature it does not have is the host's mistake, refused at compile.
  HostFunc wrong = func;
  wrong.sig = {{ValType::i32}, {ValType::i32}};
  auto mistaken = engine_->compile(*prepared, {wrong});
  ASSERT_FALSE(mistaken.ok());
  EXPECT_EQ(mistaken.error().code, ErrorCode::internal);
}

TEST_P(EngineTest, RecursionThroughTheHostIsBounded) {
  std::vector<HostFunc> host;
  host.push_back({"env", "bounce", {{}, {}},
                  [](Caller& caller, std::span<const Value>, std::span<Value>) {
                    auto inner = caller.call("run", {});
                    if (auto* trap = std::get_if<Trap>(&inner)) return std::optional<Trap>(*trap);
                    return std::optional<Trap>();
                  }});
  auto module = compile(R"((module (import "env" "bounce" (func $b))
    (func (export "run") (call $b))))",
                        std::move(host));
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "run");
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::stack_exhausted);
}

TEST_P(EngineTest, ImageRestoresMemoryAndGlobals) {
  auto module = compile(R"((module (memory (export "memory") 1)
    (global $counter (mut i32) (i32.const 0))
    (func (export "_initialize") (global.set $counter (i32.const 100))
      (i32.store (i32.const 16) (i32.const 7)))
    (func (export "bump") (result i32)
      (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
      (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
      (drop (memory.grow (i32.const 2)))
      (i32.add (global.get $counter) (i32.load (i32.const 16))))))");
  ASSERT_TRUE(module->supports_images());
  auto first_instance = instantiate(*module);
  ASSERT_FALSE(trap_of(call(*first_instance, "_initialize")));
  InstanceImage image = first_instance->capture();
  EXPECT_EQ(image.memory.size(), kWasmPageSize);
  first_instance.reset();
  for (int round = 0; round < 5; ++round) {
    auto instance = instantiate(*module, &image);
    EXPECT_EQ(instance->memory().size(), kWasmPageSize);
    EXPECT_EQ(first(call(*instance, "bump")), 101u + 8u) << "round " << round;
    EXPECT_EQ(instance->memory().size(), 3 * kWasmPageSize);
  }
}

TEST_P(EngineTest, TableMutationDisablesImages) {
  auto module = compile(R"((module (table 1 funcref) (func $f)
    (func (export "set") (table.set 0 (i32.const 0) (ref.func $f))) (elem declare func $f)))");
  EXPECT_FALSE(module->supports_images());
}

TEST_P(EngineTest, StartFunctionIsBoundedByTheControl) {
  auto prepared = PreparedModule::prepare(
      wat_to_wasm(R"((module (func $spin (loop br 0)) (start $spin)))"));
  ASSERT_TRUE(prepared.ok());
  auto module = engine_->compile(*prepared, {});
  ASSERT_TRUE(module.ok());
  ExecutionControl control(ExecutionControl::Clock::now() + 100ms);
  auto instance = (*module)->instantiate(nullptr, nullptr, control);
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.error().code, ErrorCode::timeout);
}

TEST_P(EngineTest, ManyThreadsShareOneModule) {
  auto module = compile(R"((module (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func (export "_initialize") (global.set $g (i32.const 5)))
    (func (export "work") (param i32) (result i32) (local i32)
      (loop (local.set 1 (i32.add (local.get 1) (global.get $g)))
            (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
      (global.set $g (i32.const 999))
      (local.get 1))))");
  auto init = instantiate(*module);
  ASSERT_FALSE(trap_of(call(*init, "_initialize")));
  InstanceImage image = init->capture();
  init.reset();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        ExecutionControl control(ExecutionControl::Clock::now() + 5s);
        auto instance = module->instantiate(nullptr, &image, control);
        if (!instance.ok()) {
          ++failures;
          continue;
        }
        std::vector<Value> args{Value::i32(100)};
        auto outcome = (*instance)->call("work", args, control);
        auto* values = std::get_if<std::vector<Value>>(&outcome);
        if (!values || (*values)[0].as_i32() != 500u) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_P(EngineTest, InvalidModulesAreRejectedWithTheValidatorsMessage) {
  auto truncated = wat_to_wasm("(module (func (export \"f\") (result i32) i32.const 1))");
  truncated.resize(truncated.size() - 3);
  auto result = PreparedModule::prepare(truncated);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::invalid_module);
  EXPECT_FALSE(result.error().message.empty());

  std::vector<uint8_t> garbage{'n', 'o', 't', ' ', 'w', 'a', 's', 'm'};
  auto bad_magic = PreparedModule::prepare(garbage);
  ASSERT_FALSE(bad_magic.ok());
  EXPECT_EQ(bad_magic.error().code, ErrorCode::invalid_module);
  EXPECT_NE(bad_magic.error().message.find("magic"), std::string::npos)
      << bad_magic.error().message;

  EXPECT_EQ(PreparedModule::prepare({}).error().code, ErrorCode::invalid_module);

  // Type error: the validator's message names what is wrong.
  auto ill_typed = PreparedModule::prepare(
      wat_to_wasm("(module (func (result i32) i64.const 1))"));
  ASSERT_FALSE(ill_typed.ok());
  EXPECT_EQ(ill_typed.error().code, ErrorCode::invalid_module);
  EXPECT_NE(ill_typed.error().message.find("type mismatch"), std::string::npos)
      << ill_typed.error().message;
}

TEST_P(EngineTest, NonFunctionImportsAreNotForPlugins) {
  auto result = PreparedModule::prepare(wat_to_wasm("(module (import \"env\" \"m\" (memory 1)))"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::abi_error);
}

TEST_P(EngineTest, InstrumentationSurvivesNameCollisions) {
  // A module that tries to shadow the instrumentation's names still gets interrupted.
  auto module = compile(R"((module
    (global $reglet.budget (export "reglet.budget") (mut i32) (i32.const 1))
    (func $reglet.interrupt (export "reglet.interrupt") (result i32) (i32.const 1))
    (func (export "spin") (loop (global.set $reglet.budget (i32.const 1)) (br 0)))))");
  auto instance = instantiate(*module);
  auto outcome = call(*instance, "spin", {}, 100ms);
  ASSERT_TRUE(trap_of(outcome));
  EXPECT_EQ(trap_of(outcome)->kind, TrapKind::timeout);
}

INSTANTIATE_TEST_SUITE_P(Tiers, EngineTest, ::testing::ValuesIn(test::engine_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace reglet::engine
