// reglet plugins list|describe|schema
#include <array>
#include <iostream>

#include "cli/commands.h"
#include "reglet/builtins.h"

namespace reglet::cli {
namespace {

std::string capability_list(const PluginInfo& info) {
  std::string out;
  for (const Capability& c : info.capabilities) out += (out.empty() ? "" : ", ") + c.to_string();
  return out.empty() ? "-" : out;
}

class PluginsCommand final : public Command {
 public:
  explicit PluginsCommand(CLI::App& app) {
    sub_ = app.add_subcommand("plugins", "List, describe and show the config schema of plugins");
    sub_->require_subcommand(1);
    list_ = sub_->add_subcommand("list", "List the built-in plugins and what they may need");
    list_->add_option("--format", format_, "table or json")->capture_default_str();
    describe_ = sub_->add_subcommand("describe", "Print a plugin's describe() as JSON");
    describe_->add_option("plugin", plugin_, "Built-in name or path to a .wasm file")->required();
    schema_ = sub_->add_subcommand("schema", "Print a plugin's config schema (JSON Schema)");
    schema_->add_option("plugin", plugin_, "Built-in name or path to a .wasm file")->required();
  }

  bool selected() const override { return sub_->parsed(); }

  int run() override {
    RuntimeOptions options;
    options.log_sink = stderr_log_sink("warn");
    Runtime runtime(std::move(options));
    if (list_->parsed()) return list(runtime);
    auto plugin = load(runtime, plugin_);
    if (!plugin) {
      if (plugin.error().code == ErrorCode::not_found) return usage_error(plugin.error().message);
      return print_error(plugin.error());
    }
    if (describe_->parsed()) {
      auto info = (*plugin)->describe();
      if (!info) return print_error(info.error());
      print_json(info->raw);
    } else {
      auto schema = (*plugin)->schema();
      if (!schema) return print_error(schema.error());
      print_json(schema->raw);
    }
    return kExitPassed;
  }

 private:
  int list(Runtime& runtime) {
    if (format_ != "table" && format_ != "json") return usage_error("--format must be table or json");
    nlohmann::json all = nlohmann::json::array();
    std::vector<std::array<std::string, 4>> rows;
    for (std::string_view name : builtin_plugin_names()) {
      auto plugin = load(runtime, std::string(name));
      if (!plugin) return print_error(plugin.error());
      auto info = (*plugin)->describe();
      if (!info) return print_error(info.error());
      all.push_back(info->raw);
      rows.push_back({std::string(name), info->version, capability_list(*info), info->description});
    }
    if (format_ == "json") {
      print_json(all);
      return kExitPassed;
    }
    std::array<size_t, 3> width = {6, 7, 12};
    for (const auto& row : rows) {
      for (size_t i = 0; i < 3; ++i) width[i] = std::max(width[i], row[i].size());
    }
    auto line = [&](const std::array<std::string, 4>& row) {
      std::string out;
      for (size_t i = 0; i < 3; ++i) out += row[i] + std::string(width[i] - row[i].size() + 2, ' ');
      std::cout << out << row[3] << "\n";
    };
    line({"PLUGIN", "VERSION", "CAPABILITIES", "DESCRIPTION"});
    for (const auto& row : rows) line(row);
    return kExitPassed;
  }

  CLI::App* sub_;
  CLI::App* list_;
  CLI::App* describe_;
  CLI::App* schema_;
  std::string plugin_;
  std::string format_ = "table";
};

}  // namespace

std::unique_ptr<Command> make_plugins_command(CLI::App& app) {
  return std::make_unique<PluginsCommand>(app);
}

}  // namespace reglet::cli
