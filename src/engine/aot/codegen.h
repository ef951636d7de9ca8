// Tier 2, step one: the prepared module -> C. WABT's C writer (in process, from libwabt) turns
// the instrumented module into module.c/module.h; we add glue.c, which implements the imports as
// calls into the host (functions) or asks it for the object (memories, tables, globals), wraps
// every exported function in a setjmp, and describes the module (reglet_aot_module in
// aot_abi.h). The glue includes module.c, so one translation unit (glue.c) is all a compiler
// needs. Modules using SIMD are lowered first (simd_lower.h): wasm2c 1.0.32 has no SIMD.
#pragma once

#include <string>
#include <string_view>

#include "engine/prep/prepare.h"
#include "reglet/error.h"

namespace reglet::engine::aot {

struct GeneratedC {
  std::string module_c;
  std::string module_h;
  std::string glue_c;
  std::string sha256;  // of the prepared binary (hex)
  std::string name;    // the C module name (symbol prefix)
  std::string stem;    // file names of wasm2c's output: <stem>.c and <stem>.h, included by glue.c
};

enum class Linkage {
  // A shared object loaded with dlopen: wasm_rt_* forward to the host through the API table, and
  // the module is found through REGLET_AOT_ENTRY_SYMBOL.
  shared,
  // Linked into the binary (built-in plugins): wasm_rt_* are the host's own, and the module is
  // found through `<name>_reglet_aot_module()`.
  builtin,
  // One of several modules compiled into one shared object (the spec testsuite): as `shared`,
  // but wasm_rt_* are defined once, by runtime_part_c(), and the module is found through
  // `<name>_reglet_aot_module()`. wasm2c's files are named after the module.
  shared_part,
};

// Part of every cache key (codegen_id): bump it whenever the generated C changes in a way that
// matters, so that objects made by an older generator are not used.
// 2: the instrumentation's checks lowered to the guard (lower_checks in codegen.cc).
inline constexpr int kCodegenRevision = 2;

// The hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// The hex SHA-256 of a prepared module's binary: what identifies an AOT object's module (cache
// keys, static registration, the check of a `reglet compile` object).
std::string prepared_sha256(const PreparedModule& prepared);

// `name` must be a C identifier fragment of letters, digits and '_' without 'Z' (wasm2c's escape
// character). `codegen_id` is recorded in the module description.
Result<GeneratedC> generate_c(const PreparedModule& prepared, const std::string& name,
                              Linkage linkage, const std::string& codegen_id);

// The translation unit that defines wasm_rt_* (forwarded to the host) for a shared object made of
// Linkage::shared_part modules.
std::string runtime_part_c();

// The text of aot_abi.h and of wasm2c's wasm-rt.h, which a compiler needs next to glue.c.
std::string_view aot_abi_header();
std::string_view wasm_rt_header();

}  // namespace reglet::engine::aot
