#include "check/profile.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include "check/plugin_source.h"
#include "check/units.h"
#include "reglet/builtins.h"

namespace reglet::check {
namespace {

constexpr size_t kMaxProfileBytes = 16u << 20;

class Loader {
 public:
  Loader(std::string file, std::filesystem::path base, VarOverrides overrides = {},
         std::string_view text = {})
      : file_(std::move(file)), base_(std::move(base)), overrides_(std::move(overrides)) {
    // Kept to place expectation parse errors at their column in the file (expectation_error).
    size_t start = 0;
    while (start <= text.size()) {
      const size_t end = std::min(text.find('\n', start), text.size());
      lines_.emplace_back(text.substr(start, end - start));
      start = end + 1;
    }
  }

  SourceLocation where(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return {file_, 0, 0};
    return {file_, mark.line + 1, mark.column + 1};
  }

  Error error(const YAML::Node& node, const std::string& message) const {
    return make_error(ErrorCode::invalid_argument, where(node).to_string() + ": " + message);
  }

  // Keys of a mapping must be among `allowed`.
  reglet::Status check_keys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                    std::string_view what) const {
    if (!map.IsMap()) return error(map, std::string(what) + " must be a mapping");
    if (reglet::Status s = check_unique_keys(map); !s) return s;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (!known) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return error(entry.first,
                     "unknown key \"" + key + "\" in " + std::string(what) + " (expected " + list + ")");
      }
    }
    return {};
  }

  // yaml-cpp accepts a key twice in one mapping and lookups see only the first: the second would
  // be silently ignored, so it is an error (YAML requires unique keys).
  reglet::Status check_unique_keys(const YAML::Node& map) const {
    std::map<std::string, YAML::Node> seen;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) continue;
      auto [it, inserted] = seen.emplace(entry.first.Scalar(), entry.first);
      if (!inserted) {
        return error(entry.first, "duplicate key \"" + entry.first.Scalar() + "\" (first at " +
                                      where(it->second).to_string() + ")");
      }
    }
    return {};
  }

  Result<std::string> string(const YAML::Node& node, std::string_view what) const {
    if (!node.IsScalar()) return error(node, std::string(what) + " must be a string");
    return node.Scalar();
  }

  Result<std::vector<std::string>> string_list(const YAML::Node& node, std::string_view what) const {
    std::vector<std::string> out;
    if (node.IsScalar()) {  // a single value where a list is expected
      out.push_back(node.Scalar());
      return out;
    }
    if (!node.IsSequence()) return error(node, std::string(what) + " must be a list of strings");
    for (const auto& item : node) {
      if (!item.IsScalar()) return error(item, std::string(what) + " must be a list of strings");
      out.push_back(item.Scalar());
    }
    return out;
  }

  Result<std::chrono::milliseconds> duration(const YAML::Node& node) const {
    if (!node.IsScalar()) return error(node, "timeout must be a duration like 30s");
    auto parsed = parse_duration(node.Scalar());
    if (!parsed) return error(node, parsed.error().message);
    if (parsed->count() <= 0) return error(node, "timeout must be positive");
    return *parsed;
  }

  Result<Severity> severity(const YAML::Node& node) const {
    if (!node.IsScalar()) return error(node, "severity must be low, medium, high or critical");
    auto parsed = severity_from_string(node.Scalar());
    if (!parsed) {
      return error(node, "unknown severity \"" + node.Scalar() +
                             "\" (expected low, medium, high or critical)");
    }
    return *parsed;
  }

  // YAML to JSON with YAML 1.2 core-schema typing of plain scalars; quoted scalars stay strings.
  // With a template `scope` ({"vars": ..., "loop": ..., <as>: ...}), {{ .name.path }} templates
  // in string scalars are substituted here, where the scalar's own location is still known for
  // errors.
  Result<nlohmann::json> to_json(const YAML::Node& node, const nlohmann::json* vars = nullptr,
                                 int depth = 0) const {
    if (depth > 64) return error(node, "nested too deeply");
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nlohmann::json(nullptr);
      case YAML::NodeType::Scalar: {
        nlohmann::json value = scalar(node);
        if (vars == nullptr || !value.is_string()) return value;
        return substitute_string(value.get<std::string>(), *vars, node);
      }
      case YAML::NodeType::Sequence: {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& item : node) {
          auto value = to_json(item, vars, depth + 1);
          if (!value) return value;
          out.push_back(std::move(*value));
        }
        return out;
      }
      case YAML::NodeType::Map: {
        if (reglet::Status s = check_unique_keys(node); !s) return s.error();
        nlohmann::json out = nlohmann::json::object();
        for (const auto& entry : node) {
          if (!entry.first.IsScalar()) return error(entry.first, "keys must be strings");
          auto value = to_json(entry.second, vars, depth + 1);
          if (!value) return value;
          out[entry.first.Scalar()] = std::move(*value);
        }
        return out;
      }
    }
    return nlohmann::json(nullptr);
  }

  static nlohmann::json scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") return text;  // quoted
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
      return nullptr;
    }
    static const std::regex kInt("[-+]?[0-9]+");
    static const std::regex kHex("0x[0-9a-fA-F]+");
    static const std::regex kOct("0o[0-7]+");
    static const std::regex kFloat(
        "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
    try {
      if (std::regex_match(text, kInt)) return std::stoll(text);
      if (std::regex_match(text, kHex)) return std::stoll(text.substr(2), nullptr, 16);
      if (std::regex_match(text, kOct)) return std::stoll(text.substr(2), nullptr, 8);
      if (std::regex_match(text, kFloat)) return std::stod(text);
    } catch (const std::exception&) {
      // Out of range for a number: keep the text.
    }
    if (text == ".inf" || text == "+.inf") return std::numeric_limits<double>::infinity();
    if (text == "-.inf") return -std::numeric_limits<double>::infinity();
    return text;
  }

  // {{ .vars.a.b }} (and, inside a loop, {{ .loop.item }}, {{ .loop.index }} or
  // {{ .<as>.field }}) in one string (see to_json). `scope` maps the first name to its value.
  Result<nlohmann::json> substitute_string(const std::string& text, const nlohmann::json& scope,
                                           const YAML::Node& node) const {
    // Most strings have no template: std::regex is slow enough to show in a large profile.
    if (text.find("{{") == std::string::npos) return nlohmann::json(text);
    static const std::regex kTemplate(
        R"(\{\{\s*((?:\.[A-Za-z_][A-Za-z0-9_-]*)(?:\.[A-Za-z0-9_-]+)*)\s*\}\})");
    static const std::regex kAnyTemplate(R"(\{\{[^}]*\}\})");
    std::smatch match;
    auto lookup = [&](const std::string& dotted) -> Result<nlohmann::json> {
      const nlohmann::json* current = &scope;
      std::string path;
      size_t start = 1;  // skip the leading '.'
      while (start <= dotted.size()) {
        size_t end = dotted.find('.', start);
        if (end == std::string::npos) end = dotted.size();
        const std::string key = dotted.substr(start, end - start);
        path += "." + key;
        if (!current->is_object() || !current->contains(key)) {
          return error(node, path.find('.', 1) == std::string::npos && !scope.contains(key)
                                 ? "unknown template name " + path + " in {{ " + dotted + " }} (use {{ .vars.name }})"
                                 : "undefined variable " + path);
        }
        current = &(*current)[key];
        start = end + 1;
      }
      return *current;
    };
    if (std::regex_match(text, match, kTemplate)) return lookup(match[1].str());
    std::string out;
    auto begin = text.cbegin();
    while (std::regex_search(begin, text.cend(), match, kAnyTemplate)) {
      out.append(begin, match[0].first);
      std::smatch var;
      const std::string piece = match[0].str();
      if (!std::regex_match(piece, var, kTemplate)) {
        return error(node, "unsupported template " + piece + " (use {{ .vars.name }})");
      }
      auto value = lookup(var[1].str());
      if (!value) return value;
      out += value->is_string() ? value->get<std::string>() : value->dump();
      begin = match[0].second;
    }
    out.append(begin, text.cend());
    return nlohmann::json(out);
  }

  Result<Profile> load(const YAML::Node& root) {
    Profile profile;
    // An empty document has no location of its own: report it at the start of the file.
    if (root.IsNull()) {
      return make_error(ErrorCode::invalid_argument, file_ + ":1:1: the profile is empty");
    }
    if (!root.IsMap()) return error(root, "a profile must be a mapping");
    if (reglet::Status s = check_keys(root, {"profile", "plugins", "vars", "grants", "controls"}, "the profile");
        !s) {
      return s.error();
    }
    if (const YAML::Node meta = root["profile"]) {
      if (reglet::Status s = check_keys(meta, {"name", "version", "description"}, "profile"); !s) {
        return s.error();
      }
      for (auto [key, field] : {std::pair{"name", &profile.name},
                                std::pair{"version", &profile.version},
                                std::pair{"description", &profile.description}}) {
        if (meta[key]) {
          auto value = string(meta[key], std::string("profile.") + key);
          if (!value) return value.error();
          *field = *value;
        }
      }
    } else {
      return error(root, "missing profile: {name: ...}");
    }
    if (profile.name.empty()) return error(root["profile"], "profile.name is required");

    if (const YAML::Node vars = root["vars"]) {
      auto value = to_json(vars);
      if (!value) return value.error();
      if (!value->is_object()) return error(vars, "vars must be a mapping");
      profile.vars = *value;
    }
    for (const auto& [name, text] : overrides_) {
      nlohmann::json value = text;
      try {
        YAML::Node node = YAML::Load(text);
        if (node.IsScalar()) value = scalar(node);
      } catch (const YAML::Exception&) {
        // Not YAML: the text itself.
      }
      nlohmann::json* slot = &profile.vars;
      size_t start = 0;
      for (;;) {
        const size_t dot = name.find('.', start);
        const std::string key = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (key.empty()) {
          return make_error(ErrorCode::invalid_argument, "--var " + name + ": empty name segment");
        }
        if (!slot->is_object()) *slot = nlohmann::json::object();
        slot = &(*slot)[key];
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      *slot = value;
    }

    std::set<std::string> plugin_names;
    if (const YAML::Node plugins = root["plugins"]) {
      if (!plugins.IsSequence()) return error(plugins, "plugins must be a list");
      for (const auto& item : plugins) {
        if (!item.IsScalar()) return error(item, "a plugin is a built-in name or a .wasm path");
        PluginRef ref{item.Scalar(), plugin_name_for(item.Scalar()), where(item)};
        if (reglet::Status s = check_plugin(ref, item); !s) return s.error();
        if (!plugin_names.insert(ref.name).second) {
          return error(item, "plugin \"" + ref.name + "\" is listed twice");
        }
        profile.plugins.push_back(std::move(ref));
      }
    }

    if (const YAML::Node grants = root["grants"]) {
      auto parsed = parse_grants(grants);
      if (!parsed) return parsed.error();
      // A grant for a plugin the profile cannot use is a typo that would otherwise surface only
      // as a confusing "missing capabilities" for the plugin that was meant.
      for (const auto& entry : grants) {
        const std::string name = entry.first.Scalar();
        if (!plugin_names.count(name) && !builtin_plugin(name)) {
          return error(entry.first, "grants for unknown plugin \"" + name +
                                        "\" (a built-in plugin or the name of a listed plugin "
                                        "file)");
        }
      }
      profile.grants = std::move(*parsed);
    }

    const YAML::Node controls = root["controls"];
    if (!controls) return error(root, "missing controls: {items: [...]}");
    if (reglet::Status s = check_keys(controls, {"defaults", "items"}, "controls"); !s) return s.error();
    Control defaults;
    if (const YAML::Node d = controls["defaults"]) {
      if (reglet::Status s = check_keys(d, {"severity", "timeout", "tags", "owner", "retries", "retry_delay",
                                     "retry_backoff", "retry_max_delay"},
                                  "controls.defaults");
          !s) {
        return s.error();
      }
      if (d["severity"]) {
        auto v = severity(d["severity"]);
        if (!v) return v.error();
        defaults.severity = *v;
      }
      if (d["timeout"]) {
        auto v = duration(d["timeout"]);
        if (!v) return v.error();
        defaults.timeout = *v;
      }
      if (d["tags"]) {
        auto v = string_list(d["tags"], "tags");
        if (!v) return v.error();
        defaults.tags = *v;
      }
      if (d["owner"]) {
        auto v = string(d["owner"], "owner");
        if (!v) return v.error();
        defaults.owner = *v;
      }
      if (reglet::Status s = load_retry(d, defaults.retry); !s) return s.error();
    }
    const YAML::Node items = controls["items"];
    if (!items) return error(controls, "missing controls.items");
    if (!items.IsSequence()) return error(items, "controls.items must be a list");
    std::map<std::string, SourceLocation> ids;
    for (const auto& item : items) {
      auto control = load_control(item, defaults, profile, plugin_names);
      if (!control) return control.error();
      if (auto [it, inserted] = ids.emplace(control->id, control->location); !inserted) {
        return error(item["id"], "duplicate control id \"" + control->id + "\" (first at " +
                                     it->second.to_string() + ")");
      }
      profile.controls.push_back(std::move(*control));
    }
    if (reglet::Status s = check_dependencies(profile, items); !s) return s.error();
    return profile;
  }

  reglet::Status check_plugin(const PluginRef& ref, const YAML::Node& node) const {
    if (is_plugin_path(ref.spec)) {
      std::filesystem::path path = std::filesystem::path(ref.spec).is_absolute()
                                       ? std::filesystem::path(ref.spec)
                                       : base_ / ref.spec;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        return error(node, "plugin file " + path.string() + " does not exist");
      }
      return {};
    }
    if (!builtin_plugin(ref.spec)) {
      std::string known;
      for (auto name : builtin_plugin_names()) known += (known.empty() ? "" : ", ") + std::string(name);
      return error(node, "unknown plugin \"" + ref.spec + "\" (built-in plugins: " + known +
                             "; a plugin file is a path ending in .wasm)");
    }
    return {};
  }

  Result<std::map<std::string, std::vector<std::string>>> parse_grants(const YAML::Node& node) const {
    std::map<std::string, std::vector<std::string>> out;
    if (!node.IsMap()) return error(node, "grants must map plugin names to lists of capabilities");
    if (reglet::Status s = check_unique_keys(node); !s) return s.error();
    for (const auto& entry : node) {
      auto caps = string_list(entry.second, "grants." + entry.first.Scalar());
      if (!caps) return caps.error();
      for (size_t i = 0; i < caps->size(); ++i) {
        if (auto parsed = Capability::parse((*caps)[i]); !parsed) {
          const YAML::Node at = entry.second.IsSequence() ? entry.second[i] : entry.second;
          return error(at, parsed.error().message);
        }
      }
      auto& list = out[entry.first.Scalar()];
      list.insert(list.end(), caps->begin(), caps->end());
    }
    return out;
  }

  // A string field with templates substituted as text.
  Result<std::string> text(const YAML::Node& node, const nlohmann::json& scope,
                           std::string_view what) const {
    auto raw = string(node, what);
    if (!raw) return raw;
    auto value = substitute_string(*raw, scope, node);
    if (!value) return value.error();
    return value->is_string() ? value->get<std::string>() : value->dump();
  }

  // retries, retry_delay, retry_backoff, retry_max_delay (Reglet's retry settings), on a control
  // or on controls.defaults.
  reglet::Status load_retry(const YAML::Node& node, RetryPolicy& retry) const {
    if (const YAML::Node r = node["retries"]) {
      const nlohmann::json value = r.IsScalar() ? scalar(r) : nlohmann::json();
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 100) {
        return error(r, "retries must be a whole number from 0 to 100");
      }
      retry.retries = static_cast<int>(value.get<int64_t>());
    }
    if (const YAML::Node d = node["retry_delay"]) {
      auto v = parse_duration(d.IsScalar() ? d.Scalar() : std::string());
      if (!v) return error(d, v.error().message);
      retry.delay = *v;
    }
    if (const YAML::Node d = node["retry_max_delay"]) {
      auto v = parse_duration(d.IsScalar() ? d.Scalar() : std::string());
      if (!v) return error(d, v.error().message);
      retry.max_delay = *v;
    }
    if (const YAML::Node b = node["retry_backoff"]) {
      const std::string value = b.IsScalar() ? b.Scalar() : std::string();
      if (value == "none" || value.empty()) {
        retry.backoff = RetryPolicy::Backoff::none;
      } else if (value == "linear") {
        retry.backoff = RetryPolicy::Backoff::linear;
      } else if (value == "exponential") {
        retry.backoff = RetryPolicy::Backoff::exponential;
      } else {
        return error(b, "retry_backoff must be none, linear or exponential");
      }
    }
    return {};
  }

  Result<Control> load_control(const YAML::Node& item, const Control& defaults,
                               const Profile& profile, const std::set<std::string>& plugins) const {
    if (reglet::Status s = check_keys(item, {"id", "name", "description", "severity", "owner", "tags",
                                     "depends_on", "timeout", "observations", "retries",
                                     "retry_delay", "retry_backoff", "retry_max_delay"},
                              "a control");
        !s) {
      return s.error();
    }
    const nlohmann::json scope = {{"vars", profile.vars}};
    Control control = defaults;
    control.location = where(item);
    if (!item["id"]) return error(item, "a control needs an id");
    auto id = string(item["id"], "id");
    if (!id) return id.error();
    static const std::regex kId("[A-Za-z0-9][A-Za-z0-9_.:-]*");
    if (!std::regex_match(*id, kId)) {
      return error(item["id"], "control id \"" + *id +
                                   "\" must start with a letter or digit and use only letters, "
                                   "digits, '-', '_', '.' and ':'");
    }
    control.id = *id;
    control.name = control.id;
    for (auto [key, field] : {std::pair{"name", &control.name},
                              std::pair{"description", &control.description},
                              std::pair{"owner", &control.owner}}) {
      if (item[key]) {
        auto value = text(item[key], scope, key);
        if (!value) return value.error();
        *field = *value;
      }
    }
    if (item["severity"]) {
      auto v = severity(item["severity"]);
      if (!v) return v.error();
      control.severity = *v;
    }
    if (item["timeout"]) {
      auto v = duration(item["timeout"]);
      if (!v) return v.error();
      control.timeout = *v;
    }
    if (reglet::Status s = load_retry(item, control.retry); !s) return s.error();
    if (const YAML::Node tags = item["tags"]) {
      auto v = string_list(tags, "tags");
      if (!v) return v.error();
      // A control's own tags add to the defaults (as Reglet merges them).
      for (size_t i = 0; i < v->size(); ++i) {
        auto tag = substitute_string((*v)[i], scope, tags.IsSequence() ? tags[i] : tags);
        if (!tag) return tag.error();
        const std::string name = tag->is_string() ? tag->get<std::string>() : tag->dump();
        if (std::find(control.tags.begin(), control.tags.end(), name) == control.tags.end()) {
          control.tags.push_back(name);
        }
      }
    }
    if (item["depends_on"]) {
      auto v = string_list(item["depends_on"], "depends_on");
      if (!v) return v.error();
      control.depends_on = *v;
    }
    const YAML::Node observations = item["observations"];
    if (!observations) return error(item, "control " + control.id + " needs observations:");
    // Point at the observations: value itself when it is there but wrong.
    if (!observations.IsSequence() || observations.size() == 0) {
      return error(observations,
                   "observations of control " + control.id + " must be a non-empty list");
    }
    for (const auto& node : observations) {
      auto expanded = load_observations(node, profile, plugins, scope);
      if (!expanded) return expanded.error();
      for (auto& observation : *expanded) control.observations.push_back(std::move(observation));
    }
    if (control.observations.empty()) {
      return error(observations, "control " + control.id + " has no observations (empty loop)");
    }
    return control;
  }

  // One observation, or one per item of its `loop:` (Reglet: {items: [...] or "{{ .vars.list }}",
  // as: name}); inside a loop, {{ .loop.item }}, {{ .loop.index }} and {{ .<as> }} are defined.
  Result<std::vector<Observation>> load_observations(const YAML::Node& node, const Profile& profile,
                                                     const std::set<std::string>& plugins,
                                                     const nlohmann::json& scope) const {
    std::vector<Observation> out;
    const YAML::Node loop = node.IsMap() ? node["loop"] : YAML::Node();
    if (!node.IsMap() || !loop) {
      auto observation = load_observation(node, profile, plugins, scope);
      if (!observation) return observation.error();
      out.push_back(std::move(*observation));
      return out;
    }
    if (reglet::Status s = check_keys(loop, {"items", "as"}, "a loop"); !s) return s.error();
    if (!loop["items"]) return error(loop, "a loop needs items:");
    auto items = to_json(loop["items"], &scope);
    if (!items) return items.error();
    if (!items->is_array()) return error(loop["items"], "loop items must be a list");
    if (items->size() > 10'000) return error(loop["items"], "a loop may have at most 10000 items");
    std::string as;
    if (loop["as"]) {
      auto name = string(loop["as"], "as");
      if (!name) return name.error();
      static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
      if (!std::regex_match(*name, kName) || *name == "vars" || *name == "loop") {
        return error(loop["as"], "loop variable must be a name other than vars and loop");
      }
      as = *name;
    }
    for (size_t i = 0; i < items->size(); ++i) {
      nlohmann::json inner = scope;
      inner["loop"] = {{"item", (*items)[i]}, {"index", i}};
      if (!as.empty()) inner[as] = (*items)[i];
      auto observation = load_observation(node, profile, plugins, inner);
      if (!observation) return observation.error();
      out.push_back(std::move(*observation));
    }
    return out;
  }

  Result<Observation> load_observation(const YAML::Node& node, const Profile& /*profile*/,
                                       const std::set<std::string>& plugins,
                                       const nlohmann::json& scope) const {
    if (reglet::Status s = check_keys(node, {"plugin", "config", "expect", "loop"}, "an observation");
        !s) {
      return s.error();
    }
    Observation observation;
    observation.location = where(node);
    if (!node["plugin"]) return error(node, "an observation needs a plugin");
    auto spec = string(node["plugin"], "plugin");
    if (!spec) return spec.error();
    observation.plugin = plugin_name_for(*spec);
    // A built-in may be used without being listed; a plugin file must be listed under plugins:.
    if (!plugins.count(observation.plugin) && !builtin_plugin(*spec)) {
      if (is_plugin_path(*spec)) {
        return error(node["plugin"], "plugin \"" + *spec + "\" is not listed under plugins:");
      }
      PluginRef ref{*spec, observation.plugin, where(node["plugin"])};
      if (reglet::Status s = check_plugin(ref, node["plugin"]); !s) return s.error();
    }
    if (const YAML::Node config = node["config"]) {
      if (!config.IsMap() && !config.IsNull()) return error(config, "config must be a mapping");
      auto value = to_json(config, &scope);
      if (!value) return value.error();
      observation.config = value->is_null() ? nlohmann::json::object() : std::move(*value);
    }
    if (const YAML::Node expect = node["expect"]) {
      std::vector<YAML::Node> items;
      if (expect.IsScalar()) {
        items.push_back(expect);
      } else if (expect.IsSequence()) {
        for (const auto& e : expect) items.push_back(e);
      } else {
        return error(expect, "expect must be a list of expressions");
      }
      for (const YAML::Node& e : items) {
        if (!e.IsScalar()) return error(e, "an expectation is an expression string");
        // Templates in expectations are text (Reglet: "data.size < {{ .vars.max }}").
        auto source = text(e, scope, "an expectation");
        if (!source) return source.error();
        auto parsed = Expression::parse(*source);
        if (!parsed) return expectation_error(e, parsed.error().message);
        observation.expect.push_back({*source, std::move(*parsed), where(e)});
      }
    }
    return observation;
  }

  // An expectation that does not parse. The parser says "column N: ..." within the expression;
  // where the expression stands verbatim on one line of the file (a plain or simply quoted
  // scalar, the usual case), the error is placed at that column of the file, so that an editor
  // jumps to the offending character. Otherwise (block scalars, escapes, folded lines) it points
  // at the start of the expression and the message keeps the column within it.
  Error expectation_error(const YAML::Node& node, const std::string& message) const {
    SourceLocation at = where(node);
    const std::string& source = node.Scalar();
    int column = 0;
    if (message.rfind("column ", 0) == 0) column = std::atoi(message.c_str() + 7);
    const YAML::Mark mark = node.Mark();
    if (column > 0 && !mark.is_null() && mark.line >= 0 &&
        static_cast<size_t>(mark.line) < lines_.size()) {
      const std::string_view line = lines_[mark.line];
      const size_t start = static_cast<size_t>(mark.column);
      size_t skip = std::string_view::npos;  // bytes before the expression's first character
      if (start < line.size()) {
        const std::string_view rest = line.substr(start);
        if (node.Tag() == "?" && rest.substr(0, source.size()) == source) {
          skip = 0;
        } else if (node.Tag() == "!" && !rest.empty() && (rest[0] == '"' || rest[0] == '\'') &&
                   rest.substr(1, source.size()) == source) {
          skip = 1;
        }
      }
      if (skip != std::string_view::npos) {
        // The parser counts code points; yaml-cpp's marks count bytes.
        size_t byte = 0;
        for (int c = 1; c < column && byte < source.size(); ++c) {
          ++byte;
          while (byte < source.size() &&
                 (static_cast<unsigned char>(source[byte]) & 0xC0) == 0x80) {
            ++byte;
          }
        }
        at.column = static_cast<int>(start + skip + byte) + 1;
      }
    }
    return make_error(ErrorCode::invalid_argument,
                      at.to_string() + ": in expectation \"" + source + "\": " + message);
  }

  // The entry of a depends_on list that names `dep` (the list itself when it is a single id).
  // Returned by value: assigning yaml-cpp nodes would rebind the document's nodes.
  static YAML::Node dependency_node(const YAML::Node& list, const std::string& dep) {
    if (list.IsSequence()) {
      for (const auto& entry : list) {
        if (entry.IsScalar() && entry.Scalar() == dep) return entry;
      }
    }
    return list;
  }

  reglet::Status check_dependencies(const Profile& profile, const YAML::Node& items) const {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < profile.controls.size(); ++i) index[profile.controls[i].id] = i;
    for (size_t i = 0; i < profile.controls.size(); ++i) {
      for (const std::string& dep : profile.controls[i].depends_on) {
        if (!index.count(dep)) {
          return error(dependency_node(items[i]["depends_on"], dep),
                       "control " + profile.controls[i].id + " depends on unknown control \"" +
                           dep + "\"");
        }
      }
    }
    // Cycle detection: depth-first with colours, reporting the cycle's path.
    std::vector<int> colour(profile.controls.size(), 0);
    std::vector<std::string> stack;
    std::function<reglet::Status(size_t)> visit = [&](size_t i) -> reglet::Status {
      colour[i] = 1;
      stack.push_back(profile.controls[i].id);
      for (const std::string& dep : profile.controls[i].depends_on) {
        const size_t j = index[dep];
        if (colour[j] == 1) {
          std::string path;
          auto start = std::find(stack.begin(), stack.end(), dep);
          for (auto it = start; it != stack.end(); ++it) path += *it + " -> ";
          return error(dependency_node(items[i]["depends_on"], dep),
                       "dependency cycle: " + path + dep);
        }
        if (colour[j] == 0) {
          if (reglet::Status s = visit(j); !s) return s;
        }
      }
      stack.pop_back();
      colour[i] = 2;
      return {};
    };
    for (size_t i = 0; i < profile.controls.size(); ++i) {
      if (colour[i] == 0) {
        if (reglet::Status s = visit(i); !s) return s;
      }
    }
    return {};
  }

 private:
  std::string file_;
  std::filesystem::path base_;
  VarOverrides overrides_;
  std::vector<std::string> lines_;
};

}  // namespace

