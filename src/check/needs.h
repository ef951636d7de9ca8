// What an observation needs (SPEC §3, "where grants come from"): worked out before a run, so that
// `reglet check` refuses to start when something needed is not granted, and so that
// --trust-plugins can grant exactly that. For the built-in plugins it is derived from the config
// (the file's path, the command's resolved path and variables, the variable's name, the
// destination's addresses and port); for other plugins it is what they declare in describe().
#pragma once

#include <string>
#include <vector>

#include "reglet/capability.h"
#include "reglet/types.h"

namespace reglet::check {

struct Need {
  std::string capability;  // what to grant, e.g. "fs:read:/etc/ssh/sshd_config"
  bool granted = false;
  std::string note;        // why it could not be worked out, when it could not
};

// `config` must already have relative paths made absolute (see absolutize_paths).
std::vector<Need> builtin_needs(const std::string& plugin, const nlohmann::json& config,
                                const GrantSet& grants);
// Declared capabilities must each be granted as written.
std::vector<Need> declared_needs(const PluginInfo& info, const GrantSet& grants);

// Built-in configs name paths relative to the directory `reglet check` runs in; plugins see the
// host's absolute paths (file.path, command.dir).
nlohmann::json absolutize_paths(const std::string& plugin, nlohmann::json config);

}  // namespace reglet::check
