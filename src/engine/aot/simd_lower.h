// wasm2c 1.0.32 (Debian's WABT) has no SIMD: its C writer aborts the whole process on the first
// v128 type it meets (a local, a global, a signature or an instruction). Before a module reaches
// it, the AOT tier lowers SIMD away:
//   - every v128 value becomes two i64 values, low half first (locals, parameters, results, block
//     types, globals, the operand stack);
//   - every SIMD instruction becomes a call of an import of module "reglet_simd" whose field names
//     the operation ("i32x4_add"); immediates (lanes, shuffle masks, memory offsets) are pushed as
//     constants before the call. The glue implements those imports in C (simd_c_library()), in the
//     same translation unit, so the C compiler can inline them; the memory operations reach the
//     instance's memory through the import's context, which the glue sets to the instance itself.
// Modules without v128 are not touched. What the lowering cannot express is an error, never a
// crash: v128 in an import or in an exported global (the testsuite has none).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reglet/error.h"

namespace wabt {
struct Module;
}

namespace reglet::engine::aot {

inline constexpr std::string_view kSimdModule = "reglet_simd";

// One "reglet_simd" import. Signature letters: i (i32), j (i64), f (f32), d (f64), V (v128, two
// i64 at the wasm level); immediates are among the params. `memory`: the C function takes the
// instance's memory first.
struct SimdHelper {
  std::string field;
  std::string params;
  std::string results;
  bool memory = false;
};

// Whether any v128 type or SIMD instruction occurs in the module.
bool uses_v128(const wabt::Module& module);

// Lowers `module` in place (it must have been read without names: every Var an index) and returns
// the imports it added, in the order they were added (after the module's own imports).
Result<std::vector<SimdHelper>> lower_simd(wabt::Module& module);

// C definitions of `rs_<field>` for every helper field (static functions; see simd_c.cc).
std::string_view simd_c_library();

}  // namespace reglet::engine::aot
