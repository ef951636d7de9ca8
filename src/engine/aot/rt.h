// The AOT tier's side of wasm2c's runtime: thread-local unwind targets, guard-page memories and
// the fault handler (rt.cc). The generated code calls the wasm_rt_* functions of wasm-rt.h.
#pragma once

#include <setjmp.h>

#include <cstdint>

#include "engine/aot/aot_abi.h"
#include "wasm-rt.h"

namespace reglet::engine::aot_rt {

// Installs the SIGSEGV/SIGBUS handler once per process.
void ensure_initialized();

// A guest call starts on this thread: `target` becomes the unwind target (returns the previous).
jmp_buf* push_unwind(jmp_buf* target);
void pop_unwind(jmp_buf* previous);

// Guest calls running on this thread, less the host functions they are in: a fault is the guest's
// only while it is positive. Trivially constructed and destroyed, so that an access is a plain
// thread-pointer-relative instruction (no TLS wrapper call): it is touched twice per host call.
extern constinit thread_local int t_guest_depth;
// Around a host function called from guest code: a fault there is the host's, not the guest's.
inline void enter_host() {
  --t_guest_depth;
}
inline void leave_host() {
  ++t_guest_depth;
}

// The guard limit for a guest call starting on this thread (see reglet_aot_guard): the lowest
// stack address guest code may use, leaving kHostStackReserve below it for host functions the
// guest calls (and for a frame that jumps past the limit, which the fault handler then reports as
// exhaustion). 0 when the thread's stack is unknown: then the guard page alone stops a runaway
// recursion.
uintptr_t guest_stack_limit();

// wasm_rt_register_func_type with the types in an array (what a shared object forwards).
uint32_t register_func_type_array(uint32_t params, uint32_t results, const int* types);

// Sets a memory to exactly `pages` pages (bytes past the new end are zeroed and made
// inaccessible). False when the pages cannot be made accessible.
bool resize_memory(wasm_rt_memory_t* memory, uint32_t pages);

}  // namespace reglet::engine::aot_rt
