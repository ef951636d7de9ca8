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

}  // namespace reglet::engine::aot
