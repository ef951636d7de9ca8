#include "check/runner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "check/plugin_source.h"
#include "runtime/abi/schema.h"

namespace reglet::check {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

bool has_any(const std::vector<std::string>& have, const std::vector<std::string>& want) {
  for (const auto& w : want) {
    if (std::find(have.begin(), have.end(), w) != have.end()) return true;
  }
  return false;
}

std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

}  // namespace

std::string Preflight::describe() const {
  std::string out = "missing capabilities (grant them with --grant PLUGIN=CAPABILITY, in the "
                    "profile's grants:, or run with --trust-plugins):\n";
  for (const MissingGrant& m : missing) {
    out += "  " + m.plugin + "=" + m.capability + "  (control " + m.control;
    if (!m.note.empty()) out += "; " + m.note;
    out += ")\n";
  }
  return out;
}

Runner::Runner(Runtime& runtime, const Profile& profile, RunOptions options)
    : runtime_(runtime), profile_(profile), options_(std::move(options)) {
  if (options_.parallel == 0) options_.parallel = std::max(1u, std::thread::hardware_concurrency());
}

Result<Preflight> Runner::prepare() {
  // Selection: filters, then the transitive dependencies of what was selected (a control cannot
  // pass without them, so they run too).
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < profile_.controls.size(); ++i) index[profile_.controls[i].id] = i;
  for (const auto* ids : {&options_.controls, &options_.exclude_controls}) {
    for (const std::string& id : *ids) {
      if (!index.count(id)) {
        return make_error(ErrorCode::invalid_argument, "no control \"" + id + "\" in the profile");
      }
    }
  }
  std::vector<bool> chosen(profile_.controls.size(), false);
  for (size_t i = 0; i < profile_.controls.size(); ++i) {
    const Control& c = profile_.controls[i];
    bool keep = true;
    if (!options_.controls.empty()) {
      keep = std::find(options_.controls.begin(), options_.controls.end(), c.id) !=
             options_.controls.end();
    }
    if (keep && !options_.tags.empty()) keep = has_any(c.tags, options_.tags);
    if (keep && !options_.exclude_tags.empty()) keep = !has_any(c.tags, options_.exclude_tags);
    if (keep && !options_.severities.empty()) {
      keep = std::find(options_.severities.begin(), options_.severities.end(), c.severity) !=
             options_.severities.end();
    }
    if (keep && !options_.exclude_controls.empty()) {
      keep = std::find(options_.exclude_controls.begin(), options_.exclude_controls.end(),
                       c.id) == options_.exclude_controls.end();
    }
    if (keep && options_.filter) {
      const nlohmann::json fields = {{"id", c.id},
                                     {"name", c.name},
                                     {"description", c.description},
                                     {"severity", std::string(to_string(c.severity))},
                                     {"owner", c.owner},
                                     {"tags", c.tags}};
      auto verdict = evaluate_condition(*options_.filter, fields);
      if (!verdict.ok()) {
        return make_error(ErrorCode::invalid_argument,
                          "--filter on control " + c.id + ": " + verdict.error().message);
      }
      keep = *verdict;
    }
    chosen[i] = keep;
  }
  if (std::find(chosen.begin(), chosen.end(), true) == chosen.end() &&
      !profile_.controls.empty()) {
    // A selection that matches nothing is almost always a mistyped tag or id; running nothing and
    // reporting success would hide it.
    return make_error(ErrorCode::invalid_argument, "no control matches the filters");
  }
  std::vector<size_t> work;
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (chosen[i]) work.push_back(i);
  }
  while (!work.empty()) {
    const size_t i = work.back();
    work.pop_back();
    for (const std::string& dep : profile_.controls[i].depends_on) {
      const size_t j = index.at(dep);
      if (!chosen[j]) {
        chosen[j] = true;
        work.push_back(j);
      }
    }
  }
  selected_.clear();
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (chosen[i]) selected_.push_back(i);
  }

  // Plugins: the listed ones and the built-ins observations use.
  std::map<std::string, std::string> specs;  // name -> spec
  for (const PluginRef& ref : profile_.plugins) specs[ref.name] = ref.spec;
  for (size_t i : selected_) {
    for (const Observation& o : profile_.controls[i].observations) specs.emplace(o.plugin, o.plugin);
  }
  for (const auto& [name, spec] : specs) {
    auto source = resolve_plugin_source(spec, profile_.base_dir);
    if (!source) return source.error();
    auto plugin = runtime_.load_plugin(name, source->bytes());
    if (!plugin) {
      Error error = plugin.error();
      error.message = "plugin " + spec + ": " + error.message;
      return error;
    }
    plugins_[name] = *plugin;
  }

  // Grants: the profile's, then the command line's.
  using GrantMap = std::map<std::string, std::vector<std::string>>;
  for (const GrantMap* grants : {&profile_.grants, static_cast<const GrantMap*>(&options_.grants)}) {
    for (const auto& [plugin, caps] : *grants) {
      for (const std::string& cap : caps) {
        if (reglet::Status s = runtime_.capabilities().grant(plugin, cap); !s) {
          return make_error(ErrorCode::invalid_argument, "grant " + plugin + "=" + cap + ": " +
                                                             s.error().message);
        }
      }
    }
  }

  // Needs, per observation.
  Preflight preflight;
  configs_.assign(profile_.controls.size(), {});
  std::set<std::pair<std::string, std::string>> reported;
  for (size_t i : selected_) {
    const Control& control = profile_.controls[i];
    for (const Observation& observation : control.observations) {
      const bool builtin = specs[observation.plugin] == observation.plugin &&
                           !is_plugin_path(observation.plugin);
      nlohmann::json config =
          builtin ? absolutize_paths(observation.plugin, observation.config) : observation.config;
      configs_[i].push_back(config);
      // A config that does not satisfy the plugin's schema is a mistake in the profile: report it
      // at its location before anything runs (exit 3), instead of working out needs from a
      // config that cannot run (a missing `name` would otherwise be refused as "env:" missing).
      auto schema = plugins_[observation.plugin]->schema();
      if (!schema) {
        Error error = schema.error();
        error.message = "plugin " + observation.plugin + ": schema failed: " + error.message;
        return error;
      }
      if (reglet::Status valid = runtime::validate_config(schema->raw, config); !valid) {
        const size_t number = static_cast<size_t>(&observation - control.observations.data()) + 1;
        return make_error(ErrorCode::invalid_config,
                          observation.location.to_string() + ": control " + control.id +
                              ", observation " + std::to_string(number) + " (" +
                              observation.plugin + "): " + valid.error().message);
      }
      auto grants = runtime_.capabilities().grants(observation.plugin);
      std::vector<Need> needs;
      if (builtin) {
        needs = builtin_needs(observation.plugin, config, *grants);
      } else {
        auto info = plugins_[observation.plugin]->describe();
        if (!info) {
          Error error = info.error();
          error.message = "plugin " + observation.plugin + ": describe failed: " + error.message;
          return error;
        }
        needs = declared_needs(*info, *grants);
      }
      for (const Need& need : needs) {
        if (need.granted) continue;
        if (options_.trust_plugins) {
          if (reglet::Status s = runtime_.capabilities().grant(observation.plugin, need.capability); !s) {
            preflight.missing.push_back({observation.plugin, need.capability, control.id,
                                         "cannot be granted: " + s.error().message});
          }
          continue;
        }
        if (reported.insert({observation.plugin, need.capability}).second) {
          preflight.missing.push_back({observation.plugin, need.capability, control.id, need.note});
        }
      }
    }
  }
  return preflight;
}

