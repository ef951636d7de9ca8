// Tier 2: ahead-of-time compilation through wasm2c. The prepared module (the same instrumented
// module the interpreter runs) becomes C (codegen.h), the system C compiler makes a shared
// object, and dlopen loads it. Objects are cached on disk, keyed by the module's hash and the
// compiler and flags; built-in plugins are compiled at build time and linked into the binary.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/aot/aot_abi.h"
#include "engine/engine.h"

namespace reglet::engine::aot {

struct AotOptions {
  // Where compiled objects are kept. Empty: $REGLET_AOT_CACHE, else $XDG_CACHE_HOME/reglet/aot,
  // else ~/.cache/reglet/aot.
  std::filesystem::path cache_dir;
  // Objects made ahead of time (`reglet compile`), used when their module matches.
  std::vector<std::filesystem::path> objects;
  // Compile when no object is found (needs a C compiler). When false, a missing object is an
  // error.
  bool compile = true;
  // The compiler (default: $CC, else cc).
  std::string compiler;
  // The optimisation flag (default -O2). Part of the cache key. The spec testsuite compiles
  // thousands of small modules once each and uses -O0.
  std::string optimisation;
};

// Modules linked into the binary (the built-in plugins), found by the hash of their prepared
// module before any cache or compiler is consulted.
void register_static_module(const reglet_aot_module* module);

// The compiler and flags objects are made with; part of every cache key. Empty when no compiler
// is found.
std::string codegen_id(const AotOptions& options);

// Writes a shared object for `prepared` to `output` (used by `reglet compile`).
Status compile_to_file(const PreparedModule& prepared, const std::filesystem::path& output,
                       const AotOptions& options);

// Where the cache keeps the object of `prepared` (for the compiler these options name).
std::filesystem::path cached_object_path(const PreparedModule& prepared, const AotOptions& options);

// Whether the AOT tier can run `prepared` without compiling (static, explicit or cached object).
bool has_object(const PreparedModule& prepared, const AotOptions& options);

std::unique_ptr<Engine> make_aot_engine(AotOptions options = {});

// ---------------------------------------------------------------------------------------------
// Test-only: what the spec testsuite needs and plugins never do (linking modules to each other,
// memories, tables and globals shared between instances). The caller drives the raw ABI of
// aot_abi.h itself.

// A host API with the wasm-rt slots and the unwind functions filled in; call_import and
// import_object are the caller's to set.
reglet_aot_host_api base_host_api();

// Compiles `modules` into one shared object (one translation unit each, compiled in parallel,
// cached under options.cache_dir by the modules' hashes and the codegen id), loads it, binds
// every module to `api` (which must outlive the process's use of them) and initialises it. One
// entry per module, in order: its description, or why it could not be generated or compiled
// (the others are still usable). Identical modules share one description.
std::vector<Result<const reglet_aot_module*>> load_module_set(
    const std::vector<const PreparedModule*>& modules, const AotOptions& options,
    const reglet_aot_host_api* api);

}  // namespace reglet::engine::aot
