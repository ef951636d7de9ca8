#include "check/report.h"

#include <cmath>
#include <cstdio>
#include <exception>

#include "check/report_internal.h"

namespace reglet::check {
namespace report_detail {

bool next_code_point(std::string_view text, size_t& pos, char32_t& code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(pos);
  if (first < 0x80) {
    code_point = first;
    ++pos;
    return true;
  }
  size_t length = 0;
  char32_t minimum = 0;
  char32_t value = 0;
  if ((first & 0xE0) == 0xC0) {
    length = 2;
    minimum = 0x80;
    value = first & 0x1F;
  } else if ((first & 0xF0) == 0xE0) {
    length = 3;
    minimum = 0x800;
    value = first & 0x0F;
  } else if ((first & 0xF8) == 0xF0) {
    length = 4;
    minimum = 0x10000;
    value = first & 0x07;
  }
  bool valid = length != 0 && pos + length <= text.size();
  for (size_t i = 1; valid && i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) valid = false;
    value = (value << 6) | (next & 0x3F);
  }
  if (valid && (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))) {
    valid = false;
  }
  if (!valid) {
    code_point = kReplacement;
    ++pos;
    return false;
  }
  code_point = value;
  pos += length;
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    char32_t cp = 0;
    if (next_code_point(text, pos, cp)) {
      out.append(text.substr(start, pos - start));
    } else {
      append_utf8(out, kReplacement);
    }
  }
  return out;
}

