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
  // After a trap a thread keeps the frames it unwound from; make it reusable.
  static void clear(wabt::interp::Thread& thread) {
    thread.frames_.clear();
    thread.values_.clear();
    thread.refs_.clear();
    thread.exceptions_.clear();
  }
};

namespace reglet::engine::interp_support {

inline constexpr size_t kCallStackFrames = 16 * 1024;
inline constexpr size_t kValueStackSlots = 256 * 1024;

Result<wabt::interp::ModuleDesc> decode(const PreparedModule& prepared);

// A thread with the project's stack sizes.
std::unique_ptr<wabt::interp::Thread> make_thread(wabt::interp::Store& store);
void reset_thread(wabt::interp::Thread& thread);

// Maps a trap WABT raised by itself (not one a host function raised) onto our kinds.
Trap classify_trap(const std::string& message, bool memory_grow_refused);

wabt::interp::Value to_wabt(const Value& value);
Value from_wabt(const wabt::interp::Value& value, wabt::interp::ValueType type);
std::optional<ValType> to_val_type(wabt::interp::ValueType type);
FuncSig to_sig(const wabt::interp::FuncType& type);

}  // namespace reglet::engine::interp_support
