// The AOT tier's side of wasm2c's runtime: thread-local unwind targets, guard-page memories and
// the fault handler (rt.cc). The generated code calls the wasm_rt_* functions of wasm-rt.h.
#pragma once

#include <setjmp.h>

#include "engine/aot/aot_abi.h"
#include "wasm-rt.h"

namespace reglet::engine::aot_rt {

// Installs the SIGSEGV/SIGBUS handler once per process.
void ensure_initialized();

// A guest call starts on this thread: `target` becomes the unwind target (returns the previous).
jmp_buf* push_unwind(jmp_buf* target);
void pop_unwind(jmp_buf* previous);
// Around a host function called from guest code: a fault there is the host's, not the guest's.
void enter_host();
void leave_host();

// wasm_rt_register_func_type with the types in an array (what a shared object forwards).
uint32_t register_func_type_array(uint32_t params, uint32_t results, const int* types);

// Sets a memory to exactly `pages` pages (bytes past the new end are zeroed and made
// inaccessible). False when the pages cannot be made accessible.
bool resize_memory(wasm_rt_memory_t* memory, uint32_t pages);

}  // namespace reglet::engine::aot_rt
