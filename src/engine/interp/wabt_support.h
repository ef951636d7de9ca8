// Pieces of the interpreter tier shared by the plugin path (interp_engine.cc) and the test-only
// spec testsuite runner: decoding a prepared module, sizing thread stacks, resetting memories,
// and mapping WABT's trap messages onto TrapKind.
#pragma once

#include <wabt/interp/interp.h>

#include <string>

#include "engine/engine.h"
#include "engine/prep/prepare.h"

// Befriended by wabt::interp::Memory and Thread in the build-time copy of WABT's headers
// (cmake/WabtCompat.cmake). Only what the public API cannot do goes through here.
struct RegletWabtAccess {
  // Shrinks or grows a memory to exactly `pages` pages, keeping the leading bytes.
  static void resize_memory(wabt::interp::Memory& memory, uint64_t pages) {
    memory.data_.resize(pages * reglet::engine::kWasmPageSize);
    memory.pages_ = pages;
  }
  // WABT sizes a thread's stacks at construction (64 KiB each, ~1,600 frames); plugins such as
  // recursive JSON parsers need more. The limits are enforced against the reserved capacity.
  static void reserve_stacks(wabt::interp::Thread& thread, size_t frames, size_t values) {
    thread.frames_.reserve(frames);
    thread.values_.reserve(values);
  }
  // After a trap a thread keeps the frames it unwound from; make it reusable. The frame vector
  // keeps its capacity (it is the depth limit); a value stack a deep call grew is given back.
  static void clear(wabt::interp::Thread& thread) {
    thread.frames_.clear();
    thread.values_.clear();
    if (thread.values_.capacity() > (1u << 20)) thread.values_.shrink_to_fit();
    thread.refs_.clear();
    thread.exceptions_.clear();
  }
};

namespace reglet::engine::interp_support {

// WABT's own frame limit sits above the instrumentation's call-depth limit (prepare.h), so that
// WABT never runs out of frames itself: in 1.0.32 running out inside call_indirect is not reported
// and corrupts the thread's stacks.
inline constexpr size_t kCallStackFrames = kMaxCallDepth + kCallDepthMargin;
inline constexpr size_t kInitialValueSlots = 4 * 1024;

Result<wabt::interp::ModuleDesc> decode(const PreparedModule& prepared);

// A thread with the project's stack sizes.
std::unique_ptr<wabt::interp::Thread> make_thread(wabt::interp::Store& store,
                                                  size_t frames = kCallStackFrames);
void reset_thread(wabt::interp::Thread& thread);

// func.Call(thread, ...), but failing whenever a trap was raised. WABT 1.0.32's Thread::DoCall
// ignores a failed PushCall for a wasm callee reached through call_indirect or an import (the
// call stack is full): it stores "call stack exhausted" in *out_trap and carries on in the caller
// as if the callee had returned, so Func::Call can report success with garbage results. The
// same holds for a start function run by Instance::Instantiate: check its trap too.
wabt::Result call(wabt::interp::Func& func, wabt::interp::Thread& thread,
                  const wabt::interp::Values& params, wabt::interp::Values& results,
                  wabt::interp::Trap::Ptr* out_trap);

// Maps a trap WABT raised by itself (not one a host function raised) onto our kinds.
Trap classify_trap(const std::string& message, bool memory_grow_refused);

wabt::interp::Value to_wabt(const Value& value);
Value from_wabt(const wabt::interp::Value& value, wabt::interp::ValueType type);
inline Value from_wabt(const wabt::interp::Value& value, ValType type) {
  switch (type) {
    case ValType::i32:
      return Value::i32(value.Get<uint32_t>());
    case ValType::i64:
      return Value::i64(value.Get<uint64_t>());
    case ValType::f32:
      return Value::f32(value.Get<float>());
    case ValType::f64:
      return Value::f64(value.Get<double>());
  }
  return Value::i32(0);
}
std::optional<ValType> to_val_type(wabt::interp::ValueType type);
FuncSig to_sig(const wabt::interp::FuncType& type);

}  // namespace reglet::engine::interp_support
