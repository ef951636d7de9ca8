// An upper bound on the interpreter's value-stack use per call frame: parameters, locals and the
// deepest operand stack a function body can build. WABT's interpreter bounds the number of frames
// but not the value stack, so a module whose functions push many values and recurse could make
// the host allocate without limit; the tier sizes its frame limit from this bound instead.
#pragma once

#include <cstdint>

namespace wabt {
struct Module;
struct Func;
}

namespace reglet::engine {

// The largest (params + locals + max operand height) over the module's defined functions.
// Expects a validated module whose block nesting depth has been bounded.
uint64_t max_frame_values(const wabt::Module& module);
// The same bound for one defined function.
uint64_t frame_values(const wabt::Module& module, const wabt::Func& func);

}  // namespace reglet::engine
