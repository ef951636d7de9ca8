// reglet check PROFILE: run a profile's controls and report (SPEC §5).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "check/profile.h"
#include "check/report.h"
#include "check/runner.h"
#include "cli/commands.h"

namespace reglet::cli {
namespace {

// Ctrl-C cancels running observations (they stop at their next interruption check) and the run
// ends with what it has. Only an atomic store happens in the handler.
std::atomic<std::atomic<bool>*> g_cancel_flag{nullptr};

void on_interrupt(int) {
  if (auto* flag = g_cancel_flag.load()) flag->store(true);
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const std::string& value : values) {
    std::stringstream stream(value);
    std::string item;
    while (std::getline(stream, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void update(size_t done, size_t total) {
    if (!enabled_ || total == 0) return;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total);
    std::string bar = "\r[" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "] " +
                      std::to_string(done) + "/" + std::to_string(total) + " controls";
    std::cerr << bar << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) std::cerr << "\r" << std::string(60, ' ') << "\r" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
};

class CheckCommand final : public Command {
 public:
  explicit CheckCommand(CLI::App& app) {
    sub_ = app.add_subcommand("check", "Run the controls of a profile and report the results");
    sub_->add_option("profile", profile_, "Profile (YAML)")->required();
    sub_->add_option("--format,-f", format_, "table, json, yaml, junit or sarif")
        ->capture_default_str();
    sub_->add_option("--output,-o", output_, "Write the report to FILE instead of stdout");
    sub_->add_option("--tags", tags_, "Run only controls with any of these tags (comma list)");
    sub_->add_option("--exclude-tags", exclude_tags_, "Skip controls with any of these tags");
    sub_->add_option("--severity", severity_,
                     "Run controls of these severities (comma list: critical,high)");
    sub_->add_option("--control", controls_,
                     "Run only these control ids, comma list (their dependencies run too)");
    sub_->add_option("--exclude-control", exclude_controls_,
                     "Skip these control ids (comma list), unless a selected control depends on one");
    sub_->add_option("--filter", filter_,
                     "Run controls for which this expression is true, over id, name, description, "
                     "severity, owner and tags, e.g. \"severity in ['critical', 'high'] && "
                     "'ssh' in tags\"");
    sub_->add_option("--parallel,-p", parallel_, "Controls run at once (default: the number of cores)");
    sub_->add_option("--grant,-g", grants_,
                     "Grant a capability: PLUGIN=CAPABILITY, e.g. file=fs:read:/etc/** (repeatable)");
    sub_->add_option("--grants-file", grants_file_, "YAML file with {grants: {plugin: [caps]}}");
    sub_->add_option("--var", vars_,
                     "Set a profile variable: NAME=VALUE, dotted for nested (demo.port=8080)");
    sub_->add_flag("--trust-plugins", trust_plugins_,
                   "Grant every plugin exactly what its observations need");
    sub_->add_option("--color", color_, "auto, always or never")->capture_default_str();
    sub_->add_flag("--no-progress", no_progress_, "No progress bar on the terminal");
    common_.add_to(*sub_);
    // The shared option is per observation; for check it replaces every control's timeout.
    sub_->get_option("--timeout")
        ->description("Timeout of every control, replacing the profile's (e.g. 10s, 500ms)");
    sub_->footer(
        "Exit codes: 0 all passed, 1 a control failed, 2 a control errored, 3 usage or "
        "configuration error (including missing grants, reported before anything runs).");
  }

  bool selected() const override { return sub_->parsed(); }

  int run() override {
    auto format = check::report_format_from_string(format_);
    if (!format) return usage_error("--format must be table, json, yaml, junit or sarif");
    if (color_ != "auto" && color_ != "always" && color_ != "never") {
      return usage_error("--color must be auto, always or never");
    }

    check::VarOverrides overrides;
    for (const std::string& var : vars_) {
      const auto eq = var.find('=');
      if (eq == std::string::npos || eq == 0) {
        return usage_error("--var takes NAME=VALUE, got \"" + var + "\"");
      }
      overrides.emplace_back(var.substr(0, eq), var.substr(eq + 1));
    }
    auto profile = check::load_profile(profile_, overrides);
    if (!profile) return usage_error(profile.error().message);

    check::RunOptions options;
    options.parallel = parallel_;
    options.trust_plugins = trust_plugins_;
    options.tags = split_list(tags_);
    options.exclude_tags = split_list(exclude_tags_);
    options.controls = split_list(controls_);
    options.exclude_controls = split_list(exclude_controls_);
    // Exactly the severities named, as Reglet does (not "this one and above").
    for (const std::string& name : split_list(severity_)) {
      auto severity = check::severity_from_string(name);
      if (!severity) return usage_error("unknown severity \"" + name + "\"");
      options.severities.push_back(*severity);
    }
    if (!filter_.empty()) {
      auto filter = check::Expression::parse(filter_);
      if (!filter) return usage_error("--filter: " + filter.error().message);
      options.filter = std::move(*filter);
    }
    if (!grants_file_.empty()) {
      auto grants = check::load_grants_file(grants_file_);
      if (!grants) return usage_error(grants.error().message);
      options.grants = std::move(*grants);
    }
    for (const std::string& grant : grants_) {
      const auto eq = grant.find('=');
      if (eq == std::string::npos || eq == 0) {
        return usage_error("--grant takes PLUGIN=CAPABILITY, got \"" + grant + "\"");
      }
      options.grants[grant.substr(0, eq)].push_back(grant.substr(eq + 1));
    }

    auto runtime_options = common_.runtime_options();
    if (!runtime_options) return usage_error(runtime_options.error().message);
    if (!common_.timeout.empty()) options.timeout = runtime_options->default_timeout;
    Runtime runtime(std::move(*runtime_options));

    CancelToken cancel;
    options.cancel = cancel;
    const bool progress = !no_progress_ && isatty(STDERR_FILENO);
    ProgressBar bar(progress);
    options.on_progress = [&bar](size_t done, size_t total, const check::ControlResult&) {
      bar.update(done, total);
    };

    check::Runner runner(runtime, *profile, std::move(options));
    auto preflight = runner.prepare();
    if (!preflight) return usage_error(preflight.error().message);
    if (!preflight->missing.empty()) {
      std::cerr << "reglet: " << preflight->describe();
      return kExitUsage;
    }

    // The report file is opened before the run: a path that cannot be written is a usage error
    // (exit 3) before anything runs, not after a long run whose results would then be lost.
    std::ofstream output_file;
    if (!output_.empty()) {
      output_file.open(output_, std::ios::binary | std::ios::trunc);
      if (!output_file) return usage_error("cannot write " + output_);
    }

    // The cancel flag is shared with the token; the handler only stores to it.
    auto flag = std::const_pointer_cast<std::atomic<bool>>(cancel.flag());
    g_cancel_flag.store(flag.get());
    auto previous = std::signal(SIGINT, on_interrupt);
    check::RunResult result = runner.run();
    std::signal(SIGINT, previous);
    g_cancel_flag.store(nullptr);
    bar.clear();
    result.reglet_version = kVersion;

    check::ReportOptions report_options;
    const bool to_terminal = output_.empty() && isatty(STDOUT_FILENO);
    report_options.color = color_ == "always" || (color_ == "auto" && to_terminal);
    const std::string report = check::render_report(result, *format, report_options);
    if (output_.empty()) {
      std::cout << report << std::flush;
    } else {
      if (!(output_file << report) || !output_file.flush()) {
        return usage_error("cannot write " + output_);
      }
    }
    return result.exit_code();
  }

 private:
  CLI::App* sub_;
  std::string profile_, format_ = "table", output_, grants_file_, color_ = "auto";
  std::vector<std::string> tags_, exclude_tags_, severity_, controls_, exclude_controls_, grants_,
      vars_;
  std::string filter_;
  size_t parallel_ = 0;
  bool trust_plugins_ = false, no_progress_ = false;
  CommonOptions common_;
};

}  // namespace

std::unique_ptr<Command> make_check_command(CLI::App& app) {
  return std::make_unique<CheckCommand>(app);
}

}  // namespace reglet::cli
