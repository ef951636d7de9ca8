// The sarif report: SARIF 2.1.0, one run, one rule and one result per control.
#include <algorithm>

#include "check/report_internal.h"

namespace reglet::check::report_detail {
namespace {

constexpr std::string_view kSchema = "https://json.schemastore.org/sarif-2.1.0.json";

// The level of a failed or errored control.
std::string_view problem_level(Severity severity) {
  return severity == Severity::critical || severity == Severity::high ? "error" : "warning";
}

// GitHub code scanning ranks alerts by this (critical > 9.0, high 7.0-8.9, medium 4.0-6.9, low
// 0.1-3.9).
std::string_view security_severity(Severity severity) {
  switch (severity) {
    case Severity::critical:
      return "9.5";
    case Severity::high:
      return "8.0";
    case Severity::medium:
      return "5.5";
    case Severity::low:
      return "2.0";
  }
  return "5.5";
}

// A path as a URI reference: percent-encoded bytes (RFC 3986 unreserved characters and '/' kept),
// absolute paths as file:// URIs.
std::string path_uri(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = !path.empty() && path.front() == '/' ? "file://" : "";
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (keep) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

OrderedJson text(const std::string& value) {
  OrderedJson out = OrderedJson::object();
  out["text"] = sanitize_utf8(value);
  return out;
}

OrderedJson rule(const ControlResult& control) {
  OrderedJson out = OrderedJson::object();
  out["id"] = sanitize_utf8(control.id);
  out["name"] = sanitize_utf8(control.name.empty() ? control.id : control.name);
  out["shortDescription"] = text(control.name.empty() ? control.id : control.name);
  out["fullDescription"] =
      text(control.description.empty() ? (control.name.empty() ? control.id : control.name)
                                       : control.description);
  OrderedJson configuration = OrderedJson::object();
  configuration["level"] = std::string(problem_level(control.severity));
  out["defaultConfiguration"] = std::move(configuration);
  OrderedJson properties = OrderedJson::object();
  properties["severity"] = std::string(to_string(control.severity));
  OrderedJson tags = OrderedJson::array();
  for (const std::string& tag : control.tags) {
    OrderedJson value = sanitize_utf8(tag);
    // A property bag's "tags" must be unique (SARIF 3.8.2).
    if (std::find(tags.begin(), tags.end(), value) == tags.end()) tags.push_back(std::move(value));
  }
  properties["tags"] = std::move(tags);
  properties["security-severity"] = std::string(security_severity(control.severity));
  out["properties"] = std::move(properties);
  return out;
}

std::string result_message(const ControlResult& control) {
  const std::string title = control.name.empty() ? control.id : control.name;
  switch (control.status) {
    case Status::pass:
      return title + ": passed";
    case Status::fail: {
      const std::string why = control.message.empty() ? first_failure(control) : control.message;
      return title + ": " + (why.empty() ? "failed" : why);
    }
    case Status::error: {
      const std::string why = control.message.empty() ? first_error(control) : control.message;
      return title + ": error" + (why.empty() ? "" : ": " + why);
    }
    case Status::skipped:
      return title + ": skipped" + (control.message.empty() ? "" : ": " + control.message);
  }
  return title;
}

OrderedJson result(const RunResult& run, const ControlResult& control, size_t index) {
  OrderedJson out = OrderedJson::object();
  out["ruleId"] = sanitize_utf8(control.id);
  out["ruleIndex"] = index;
  switch (control.status) {
    case Status::pass:
      out["kind"] = "pass";
      out["level"] = "none";
      break;
    case Status::fail:
    case Status::error:
      out["kind"] = "fail";
      out["level"] = std::string(problem_level(control.severity));
      break;
    case Status::skipped:
      out["kind"] = "notApplicable";
      out["level"] = "none";
      break;
  }
  out["message"] = text(result_message(control));
  if (const std::string path = profile_path_text(run); !path.empty()) {
    OrderedJson artifact = OrderedJson::object();
    artifact["uri"] = path_uri(path);
    OrderedJson physical = OrderedJson::object();
    physical["artifactLocation"] = std::move(artifact);
    OrderedJson location = OrderedJson::object();
    location["physicalLocation"] = std::move(physical);
    out["locations"] = OrderedJson::array({std::move(location)});
  }
  OrderedJson properties = OrderedJson::object();
  properties["status"] = std::string(to_string(control.status));
  properties["severity"] = std::string(to_string(control.severity));
  if (!control.owner.empty()) properties["owner"] = sanitize_utf8(control.owner);
  properties["duration_ms"] = control.duration.count();
  if (control.attempts > 1) properties["attempts"] = control.attempts;
  properties["observations"] = observations_json(control);
  out["properties"] = std::move(properties);
  return out;
}

}  // namespace

std::string render_sarif(const RunResult& run) {
  OrderedJson driver = OrderedJson::object();
  driver["name"] = "reglet";
  driver["version"] = sanitize_utf8(run.reglet_version);
  driver["informationUri"] = std::string(kReportInformationUri);
  OrderedJson rules = OrderedJson::array();
  OrderedJson results = OrderedJson::array();
  OrderedJson notifications = OrderedJson::array();
  for (size_t i = 0; i < run.controls.size(); ++i) {
    const ControlResult& control = run.controls[i];
    rules.push_back(rule(control));
    results.push_back(result(run, control, i));
    if (control.status == Status::error) {
      OrderedJson notification = OrderedJson::object();
      notification["level"] = "error";
      const std::string why = control.message.empty() ? first_error(control) : control.message;
      notification["message"] = text(control.id + ": " + (why.empty() ? "error" : why));
      OrderedJson associated = OrderedJson::object();
      associated["id"] = sanitize_utf8(control.id);
      associated["index"] = i;
      notification["associatedRule"] = std::move(associated);
      notifications.push_back(std::move(notification));
    }
  }
  driver["rules"] = std::move(rules);

  OrderedJson tool = OrderedJson::object();
  tool["driver"] = std::move(driver);

  const Summary summary = summarize(run.controls);
  OrderedJson invocation = OrderedJson::object();
  invocation["executionSuccessful"] = summary.errored == 0;
  invocation["startTimeUtc"] = format_rfc3339(run.started);
  invocation["endTimeUtc"] = format_rfc3339(run.started + run.duration);
  if (!notifications.empty()) invocation["toolExecutionNotifications"] = std::move(notifications);

  OrderedJson properties = OrderedJson::object();
  properties["profile"] = profile_json(run);
  properties["summary"] = summary_json(summary);

  OrderedJson sarif_run = OrderedJson::object();
  sarif_run["tool"] = std::move(tool);
  sarif_run["invocations"] = OrderedJson::array({std::move(invocation)});
  sarif_run["results"] = std::move(results);
  sarif_run["properties"] = std::move(properties);

  OrderedJson out = OrderedJson::object();
  out["$schema"] = std::string(kSchema);
  out["version"] = "2.1.0";
  out["runs"] = OrderedJson::array({std::move(sarif_run)});
  return dump_json(out, 2) + "\n";
}

}  // namespace reglet::check::report_detail