Result<Profile> parse_profile(const std::string& text, const std::string& file_name,
                              const std::filesystem::path& base_dir, const VarOverrides& vars) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::invalid_argument,
                      file_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  try {
    Loader loader(file_name, base_dir, vars, text);
    auto profile = loader.load(root);
    if (profile) profile->base_dir = base_dir;
    return profile;
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::invalid_argument, file_name + ": " + e.what());
  }
}

Result<Profile> load_profile(const std::filesystem::path& path, const VarOverrides& vars) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::not_found, "cannot read profile " + path.string() + ": " + ec.message());
  if (size > kMaxProfileBytes) {
    return make_error(ErrorCode::invalid_argument, "profile " + path.string() + " is larger than 16 MiB");
  }
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in && !in.eof()) return make_error(ErrorCode::io_error, "cannot read profile " + path.string());
  auto profile = parse_profile(buffer.str(), path.string(),
                               std::filesystem::absolute(path).parent_path(), vars);
  if (profile) profile->path = path;
  return profile;
}

Result<std::map<std::string, std::vector<std::string>>> load_grants_file(
    const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::not_found, "cannot read " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(buffer.str());
    Loader loader(path.string(), path.parent_path());
    // An empty file (or only comments) grants nothing, like {grants: {}}.
    if (root.IsNull()) return std::map<std::string, std::vector<std::string>>{};
    if (!root.IsMap()) return loader.error(root, "expected {grants: {plugin: [capability, ...]}}");
    if (reglet::Status s = loader.check_keys(root, {"grants"}, "the config file"); !s) return s.error();
    if (!root["grants"] || root["grants"].IsNull()) {
      return std::map<std::string, std::vector<std::string>>{};
    }
    return loader.parse_grants(root["grants"]);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::invalid_argument,
                      path.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                          std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
}

}  // namespace reglet::check
