// Loading profiles (SPEC §5) with yaml-cpp. Every error names the file, line and column:
// bad YAML, duplicate keys, unknown keys, wrong types, unknown plugins, duplicate ids, dependency
// cycles, bad durations and severities, undefined variables, expectations that do not parse (at
// the offending column of the expression when it stands on one line of the file).
//
// Format:
//   profile: {name, version, description}
//   plugins: [file, ./checks/custom.wasm]       # built-in names or .wasm paths (relative to the
//                                              # profile's directory)
//   vars: {ssh: {config: /etc/ssh/sshd_config}}  # used as {{ .vars.ssh.config }} in configs
//   grants:                                      # optional: capabilities per plugin
//     file: ["fs:read:/etc/ssh/**"]
//   controls:
//     defaults: {severity, timeout, tags, owner}
//     items:
//       - id, name, description, severity, owner, tags, depends_on, timeout,
//         observations: [{plugin, config, expect: [expressions]}]
//
// Variable substitution: a config string that is exactly one `{{ .vars.a.b }}` takes the
// variable's value with its type (a number stays a number); a template inside a longer string is
// replaced by the variable's text. An undefined variable is an error.
#pragma once

#include <filesystem>
#include <string>

#include "check/model.h"
#include "reglet/error.h"

namespace reglet::check {

// Variables set from the command line (--var a.b=value), applied over the profile's vars
// before substitution; values are typed like YAML scalars ("8080" is a number).
using VarOverrides = std::vector<std::pair<std::string, std::string>>;

// Parses and validates a profile; plugin files are looked up relative to the profile.
Result<Profile> load_profile(const std::filesystem::path& path, const VarOverrides& vars = {});
Result<Profile> parse_profile(const std::string& text, const std::string& file_name,
                              const std::filesystem::path& base_dir,
                              const VarOverrides& vars = {});

// Grants from a config file: {grants: {plugin: [capability, ...]}}.
Result<std::map<std::string, std::vector<std::string>>> load_grants_file(
    const std::filesystem::path& path);

}  // namespace reglet::check
