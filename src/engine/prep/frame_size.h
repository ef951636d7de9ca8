// An upper bound on the interpreter's value-stack use per call frame: parameters, locals and the
// deepest operand stack a function body can build. WABT's interpreter bounds the number of frames
// but not the value stack, so a module whose functions push many values and recurse could make
// the host allocate without limit; the tier sizes its frame limit from this bound instead.
#pragma once

#include <cstdint>
#include <vector>

namespace wabt {
struct Module;
struct Func;
}

namespace reglet::engine {

// Params + locals + max operand height of each defined function, in order. Expects a validated
// module whose block nesting depth has been bounded.
std::vector<uint64_t> frame_values(const wabt::Module& module);

}  // namespace reglet::engine
