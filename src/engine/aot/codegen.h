// Tier 2, step one: the prepared module -> C. WABT's C writer (in process, from libwabt) turns
// the instrumented module into module.c/module.h; we add glue.c, which implements the imports as
// calls into the host, wraps every exported function in a setjmp, and describes the module
// (reglet_aot_module in aot_abi.h). The glue includes module.c, so one translation unit
// (glue.c) is all a compiler needs.
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
};

enum class Linkage {
  // A shared object loaded with dlopen: wasm_rt_* forward to the host through the API table, and
  // the module is found through REGLET_AOT_ENTRY_SYMBOL.
  shared,
  // Linked into the binary (built-in plugins): wasm_rt_* are the host's own, and the module is
  // found through `<name>_reglet_aot_module()`.
  builtin,
};

// The hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// `name` must be a C identifier fragment of letters, digits and '_' without 'Z' (wasm2c's escape
// character). `codegen_id` is recorded in the module description.
Result<GeneratedC> generate_c(const PreparedModule& prepared, const std::string& name,
                              Linkage linkage, const std::string& codegen_id);

// The text of aot_abi.h and of wasm2c's wasm-rt.h, which a compiler needs next to glue.c.
std::string_view aot_abi_header();
std::string_view wasm_rt_header();

}  // namespace reglet::engine::aot
