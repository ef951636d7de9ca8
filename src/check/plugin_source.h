// Where a plugin's bytes come from: a built-in name ("file") or a path to a .wasm file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "reglet/error.h"

namespace reglet::check {

struct PluginSource {
  std::string name;                         // the name it is loaded and granted under
  bool builtin = false;
  std::filesystem::path path;               // for files
  std::vector<uint8_t> file_bytes;          // for files
  std::span<const uint8_t> embedded_bytes;  // for built-ins

  std::span<const uint8_t> bytes() const {
    return builtin ? embedded_bytes : std::span<const uint8_t>(file_bytes);
  }
};

inline constexpr uint64_t kMaxPluginFileSize = 256ull << 20;

// A spec with a '/' or ending in ".wasm" is a path to a plugin file.
bool is_plugin_path(const std::string& spec);
// The name a plugin is loaded and granted under: a built-in's name, or a file's stem
// ("checks/ssh.wasm" -> "ssh"), with characters outside [A-Za-z0-9._-] replaced by '_'.
std::string plugin_name_for(const std::string& spec);

// A spec with a '/' or ending in ".wasm" is a path (relative to `base`); anything else must be a
// built-in plugin name. A file plugin is named after its file ("checks/ssh.wasm" -> "ssh").
Result<PluginSource> resolve_plugin_source(const std::string& spec,
                                           const std::filesystem::path& base = ".");

}  // namespace reglet::check