void evaluate(const Observation& observation, const Evidence& evidence, ObservationResult& out) {
  if (evidence.error) {
    out.status = Status::error;
    out.error = Error{error_code_from_string(evidence.error->code).value_or(ErrorCode::plugin_error),
                      evidence.error->message};
    return;
  }
  if (observation.expect.empty()) {
    out.status = evidence.status ? Status::pass : Status::fail;
    return;
  }
  const nlohmann::json vars = {{"data", evidence.data},
                               {"status", evidence.status},
                               {"error", nullptr},
                               {"timestamp", format_rfc3339(evidence.timestamp)}};
  bool all = true;
  bool errored = false;
  for (const Expectation& expectation : observation.expect) {
    ExpectationResult result{expectation.source, false, {}};
    auto value = evaluate_condition(expectation.expression, vars, &evidence.data);
    if (!value) {
      result.error = value.error().message;
      errored = true;
    } else {
      result.passed = *value;
      all = all && *value;
    }
    out.expectations.push_back(std::move(result));
  }
  out.status = errored ? Status::error : all ? Status::pass : Status::fail;
  if (errored) {
    for (const auto& r : out.expectations) {
      if (!r.error.empty()) {
        out.error = Error{ErrorCode::invalid_argument, "expectation \"" + r.expression + "\": " + r.error};
        break;
      }
    }
  }
}

ObservationResult Runner::run_observation(const Observation& observation,
                                          const nlohmann::json& config,
                                          Clock::time_point deadline,
                                          const std::string& request_id) {
  ObservationResult out;
  out.plugin = observation.plugin;
  out.config = config;
  const auto start = Clock::now();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - start);
  if (left.count() <= 0) {
    out.status = Status::error;
    out.error = Error{ErrorCode::timeout, "the control's timeout passed before this observation"};
    return out;
  }
  ObserveOptions observe;
  observe.timeout = left;
  observe.cancel = options_.cancel;
  observe.request_id = request_id;
  auto evidence = plugins_.at(observation.plugin)->observe(out.config, observe);
  out.duration = since(start);
  if (!evidence) {
    out.status = Status::error;
    out.error = evidence.error();
    return out;
  }
  evaluate(observation, *evidence, out);
  out.evidence = std::move(*evidence);
  return out;
}

