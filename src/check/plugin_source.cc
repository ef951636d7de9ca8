#include "check/plugin_source.h"

#include <cctype>
#include <fstream>

#include "reglet/builtins.h"

namespace reglet::check {

bool is_plugin_path(const std::string& spec) {
  return spec.find('/') != std::string::npos || (spec.size() > 5 && spec.ends_with(".wasm"));
}

std::string plugin_name_for(const std::string& spec) {
  if (!is_plugin_path(spec)) return spec;
  std::string stem = std::filesystem::path(spec).stem().string();
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return stem.empty() ? "plugin" : stem;
}

Result<PluginSource> resolve_plugin_source(const std::string& spec,
                                           const std::filesystem::path& base) {
  PluginSource source;
  if (!is_plugin_path(spec)) {
    auto bytes = builtin_plugin(spec);
    if (!bytes) {
      std::string known;
      for (auto name : builtin_plugin_names()) known += (known.empty() ? "" : ", ") + std::string(name);
      return make_error(ErrorCode::not_found, "unknown plugin \"" + spec +
                                                  "\" (built-in plugins: " + known +
                                                  "; a plugin file needs a path ending in .wasm)");
    }
    source.name = spec;
    source.builtin = true;
    source.embedded_bytes = *bytes;
    return source;
  }

  source.path = std::filesystem::path(spec).is_absolute() ? std::filesystem::path(spec)
                                                          : base / spec;
  std::error_code ec;
  const auto size = std::filesystem::file_size(source.path, ec);
  if (ec) {
    return make_error(ErrorCode::not_found,
                      "cannot read plugin " + source.path.string() + ": " + ec.message());
  }
  if (size > kMaxPluginFileSize) {
    return make_error(ErrorCode::invalid_argument,
                      "plugin " + source.path.string() + " is larger than 256 MiB");
  }
  std::ifstream in(source.path, std::ios::binary);
  source.file_bytes.resize(size);
  if (!in.read(reinterpret_cast<char*>(source.file_bytes.data()),
               static_cast<std::streamsize>(size))) {
    return make_error(ErrorCode::io_error, "cannot read plugin " + source.path.string());
  }
  source.name = plugin_name_for(spec);
  return source;
}

}  // namespace reglet::check
