// The junit report: JUnit XML as Jenkins, GitLab and GitHub test reporters read it.
#include "check/report_internal.h"

namespace reglet::check::report_detail {
namespace {

// Whether XML 1.0 allows the character at all (§2.2 Char), even as a reference.
bool allowed_in_xml(char32_t cp) {
  if (cp < 0x20) return cp == 0x9 || cp == 0xA || cp == 0xD;
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  return cp != 0xFFFE && cp != 0xFFFF;
}

// `text` escaped for XML character data (attribute = false) or a double-quoted attribute value.
// Invalid UTF-8 and characters XML 1.0 forbids become U+FFFD. In attributes, tab, LF and CR are
// written as references so that attribute-value normalization keeps them; in character data CR
// is (a raw CR would be read as a line feed). Quotes need escaping only in attributes.
std::string xml_escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    char32_t cp = 0;
    if (!next_code_point(text, pos, cp) || !allowed_in_xml(cp)) {
      append_utf8(out, kReplacement);
      continue;
    }
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += attribute ? "&quot;" : "\"";
        break;
      case '\'':
        out += attribute ? "&apos;" : "'";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      default:
        out.append(text.substr(start, pos - start));
    }
  }
  return out;
}

std::string attr(std::string_view name, std::string_view value) {
  return " " + std::string(name) + "=\"" + xml_escape(value, true) + "\"";
}

std::string property(std::string_view indent, std::string_view name, std::string_view value) {
  return std::string(indent) + "<property" + attr("name", name) + attr("value", value) + "/>\n";
}

std::string indent_lines(std::string_view text, std::string_view indent) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    out += std::string(indent) + std::string(line) + "\n";
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

// What went wrong in each observation that did not pass, with its config and evidence.
std::string details(const ControlResult& control) {
  std::string out;
  for (size_t i = 0; i < control.observations.size(); ++i) {
    const ObservationResult& observation = control.observations[i];
    if (observation.status == Status::pass) continue;
    out += "observation " + std::to_string(i + 1) + " (" + sanitize_utf8(observation.plugin) +
           "): " + std::string(to_string(observation.status)) + "\n";
    if (!observation.config.is_null() && !observation.config.empty()) {
      out += "  config: " + dump_json(to_ordered(observation.config), -1) + "\n";
    }
    if (observation.error) {
      out += "  error: " + std::string(to_string(observation.error->code)) + ": " +
             sanitize_utf8(observation.error->message) + "\n";
    }
    for (const ExpectationResult& expectation : observation.expectations) {
      if (!expectation.error.empty()) {
        out += "  error in " + sanitize_utf8(expectation.expression) + ": " +
               sanitize_utf8(expectation.error) + "\n";
      } else if (!expectation.passed) {
        out += "  failed: " + sanitize_utf8(expectation.expression) + "\n";
      }
    }
    if (observation.expectations.empty() && observation.status == Status::fail) {
      out += "  failed: plugin " + sanitize_utf8(observation.plugin) + " reported status false\n";
    }
    if (observation.evidence) {
      out += "  evidence:\n" +
             indent_lines(dump_json(evidence_json(*observation.evidence), 2), "    ");
    }
  }
  if (out.empty() && !control.message.empty()) out = sanitize_utf8(control.message) + "\n";
  return out;
}

std::string counts(const Summary& summary, std::chrono::milliseconds duration) {
  return attr("tests", std::to_string(summary.total)) +
         attr("failures", std::to_string(summary.failed)) +
         attr("errors", std::to_string(summary.errored)) +
         attr("skipped", std::to_string(summary.skipped)) +
         attr("time", format_seconds(duration, 3));
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& tag : tags) {
    if (!out.empty()) out += ',';
    out += tag;
  }
  return out;
}

}  // namespace

std::string render_junit(const RunResult& run) {
  const Summary summary = summarize(run.controls);
  const std::string suite = run.profile_name.empty() ? "reglet" : run.profile_name;
  const std::string classname = run.profile_name.empty() ? "reglet" : "reglet." + run.profile_name;
  // JUnit's timestamp is an ISO 8601 date-time without a zone; ours is UTC.
  const std::string timestamp = format_rfc3339(run.started).substr(0, 19);

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites" + attr("name", "reglet") + counts(summary, run.duration) + ">\n";
  out += "  <testsuite" + attr("name", suite) + counts(summary, run.duration) +
         attr("timestamp", timestamp) + ">\n";
  out += "    <properties>\n";
  if (!run.profile_version.empty())
    out += property("      ", "profile.version", run.profile_version);
  if (const std::string path = profile_path_text(run); !path.empty()) {
    out += property("      ", "profile.path", path);
  }
  out += property("      ", "reglet.version", run.reglet_version);
  out += "    </properties>\n";

  for (const ControlResult& control : run.controls) {
    const std::string name = control.name.empty() ? control.id : control.id + ": " + control.name;
    out += "    <testcase" + attr("classname", classname) + attr("name", name) +
           attr("time", format_seconds(control.duration, 3)) + ">\n";
    out += "      <properties>\n";
    out += property("        ", "severity", to_string(control.severity));
    if (!control.owner.empty()) out += property("        ", "owner", control.owner);
    if (!control.tags.empty()) out += property("        ", "tags", join_tags(control.tags));
    if (control.attempts > 1) {
      out += property("        ", "attempts", std::to_string(control.attempts));
    }
    out += "      </properties>\n";
    switch (control.status) {
      case Status::pass:
        break;
      case Status::fail: {
        const std::string message =
            control.message.empty() ? first_failure(control) : control.message;
        out += "      <failure" + attr("message", message) + attr("type", "expectation_failed") +
               ">" + xml_escape(details(control), false) + "</failure>\n";
        break;
      }
      case Status::error: {
        std::string code;
        const std::string first = first_error(control, &code);
        const std::string message = control.message.empty() ? first : control.message;
        out += "      <error" + attr("message", message) +
               attr("type", code.empty() ? "error" : code) + ">" +
               xml_escape(details(control), false) + "</error>\n";
        break;
      }
      case Status::skipped:
        out += "      <skipped" + attr("message", control.message) + "/>\n";
        break;
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n";
  out += "</testsuites>\n";
  return out;
}

}  // namespace reglet::check::report_detail