ControlResult Runner::run_with_retries(const Control& control) {
  ControlResult result = run_control(control);
  int attempt = 1;
  auto cancelled = [&] { return options_.cancel && options_.cancel->cancelled(); };
  while ((result.status == Status::fail || result.status == Status::error) &&
         attempt <= control.retry.retries && !cancelled()) {
    ++attempt;
    // Wait in short slices so that a cancellation (Ctrl-C) is not held up by a long delay.
    const auto until = Clock::now() + control.retry.wait_before(attempt);
    while (Clock::now() < until && !cancelled()) {
      std::this_thread::sleep_for(std::min<Clock::duration>(until - Clock::now(),
                                                            std::chrono::milliseconds(20)));
    }
    if (cancelled()) break;
    const auto total = result.duration;
    result = run_control(control);
    result.duration += total;
  }
  result.attempts = attempt;
  return result;
}

ControlResult Runner::run_control(const Control& control) {
  ControlResult result;
  result.id = control.id;
  result.name = control.name;
  result.description = control.description;
  result.severity = control.severity;
  result.owner = control.owner;
  result.tags = control.tags;
  const auto start = Clock::now();
  const auto timeout = options_.timeout.value_or(control.timeout);
  const auto deadline = start + timeout;
  const size_t control_index = static_cast<size_t>(&control - profile_.controls.data());
  bool any_error = false, any_fail = false;
  for (size_t i = 0; i < control.observations.size(); ++i) {
    const Observation& observation = control.observations[i];
    auto run = run_observation(observation, configs_[control_index][i], deadline,
                               control.id + "/" + std::to_string(i + 1));
    if (run.status == Status::error && !any_error && !any_fail) {
      result.message = "observation " + std::to_string(i + 1) + " (" + observation.plugin +
                       "): " + (run.error ? std::string(to_string(run.error->code)) + ": " +
                                                one_line(run.error->message)
                                          : "error");
    } else if (run.status == Status::fail && !any_error && !any_fail) {
      std::string failed;
      for (const auto& e : run.expectations) {
        if (!e.passed) failed += (failed.empty() ? "" : "; ") + e.expression;
      }
      result.message = "observation " + std::to_string(i + 1) + " (" + observation.plugin + "): " +
                       (failed.empty() ? "the plugin reported status false"
                                       : "expectation failed: " + failed);
    }
    any_error = any_error || run.status == Status::error;
    any_fail = any_fail || run.status == Status::fail;
    result.observations.push_back(std::move(run));
  }
  result.status = any_error ? Status::error : any_fail ? Status::fail : Status::pass;
  result.duration = since(start);
  return result;
}

RunResult Runner::run() {
  RunResult run;
  run.profile_name = profile_.name;
  run.profile_version = profile_.version;
  run.profile_description = profile_.description;
  run.profile_path = profile_.path;
  run.started = std::chrono::system_clock::now();
  const auto start = Clock::now();

  // Dependency bookkeeping over the selected controls.
  const size_t n = profile_.controls.size();
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[profile_.controls[i].id] = i;
  std::vector<std::vector<size_t>> dependents(n);
  std::vector<size_t> waiting(n, 0);
  std::vector<std::optional<ControlResult>> results(n);
  std::deque<size_t> ready;
  for (size_t i : selected_) {
    waiting[i] = profile_.controls[i].depends_on.size();
    for (const std::string& dep : profile_.controls[i].depends_on) {
      dependents[index.at(dep)].push_back(i);
    }
    if (waiting[i] == 0) ready.push_back(i);
  }

  std::mutex mutex;
  std::condition_variable wake;
  size_t done = 0;
  const size_t total = selected_.size();

  // Called with the lock held: records a result and releases or skips dependents.
  std::function<void(size_t, ControlResult)> finish = [&](size_t i, ControlResult result) {
    results[i] = std::move(result);
    ++done;
    if (options_.on_progress) options_.on_progress(done, total, *results[i]);
    for (size_t j : dependents[i]) {
      if (--waiting[j] != 0) continue;
      std::string blocked;
      for (const std::string& dep : profile_.controls[j].depends_on) {
        const auto& r = results[index.at(dep)];
        if (!r || r->status != Status::pass) {
          blocked = dep;
          break;
        }
      }
      if (blocked.empty()) {
        ready.push_back(j);
      } else {
        const Control& c = profile_.controls[j];
        ControlResult skipped;
        skipped.id = c.id;
        skipped.name = c.name;
        skipped.description = c.description;
        skipped.severity = c.severity;
        skipped.owner = c.owner;
        skipped.tags = c.tags;
        skipped.status = Status::skipped;
        skipped.message = "dependency " + blocked + " did not pass";
        finish(j, std::move(skipped));
      }
    }
    wake.notify_all();
  };

  auto worker = [&] {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return !ready.empty() || done == total; });
      if (ready.empty()) return;
      const size_t i = ready.front();
      ready.pop_front();
      lock.unlock();
      ControlResult result = run_with_retries(profile_.controls[i]);
      lock.lock();
      finish(i, std::move(result));
    }
  };
  const size_t threads = std::min(options_.parallel, std::max<size_t>(total, 1));
  std::vector<std::thread> pool;
  for (size_t t = 0; t + 1 < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& thread : pool) thread.join();

  for (size_t i : selected_) {
    if (results[i]) run.controls.push_back(std::move(*results[i]));
  }
  run.summary = summarize(run.controls);
  run.duration = since(start);
  return run;
}

}  // namespace reglet::check
