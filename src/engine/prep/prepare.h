// The one preprocessing step every module goes through before any tier sees it, on WABT's IR:
//   - decode and validate (invalid_module with the validator's message);
//   - cap linear memory and tables (the module may not declare more than the caps allow);
//   - insert interruption checks at every function entry and at every loop header that a call does
//     not already cover, so that a deadline or a cancellation stops even `loop br 0` (a budget
//     counter in a global; when it runs out the tier's `reglet_internal.interrupt` import decides
//     whether to go on). A loop whose every iteration calls a function before it can branch back
//     to its header needs no check of its own: the callee checks, at its entry (a function of the
//     module) or in the tier's host-call dispatch (an import);
//   - route `memory.grow` through a helper that reports failures to the host, so that a trap after
//     a refused grow is reported as memory_limit.
// Both tiers consume the instrumented binary(). The interpreter runs the checks as they are; the
// AOT tier lowers them (see aot/codegen.cc and docs/architecture.md).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace reglet::engine {

inline constexpr uint32_t kWasmPageSize = 64 * 1024;

struct PrepareOptions {
  uint32_t max_memory_pages = 4096;  // 256 MiB
  uint32_t max_table_elements = 1'000'000;
  // Deepest block nesting accepted. WABT's writers recurse once per level, so an absurdly nested
  // function would otherwise exhaust the host's native stack.
  uint32_t max_nesting_depth = 4096;
  // Plugins import functions only. The spec testsuite also links memories, tables and globals.
  bool allow_non_function_imports = false;
};

// Names of the imports the preprocessing adds, after the module's own imports.
inline constexpr std::string_view kInternalModule = "reglet_internal";
inline constexpr std::string_view kInterruptImport = "interrupt";            // () -> i32
inline constexpr std::string_view kGrowFailedImport = "memory_grow_failed";  // (i32) -> ()
inline constexpr std::string_view kStackExhaustedImport = "stack_exhausted";  // () -> (), traps
inline constexpr uint32_t kInternalImports = 3;

// Call depth: the instrumentation counts frames in a global and calls `stack_exhausted` beyond
// the limit, identically on every tier. The limit keeps one thread's value stack within
// kValueStackBudget values (WABT's interpreter does not bound it), and never exceeds
// kMaxCallDepth. A tier must give the guest at least call_depth_limit() + kCallDepthMargin frames.
inline constexpr uint32_t kMaxCallDepth = 16 * 1024;
inline constexpr uint64_t kValueStackBudget = 4ull << 20;  // values (64 MiB)
inline constexpr uint32_t kCallDepthMargin = 8;
uint32_t call_depth_limit(uint64_t max_frame_values);

class PreparedModule {
 public:
  static Result<PreparedModule> prepare(std::span<const uint8_t> wasm,
                                        const PrepareOptions& options = {});

  PreparedModule(PreparedModule&&) noexcept;
  PreparedModule& operator=(PreparedModule&&) noexcept;
  ~PreparedModule();

  // The instrumented module in binary form.
  const std::vector<uint8_t>& binary() const { return binary_; }
  // The module's own function imports, in order. The internal imports follow them.
  const std::vector<ImportInfo>& imports() const { return imports_; }
  uint32_t memory_pages_limit() const { return memory_pages_limit_; }
  // True when no instruction can change a table or drop a segment: then an instance is fully
  // described by its memory and globals, and can be reset to an image instead of rebuilt.
  bool resettable() const { return resettable_; }
  size_t original_size() const { return original_size_; }
  // An upper bound on the values one call frame can hold (see frame_size.h).
  uint64_t max_frame_values() const { return max_frame_values_; }
  uint32_t call_depth_limit() const { return call_depth_limit_; }
  // Index of the global counting call depth; tiers set it to 0 before each top-level call.
  uint32_t depth_global() const { return depth_global_; }
  // Index of the global holding the interruption budget.
  uint32_t budget_global() const { return budget_global_; }

  // Everything above in a compact form, with the options it was prepared with (prebuilt.cc), so
  // that a module prepared at build time need not be prepared again in every process.
  std::vector<uint8_t> serialize(const PrepareOptions& options) const;
  // The module `serialized` holds. invalid_module when it is malformed or was prepared with
  // other options than `options` (then it is not the module prepare() would make).
  static Result<PreparedModule> deserialize(std::span<const uint8_t> serialized,
                                            const PrepareOptions& options);

 private:
  PreparedModule();

  std::vector<uint8_t> binary_;
  std::vector<ImportInfo> imports_;
  uint32_t memory_pages_limit_ = 0;
  bool resettable_ = true;
  size_t original_size_ = 0;
  uint64_t max_frame_values_ = 0;
  uint32_t call_depth_limit_ = kMaxCallDepth;
  uint32_t depth_global_ = 0;
  uint32_t budget_global_ = 0;
};

// Shared by the tiers: what `reglet_internal.interrupt` returns when the call may go on.
inline constexpr uint32_t kInterruptBudget = 10'000;

// Modules prepared at build time (the built-in plugins): `source` is the module as given to
// prepare(), `serialized` what serialize() made of it. Both must outlive the process (they are
// embedded in the binary).
void register_prebuilt(std::span<const uint8_t> source, std::span<const uint8_t> serialized);
// What prepare(wasm, options) would return, from a registered prebuilt module, when there is one
// for exactly these bytes and options; nullopt otherwise.
std::optional<PreparedModule> find_prebuilt(std::span<const uint8_t> wasm,
                                            const PrepareOptions& options);

}  // namespace reglet::engine
