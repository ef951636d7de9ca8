// The built-in plugins (SPEC §6), compiled to WebAssembly at build time and embedded in the
// binary. They are ordinary sandboxed plugins: nothing about them is trusted more.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace reglet {

std::optional<std::span<const uint8_t>> builtin_plugin(std::string_view name);
std::vector<std::string_view> builtin_plugin_names();

}  // namespace reglet
