// reglet observe PLUGIN --config JSON: one observation, for plugin authors. Runs with exactly the
// grants given on the command line; anything else is denied at the call.
#include <fstream>
#include <sstream>

#include "cli/commands.h"

namespace reglet::cli {
namespace {

class ObserveCommand final : public Command {
 public:
  explicit ObserveCommand(CLI::App& app) {
    sub_ = app.add_subcommand("observe", "Run one observation of a plugin and print the evidence");
    sub_->add_option("plugin", plugin_, "Built-in plugin name or path to a .wasm file")
        ->required();
    sub_->add_option("--config,-c", config_, "The observation's config as a JSON object");
    sub_->add_option("--config-file", config_file, "Read the config from a JSON file");
    sub_->add_option("--grant,-g", grants_,
                     "Grant a capability to the plugin (repeatable), e.g. fs:read:/etc/hostname");
    common_.add_to(*sub_);
    sub_->footer(
        "Prints {\"status\", \"data\", \"timestamp\"} and exits 0, or {\"error\": {\"code\", "
        "\"message\"}} and exits 2.\nExample: reglet observe file --config "
        "'{\"path\":\"/etc/hostname\"}' --grant fs:read:/etc/hostname");
  }

  bool selected() const override { return sub_->parsed(); }

  int run() override {
    std::string text = config_;
    if (!config_file.empty()) {
      if (!config_.empty()) return usage_error("give --config or --config-file, not both");
      std::ifstream in(config_file);
      if (!in) return usage_error("cannot read " + config_file);
      std::stringstream buffer;
      buffer << in.rdbuf();
      text = buffer.str();
    }
    if (text.empty()) text = "{}";
    auto config = nlohmann::json::parse(text, nullptr, false);
    if (config.is_discarded() || !config.is_object()) {
      return usage_error("--config must be a JSON object");
    }
    auto options = common_.runtime_options();
    if (!options) return usage_error(options.error().message);
    Runtime runtime(std::move(*options));
    auto plugin = load(runtime, plugin_);
    if (!plugin) {
      if (plugin.error().code == ErrorCode::not_found) return usage_error(plugin.error().message);
      return print_error(plugin.error());
    }
    for (const std::string& grant : grants_) {
      if (Status status = runtime.capabilities().grant((*plugin)->name(), grant); !status) {
        return usage_error(status.error().message);
      }
    }
    auto evidence = (*plugin)->observe(config);
    if (!evidence) return print_error(evidence.error());
    if (evidence->error) {
      nlohmann::json error = {{"code", evidence->error->code},
                              {"message", evidence->error->message}};
      if (!evidence->error->type.empty()) error["type"] = evidence->error->type;
      print_json({{"error", error}});
      return kExitError;
    }
    print_json(evidence->to_json());
    return kExitPassed;
  }

 private:
  CLI::App* sub_;
  std::string plugin_, config_, config_file;
  std::vector<std::string> grants_;
  CommonOptions common_;
};

class VersionCommand final : public Command {
 public:
  explicit VersionCommand(CLI::App& app) {
    sub_ = app.add_subcommand("version", "Print the version of reglet and its engine");
  }
  bool selected() const override { return sub_->parsed(); }
  int run() override {
    std::printf("reglet %s (engines: interp, aot; WABT 1.0.32)\n", kVersion);
    return kExitPassed;
  }

 private:
  CLI::App* sub_;
};

}  // namespace

std::unique_ptr<Command> make_observe_command(CLI::App& app) {
  return std::make_unique<ObserveCommand>(app);
}
std::unique_ptr<Command> make_version_command(CLI::App& app) {
  return std::make_unique<VersionCommand>(app);
}

}  // namespace reglet::cli