namespace {

OrderedJson to_ordered_at(const nlohmann::json& value, int depth) {
  using Type = nlohmann::json::value_t;
  if ((value.is_object() || value.is_array()) && depth >= kMaxValueDepth) {
    return std::string(kTooDeep);
  }
  switch (value.type()) {
    case Type::object: {
      OrderedJson out = OrderedJson::object();
      for (const auto& [key, member] : value.items()) {
        out[sanitize_utf8(key)] = to_ordered_at(member, depth + 1);
      }
      return out;
    }
    case Type::array: {
      OrderedJson out = OrderedJson::array();
      for (const auto& element : value) out.push_back(to_ordered_at(element, depth + 1));
      return out;
    }
    case Type::string:
      return sanitize_utf8(value.get_ref<const std::string&>());
    case Type::boolean:
      return value.get<bool>();
    case Type::number_integer:
      return value.get<std::int64_t>();
    case Type::number_unsigned:
      return value.get<std::uint64_t>();
    case Type::number_float: {
      const double number = value.get<double>();
      if (!std::isfinite(number)) return nullptr;  // JSON has no NaN or infinity
      return number;
    }
    case Type::null:
    case Type::binary:
    case Type::discarded:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

OrderedJson to_ordered(const nlohmann::json& value) {
  return to_ordered_at(value, 0);
}

OrderedJson evidence_json(const Evidence& evidence) {
  // The members of Evidence::to_json(), built here without copying `data` recursively.
  OrderedJson out = OrderedJson::object();
  out["status"] = evidence.status;
  out["data"] = to_ordered(evidence.data);
  out["timestamp"] = format_rfc3339(evidence.timestamp);
  if (evidence.error) {
    OrderedJson error = OrderedJson::object();
    error["code"] = sanitize_utf8(evidence.error->code);
    error["message"] = sanitize_utf8(evidence.error->message);
    if (!evidence.error->type.empty()) error["type"] = sanitize_utf8(evidence.error->type);
    out["error"] = std::move(error);
  }
  return out;
}

OrderedJson observation_json(const ObservationResult& observation) {
  OrderedJson out = OrderedJson::object();
  out["plugin"] = sanitize_utf8(observation.plugin);
  out["config"] = to_ordered(observation.config);
  out["status"] = std::string(to_string(observation.status));
  out["evidence"] = observation.evidence ? evidence_json(*observation.evidence) : OrderedJson();
  if (observation.error) {
    OrderedJson error = OrderedJson::object();
    error["code"] = std::string(to_string(observation.error->code));
    error["message"] = sanitize_utf8(observation.error->message);
    out["error"] = std::move(error);
  } else {
    out["error"] = nullptr;
  }
  OrderedJson expectations = OrderedJson::array();
  for (const ExpectationResult& expectation : observation.expectations) {
    OrderedJson entry = OrderedJson::object();
    entry["expression"] = sanitize_utf8(expectation.expression);
    entry["passed"] = expectation.passed;
    if (!expectation.error.empty()) entry["error"] = sanitize_utf8(expectation.error);
    expectations.push_back(std::move(entry));
  }
  out["expectations"] = std::move(expectations);
  out["duration_ms"] = observation.duration.count();
  return out;
}

OrderedJson observations_json(const ControlResult& control) {
  OrderedJson out = OrderedJson::array();
  for (const ObservationResult& observation : control.observations) {
    out.push_back(observation_json(observation));
  }
  return out;
}

std::string profile_path_text(const RunResult& run) {
  return sanitize_utf8(run.profile_path.generic_string());
}

OrderedJson profile_json(const RunResult& run) {
  OrderedJson out = OrderedJson::object();
  out["name"] = sanitize_utf8(run.profile_name);
  out["version"] = sanitize_utf8(run.profile_version);
  out["description"] = sanitize_utf8(run.profile_description);
  const std::string path = profile_path_text(run);
  out["path"] = path.empty() ? OrderedJson() : OrderedJson(path);
  return out;
}

OrderedJson summary_json(const Summary& summary) {
  OrderedJson out = OrderedJson::object();
  out["total"] = summary.total;
  out["passed"] = summary.passed;
  out["failed"] = summary.failed;
  out["error"] = summary.errored;
  out["skipped"] = summary.skipped;
  return out;
}

OrderedJson report_document(const RunResult& run) {
  OrderedJson out = OrderedJson::object();
  out["profile"] = profile_json(run);
  out["reglet_version"] = sanitize_utf8(run.reglet_version);
  out["started"] = format_rfc3339(run.started);
  out["duration_ms"] = run.duration.count();
  out["summary"] = summary_json(summarize(run.controls));
  OrderedJson controls = OrderedJson::array();
  for (const ControlResult& control : run.controls) {
    OrderedJson entry = OrderedJson::object();
    entry["id"] = sanitize_utf8(control.id);
    entry["name"] = sanitize_utf8(control.name);
    entry["description"] = sanitize_utf8(control.description);
    entry["severity"] = std::string(to_string(control.severity));
    entry["owner"] = sanitize_utf8(control.owner);
    OrderedJson tags = OrderedJson::array();
    for (const std::string& tag : control.tags) tags.push_back(sanitize_utf8(tag));
    entry["tags"] = std::move(tags);
    entry["status"] = std::string(to_string(control.status));
    entry["message"] = sanitize_utf8(control.message);
    entry["duration_ms"] = control.duration.count();
    // Only when retries were used, so that reports of profiles without retries stay as they were.
    if (control.attempts > 1) entry["attempts"] = control.attempts;
    entry["observations"] = observations_json(control);
    controls.push_back(std::move(entry));
  }
  out["controls"] = std::move(controls);
  return out;
}

std::string dump_json(const OrderedJson& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, OrderedJson::error_handler_t::replace);
}

std::string format_seconds(std::chrono::milliseconds duration, int decimals) {
  long long ms = duration.count();
  const bool negative = ms < 0;
  if (negative) ms = -ms;
  if (decimals < 0) decimals = 0;
  if (decimals > 3) decimals = 3;
  long long scale = 1;  // 10^(3 - decimals)
  for (int i = decimals; i < 3; ++i) scale *= 10;
  const long long units = (ms + scale / 2) / scale;  // in 10^-decimals seconds
  long long divisor = 1;
  for (int i = 0; i < decimals; ++i) divisor *= 10;
  std::string out = negative ? "-" : "";
  out += std::to_string(units / divisor);
  if (decimals > 0) {
    std::string fraction = std::to_string(units % divisor);
    out += "." + std::string(static_cast<size_t>(decimals) - fraction.size(), '0') + fraction;
  }
  return out;
}

std::string first_failure(const ControlResult& control) {
  std::string first;
  size_t count = 0;
  for (const ObservationResult& observation : control.observations) {
    bool any_expectation_failed = false;
    for (const ExpectationResult& expectation : observation.expectations) {
      if (expectation.passed || !expectation.error.empty()) continue;
      any_expectation_failed = true;
      if (count++ == 0) first = "failed: " + sanitize_utf8(expectation.expression);
    }
    if (!any_expectation_failed && observation.status == Status::fail &&
        observation.expectations.empty()) {
      if (count++ == 0) {
        first = "failed: plugin " + sanitize_utf8(observation.plugin) + " reported status false";
      }
    }
  }
  if (count > 1) first += " (and " + std::to_string(count - 1) + " more)";
  return first;
}

std::string first_error(const ControlResult& control, std::string* code) {
  for (const ObservationResult& observation : control.observations) {
    if (observation.error) {
      if (code) *code = std::string(to_string(observation.error->code));
      return std::string(to_string(observation.error->code)) + ": " +
             sanitize_utf8(observation.error->message);
    }
    if (observation.evidence && observation.evidence->error) {
      const PluginError& error = *observation.evidence->error;
      const std::string error_code =
          error.code.empty() ? "plugin_error" : sanitize_utf8(error.code);
      if (code) *code = error_code;
      return error_code + ": " + sanitize_utf8(error.message);
    }
    for (const ExpectationResult& expectation : observation.expectations) {
      if (expectation.error.empty()) continue;
      if (code) *code = "expression_error";
      return "error in " + sanitize_utf8(expectation.expression) + ": " +
             sanitize_utf8(expectation.error);
    }
  }
  return "";
}

namespace {

// What is returned when rendering itself failed (in practice: out of memory).
std::string fallback_report(ReportFormat format, std::string_view what) {
  std::string message = "cannot render the report: ";
  for (char c : what) {  // keep it printable ASCII so no format needs escaping beyond quotes
    message += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '&') ? c : '?';
  }
  switch (format) {
    case ReportFormat::json:
    case ReportFormat::sarif:
      return "{\"error\": {\"code\": \"internal\", \"message\": \"" + message + "\"}}\n";
    case ReportFormat::yaml:
      return "error:\n  code: internal\n  message: \"" + message + "\"\n";
    case ReportFormat::junit:
      return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<testsuites name=\"reglet\" tests=\"1\" failures=\"0\" errors=\"1\">\n"
             "  <testsuite name=\"reglet\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n"
             "    <testcase classname=\"reglet\" name=\"report\">\n"
             "      <error message=\"" +
             message +
             "\" type=\"internal\"/>\n"
             "    </testcase>\n"
             "  </testsuite>\n"
             "</testsuites>\n";
    case ReportFormat::table:
      break;
  }
  return "reglet: " + message + "\n";
}

}  // namespace
}  // namespace report_detail

