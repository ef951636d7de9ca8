// Running a profile: select controls, load plugins, check grants before anything runs, then run
// controls in parallel with depends_on respected, and evaluate expectations on the evidence.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "check/expr.h"
#include "check/model.h"
#include "check/needs.h"
#include "reglet/runtime.h"

namespace reglet::check {

struct RunOptions {
  size_t parallel = 0;  // 0: the number of cores
  std::optional<std::chrono::milliseconds> timeout;  // overrides every control's timeout
  std::vector<std::string> tags;          // run controls having any of these
  std::vector<std::string> exclude_tags;  // skip controls having any of these
  std::vector<Severity> severities;       // run controls of these severities (empty: all)
  std::vector<std::string> controls;      // run these control ids (empty: all)
  std::vector<std::string> exclude_controls;  // never these ids (unless a selected one needs it)
  // An expression over each control (id, name, description, severity, owner, tags): the control
  // runs when it is true. Reglet's --filter.
  std::optional<Expression> filter;
  bool trust_plugins = false;             // grant exactly what is needed
  std::map<std::string, std::vector<std::string>> grants;  // extra grants (plugin -> caps)
  std::optional<CancelToken> cancel;
  // Called after each control finishes (from worker threads, serialised).
  std::function<void(size_t done, size_t total, const ControlResult&)> on_progress;
};

// A grant that is missing, with where it is needed.
struct MissingGrant {
  std::string plugin;
  std::string capability;
  std::string control;
  std::string note;
};

struct Preflight {
  std::vector<MissingGrant> missing;
  std::string describe() const;  // one line per missing grant, and how to grant it
};

// Everything before the run: plugins loaded, grants installed, needs checked. An Error here is a
// configuration error (exit 3); a non-empty Preflight::missing means the run must not start.
class Runner {
 public:
  Runner(Runtime& runtime, const Profile& profile, RunOptions options);

  // Loads the plugins, selects the controls, validates every selected observation's config
  // against its plugin's schema (invalid_config, with the observation's location) and checks
  // every need against the grants.
  Result<Preflight> prepare();
  // Runs the selected controls. prepare() must have succeeded with nothing missing.
  RunResult run();

  const std::vector<size_t>& selected() const { return selected_; }

 private:
  ControlResult run_control(const Control& control);
  ControlResult run_with_retries(const Control& control);
  ObservationResult run_observation(const Observation& observation,
                                    const nlohmann::json& config,
                                    std::chrono::steady_clock::time_point deadline,
                                    const std::string& request_id);

  Runtime& runtime_;
  const Profile& profile_;
  RunOptions options_;
  std::map<std::string, std::shared_ptr<Plugin>> plugins_;
  std::vector<size_t> selected_;  // indices into profile_.controls, profile order
  // Configs with paths made absolute, per control and observation.
  std::vector<std::vector<nlohmann::json>> configs_;
};

// Evaluates one observation's expectations on its evidence (SPEC §5). Pass when every
// expectation is true (with none, when the plugin's own status is true); an evidence error, a
// non-boolean result or an evaluation error makes it an error.
void evaluate(const Observation& observation, const Evidence& evidence, ObservationResult& out);

}  // namespace reglet::check
