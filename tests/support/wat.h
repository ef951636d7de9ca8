// Test helper: WebAssembly text to binary, in process, with WABT's parser.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace reglet::test {

// Parses `wat` (all features enabled) and returns the binary module. Aborts the test on a parse
// error, printing WABT's message: a typo in a test module is a bug in the test.
std::vector<uint8_t> wat_to_wasm(std::string_view wat);

}  // namespace reglet::test
