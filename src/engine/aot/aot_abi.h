/* The contract between the AOT tier and the C code it generates for a module (wasm2c's output
 * plus a glue file). Plain C: it is compiled into every generated object, whether linked into the
 * binary (built-in plugins) or loaded with dlopen (the cache, `reglet compile`).
 *
 * The host hands a module its reglet_aot_host_api once (bind); the module describes itself with a
 * reglet_aot_module, returned by the function named REGLET_AOT_ENTRY_SYMBOL in a shared object.
 * Bump REGLET_AOT_ABI_VERSION whenever a layout or a meaning here changes: an object made by an
 * incompatible build is refused at load. */
#ifndef REGLET_AOT_ABI_H_
#define REGLET_AOT_ABI_H_

#include <setjmp.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REGLET_AOT_ABI_VERSION 3u
#define REGLET_AOT_ENTRY_SYMBOL "reglet_aot_module_v3"

/* wasm_rt_trap code a glue import uses when the host function asked to stop the call; the host
 * keeps the reason. */
#define REGLET_AOT_HOST_TRAP 0x7e6c
/* Returned by call() when the export index is out of range or names no callable function. */
#define REGLET_AOT_NO_SUCH_EXPORT 0x7e6d

typedef enum { REGLET_AOT_FUNC = 0, REGLET_AOT_MEMORY = 1, REGLET_AOT_TABLE = 2,
               REGLET_AOT_GLOBAL = 3 } reglet_aot_kind;

/* Value types are letters: i (i32), j (i64), f (f32), d (f64), V (v128), r (funcref),
 * e (externref). Values cross between host and generated code as "slots" (uint64_t), one per value
 * except: i32/f32 in the low 32 bits and floats as their bits (so NaN payloads survive); e is the
 * wasm_rt_externref_t pointer; V takes two slots (low half, high half); r takes three (func_type,
 * func, module_instance of wasm_rt_funcref_t). Plugins exchange numbers only. */
#define REGLET_AOT_MAX_SLOTS 64

typedef struct {
  uint64_t initial;
  uint64_t max;
  uint8_t has_max;
} reglet_aot_limits;

typedef struct {
  const char* name;
  uint32_t kind;       /* reglet_aot_kind */
  const char* params;  /* func: parameter types; global: its type; table: its element type */
  const char* results; /* func: result types */
  uint8_t mutable_;    /* global */
  reglet_aot_limits limits; /* memory (pages) and table (elements), as declared */
  uint32_t name_size;       /* names may hold NUL bytes */
} reglet_aot_export;

typedef struct {
  const char* module;
  const char* name;
  const char* params; /* as for exports */
  const char* results;
  uint32_t kind;
  uint8_t mutable_;
  reglet_aot_limits limits;
  uint32_t module_size; /* names may hold NUL bytes */
  uint32_t name_size;
} reglet_aot_import;

typedef struct {
  uint32_t offset;  /* within the instance struct */
  char type;        /* i, j, f, d; other (v128, references): 0, not captured */
  uint8_t mutable_;
} reglet_aot_global;

struct wasm_rt_memory_t_;

/* The guard of an instance: where the `context` the host gives instantiate() points (the first
 * member of the host's context). Generated code checks it at every function entry and at every
 * loop header the preprocessing instrumented, instead of the preprocessing's depth and budget
 * counters: it compares the native stack pointer with `limit`, a load and a compare, with no
 * store. The host sets `limit` before a call to the lowest stack address guest code may use
 * (leaving room below it for host functions); to interrupt the call another thread sets it to
 * REGLET_AOT_GUARD_TRIPPED, above every stack pointer. `limit` is written with atomic stores and
 * read by the check's own load: an asm compare on x86-64, a volatile load elsewhere (an atomic
 * builtin in the check keeps the compiler from inlining recursive functions, as it does
 * natively).
 *
 * A check that fails calls tripped(guard): 0 when the call may go on (the host restored the limit
 * of a trip whose reason went away), non-zero when it must stop (the host recorded why: deadline,
 * cancellation, stack exhausted; the check then traps with REGLET_AOT_HOST_TRAP). On x86-64 the
 * call is not a call: a call in the check also stops that inlining, so the check executes `ud2`
 * with the guard in rax, and the host's SIGILL handler (rt.cc) recognises it by `magic`, calls
 * tripped() and resumes after the instruction or unwinds. */
typedef struct reglet_aot_guard {
  uintptr_t limit;
  uint64_t magic; /* REGLET_AOT_GUARD_MAGIC */
  int (*tripped)(struct reglet_aot_guard* guard);
} reglet_aot_guard;
#define REGLET_AOT_GUARD_TRIPPED UINTPTR_MAX
#define REGLET_AOT_GUARD_MAGIC 0x7267756172643031ull /* "rguard01" */

/* What generated code needs from the host. Everything here may be called from guest code on any
 * thread; none of it may throw. */
typedef struct {
  uint32_t abi_version;
  /* A function import was called: args and results are slots. Returns 0, or non-zero when the
   * call must stop (the host recorded why). `context` is what the host gave instantiate(). */
  int (*call_import)(void* context, uint32_t import_index, const uint64_t* args,
                     uint64_t* results);
  /* Installs `target` as the thread's unwind target and returns the previous one. */
  jmp_buf* (*push_unwind)(jmp_buf* target);
  void (*pop_unwind)(jmp_buf* previous);
  /* A memory, table or global import, asked for while instantiating: the wasm_rt_memory_t,
   * wasm_rt_*_table_t or value (u32, u64, f32, f64, wasm_rt_funcref_t, wasm_rt_externref_t) the
   * instance will use, owned by the host or by another instance; NULL traps. */
  void* (*import_object)(void* context, uint32_t import_index);
  /* The wasm-rt functions a shared object forwards to (see REGLET_AOT_SHARED in the glue). */
  void* rt[16];
} reglet_aot_host_api;

typedef struct {
  uint32_t abi_version;
  const char* module_sha256;  /* of the prepared (instrumented) module binary, hex */
  const char* codegen_id;     /* compiler, flags and ABI the object was made with */
  uint32_t instance_size;
  uint32_t instance_align;
  void (*bind)(const reglet_aot_host_api* api);
  void (*init_module)(void);
  /* Instantiates into `instance` (zeroed, instance_size bytes) under a setjmp; 0 or a trap code. */
  int (*instantiate)(void* instance, void* context);
  void (*free_instance)(void* instance);
  /* Memory 0 of the instance, or NULL. */
  void* (*memory)(void* instance);
  /* Calls export `index` (a function) under a setjmp; args and results are slots. Returns 0 or
   * the trap code. */
  int (*call)(void* instance, uint32_t index, const uint64_t* args, uint64_t* results);
  /* Export `index` when it is a memory, table or global: a pointer as import_object returns one
   * (so that the host can hand it to another instance); NULL for a function. */
  void* (*export_object)(void* instance, uint32_t index);
  uint32_t export_count;
  const reglet_aot_export* exports;
  uint32_t import_count;
  const reglet_aot_import* imports;
  uint32_t global_count;
  const reglet_aot_global* globals;
} reglet_aot_module;

typedef const reglet_aot_module* (*reglet_aot_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* REGLET_AOT_ABI_H_ */
