// memcpy and memset as single wasm instructions (memory.copy, memory.fill), for the SDK's JSON
// buffers (reglet/json.h). wasi-libc's memcpy is a loop, which the interpreter tier runs
// instruction by instruction.
//
// A file of its own, compiled with -mbulk-memory, because clang 14 cannot compile a translation
// unit that both enables bulk-memory and uses wasi-libc's errno (a thread-local variable: "only
// -ftls-model=local-exec is supported"). reglet_add_plugin (cmake/RegletWasm.cmake) compiles it
// once and links it into every C++ plugin; without it, build plugins with
// -DREGLET_SDK_PLAIN_MEMCPY.
#include <stddef.h>

void reglet_sdk_copy_bytes(void* to, const void* from, size_t n) {
  __builtin_memcpy(to, from, n);
}

void reglet_sdk_fill_bytes(void* to, int value, size_t n) {
  __builtin_memset(to, value, n);
}