std::optional<ReportFormat> report_format_from_string(std::string_view text) {
  if (text == "table") return ReportFormat::table;
  if (text == "json") return ReportFormat::json;
  if (text == "yaml") return ReportFormat::yaml;
  if (text == "junit") return ReportFormat::junit;
  if (text == "sarif") return ReportFormat::sarif;
  return std::nullopt;
}

std::string_view to_string(ReportFormat format) {
  switch (format) {
    case ReportFormat::table:
      return "table";
    case ReportFormat::json:
      return "json";
    case ReportFormat::yaml:
      return "yaml";
    case ReportFormat::junit:
      return "junit";
    case ReportFormat::sarif:
      return "sarif";
  }
  return "table";
}

std::string render_report(const RunResult& run, ReportFormat format, const ReportOptions& options) {
  char what[256] = "unknown error";
  try {
    switch (format) {
      case ReportFormat::table:
        return report_detail::render_table(run, options);
      case ReportFormat::json:
        return report_detail::render_json(run);
      case ReportFormat::yaml:
        return report_detail::render_yaml(run);
      case ReportFormat::junit:
        return report_detail::render_junit(run);
      case ReportFormat::sarif:
        return report_detail::render_sarif(run);
    }
    return report_detail::render_table(run, options);
  } catch (const std::exception& error) {
    std::snprintf(what, sizeof what, "%s", error.what());
  } catch (...) {
  }
  try {
    return report_detail::fallback_report(format, what);
  } catch (...) {
    return {};
  }
}

}  // namespace reglet::check
