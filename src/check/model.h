// Profiles and results of `reglet check` (SPEC §5).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check/expr.h"
#include "reglet/error.h"
#include "reglet/types.h"

namespace reglet::check {

enum class Severity { low, medium, high, critical };
std::string_view to_string(Severity severity);
std::optional<Severity> severity_from_string(std::string_view text);

// Where something was written in a profile (1-based; 0 when unknown).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_string() const;  // "profile.yaml:12:5"
};

struct Expectation {
  std::string source;  // as written
  Expression expression;
  SourceLocation location;
};

struct Observation {
  std::string plugin;  // the name the plugin is loaded under
  nlohmann::json config = nlohmann::json::object();  // vars substituted
  std::vector<Expectation> expect;
  SourceLocation location;
};

// Reglet's retry settings: a control that fails or errors runs again, up to `retries` more
// times, waiting `delay` (times the attempt number for linear, doubling for exponential, at most
// `max_delay` when set) between attempts. The last attempt's result is the control's.
struct RetryPolicy {
  enum class Backoff { none, linear, exponential };
  int retries = 0;
  std::chrono::milliseconds delay{0};
  Backoff backoff = Backoff::none;
  std::chrono::milliseconds max_delay{0};

  // The wait before attempt `attempt` (2 for the first retry).
  std::chrono::milliseconds wait_before(int attempt) const;
};

struct Control {
  std::string id;
  std::string name;
  std::string description;
  Severity severity = Severity::medium;
  std::string owner;
  std::vector<std::string> tags;
  std::vector<std::string> depends_on;
  std::chrono::milliseconds timeout{30'000};
  RetryPolicy retry;
  std::vector<Observation> observations;
  SourceLocation location;
};

struct PluginRef {
  std::string spec;  // as written: a built-in name or a path
  std::string name;  // the name it is loaded and granted under
  SourceLocation location;
};

struct Profile {
  std::string name;
  std::string version;
  std::string description;
  std::vector<PluginRef> plugins;
  nlohmann::json vars = nlohmann::json::object();
  std::vector<Control> controls;  // in profile order
  std::map<std::string, std::vector<std::string>> grants;  // plugin name -> capabilities
  std::filesystem::path path;
  std::filesystem::path base_dir;  // relative plugin paths are resolved against it
};

enum class Status { pass, fail, error, skipped };
std::string_view to_string(Status status);

struct ExpectationResult {
  std::string expression;
  bool passed = false;
  std::string error;  // evaluation error (the expectation then counts as an error)
};

struct ObservationResult {
  std::string plugin;
  nlohmann::json config;
  Status status = Status::error;
  std::optional<Evidence> evidence;
  std::optional<Error> error;  // host-side error, or the plugin's own error as an Error
  std::vector<ExpectationResult> expectations;
  std::chrono::milliseconds duration{0};
};

struct ControlResult {
  std::string id;
  std::string name;
  std::string description;
  Severity severity = Severity::medium;
  std::string owner;
  std::vector<std::string> tags;
  Status status = Status::error;
  std::string message;  // why it failed, errored or was skipped, in one line
  std::vector<ObservationResult> observations;
  std::chrono::milliseconds duration{0};
  int attempts = 1;  // more than one when retries were used
};

struct Summary {
  size_t total = 0, passed = 0, failed = 0, errored = 0, skipped = 0;
};

struct RunResult {
  std::string profile_name;
  std::string profile_version;
  std::string profile_description;
  std::filesystem::path profile_path;
  std::vector<ControlResult> controls;  // profile order
  Summary summary;
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds duration{0};
  std::string reglet_version;

  int exit_code() const;  // 0 all passed (skips included), 1 a control failed, 2 one errored
};

Summary summarize(const std::vector<ControlResult>& controls);

}  // namespace reglet::check
