// The table report: what people read on a terminal.
#include <algorithm>
#include <vector>

#include "check/report_internal.h"

namespace reglet::check::report_detail {
namespace {

constexpr size_t kTerminalWidth = 80;
constexpr size_t kMaxIdColumn = 40;
constexpr size_t kMinNameWidth = 12;
constexpr size_t kMinValueWidth = 20;
constexpr size_t kDetailIndent = 4;
constexpr std::string_view kEllipsis = "…";

constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kBold = "\033[1m";
constexpr std::string_view kGreen = "\033[32m";
constexpr std::string_view kRed = "\033[31m";
constexpr std::string_view kYellow = "\033[33m";
constexpr std::string_view kGrey = "\033[90m";

// ---- terminal text ------------------------------------------------------------------------------

bool is_unsafe_for_terminal(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||  // C0, DEL, C1 (0x9B is CSI)
         (cp >= 0x202A && cp <= 0x202E) ||           // bidi embeddings and overrides
         (cp >= 0x2066 && cp <= 0x2069) ||           // bidi isolates
         cp == 0x2028 || cp == 0x2029;               // line and paragraph separators
}

// Valid UTF-8 that cannot move the cursor, change colours or reorder text: tabs and line
// breaks become spaces, other control characters U+FFFD.
std::string terminal_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    char32_t cp = 0;
    if (!next_code_point(text, pos, cp)) {
      append_utf8(out, kReplacement);
    } else if (cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x2028 || cp == 0x2029) {
      out += ' ';
    } else if (is_unsafe_for_terminal(cp)) {
      append_utf8(out, kReplacement);
    } else {
      out.append(text.substr(start, pos - start));
    }
  }
  return out;
}

// Columns a code point takes on a terminal (a small wcwidth: combining marks 0, East Asian wide
// and emoji 2, everything else 1).
size_t code_point_width(char32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
      (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x200B && cp <= 0x200F) ||
      (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
      (cp >= 0xFE20 && cp <= 0xFE2F)) {
    return 0;
  }
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

size_t display_width(std::string_view text) {
  size_t width = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    next_code_point(text, pos, cp);
    width += code_point_width(cp);
  }
  return width;
}

// `text` cut to at most `width` columns, ending in "…" when cut.
std::string truncate(std::string_view text, size_t width) {
  if (display_width(text) <= width) return std::string(text);
  if (width == 0) return "";
  size_t used = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t next = pos;
    char32_t cp = 0;
    next_code_point(text, next, cp);
    const size_t w = code_point_width(cp);
    if (used + w > width - 1) break;
    used += w;
    pos = next;
  }
  return std::string(text.substr(0, pos)) + std::string(kEllipsis);
}

std::string pad(std::string_view text, size_t width) {
  std::string out(text);
  const size_t used = display_width(text);
  if (used < width) out.append(width - used, ' ');
  return out;
}

// Words of `text` wrapped to `width` columns; continuation lines indented by `hanging` more.
void append_wrapped(std::string& out, std::string_view text, size_t indent, size_t hanging) {
  const size_t first_width = kTerminalWidth > indent ? kTerminalWidth - indent : 1;
  size_t line_width = first_width;
  std::string line;
  size_t line_used = 0;
  bool first_line = true;
  const auto flush = [&] {
    out.append(first_line ? indent : indent + hanging, ' ');
    out += line;
    out += '\n';
    line.clear();
    line_used = 0;
    first_line = false;
    line_width = first_width > hanging ? first_width - hanging : 1;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t space = text.find(' ', pos);
    const std::string_view word =
        text.substr(pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    pos = space == std::string_view::npos ? text.size() : space + 1;
    if (word.empty()) continue;
    std::string_view rest = word;
    while (!rest.empty()) {
      const size_t w = display_width(rest);
      const size_t needed = line_used == 0 ? w : line_used + 1 + w;
      if (needed <= line_width) {
        if (line_used > 0) line += ' ';
        line += rest;
        line_used = needed;
        break;
      }
      if (line_used > 0) {
        flush();
        continue;
      }
      // A word longer than a line: cut it at the line width.
      size_t cut = 0;
      size_t used = 0;
      while (cut < rest.size()) {
        size_t next = cut;
        char32_t cp = 0;
        next_code_point(rest, next, cp);
        const size_t cw = code_point_width(cp);
        if (used + cw > line_width && cut > 0) break;
        used += cw;
        cut = next;
      }
      line += rest.substr(0, cut);
      line_used = used;
      rest = rest.substr(cut);
      if (!rest.empty()) flush();
    }
  }
  if (line_used > 0 || first_line) flush();
}

// ---- names an expression refers to
// ----------------------------------------------------------------

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

bool is_keyword(std::string_view word) {
  static constexpr std::string_view kKeywords[] = {
      "and",      "or",      "not",  "in",    "contains", "startsWith",
      "endsWith", "matches", "true", "false", "nil",      "let",
  };
  return std::find(std::begin(kKeywords), std::end(kKeywords), word) != std::end(kKeywords);
}

// The variable paths an expectation reads ("data.mode", "exit_code", "status"), in order of
// appearance, without duplicates. A lexical scan: string literals and comments are skipped,
// function names, keywords and members of non-variables (`f(x).y`, `#.y`) are left out; a path
// stops at an index (`data.items[0]` gives `data.items`).
std::vector<std::vector<std::string>> referenced_paths(std::string_view source) {
  std::vector<std::vector<std::string>> paths;
  size_t i = 0;
  const size_t n = source.size();
  const auto previous_significant = [&](size_t at) -> char {
    while (at > 0) {
      const char c = source[--at];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return c;
    }
    return '\0';
  };
  while (i < n) {
    const char c = source[i];
    if (c == '"' || c == '\'') {
      for (++i; i < n && source[i] != c; ++i) {
        if (source[i] == '\\') ++i;
      }
      ++i;
    } else if (c == '`') {
      const size_t end = source.find('`', i + 1);
      i = end == std::string_view::npos ? n : end + 1;
    } else if (c == '/' && i + 1 < n && source[i + 1] == '/') {
      const size_t end = source.find('\n', i);
      i = end == std::string_view::npos ? n : end + 1;
    } else if (c == '/' && i + 1 < n && source[i + 1] == '*') {
      const size_t end = source.find("*/", i + 2);
      i = end == std::string_view::npos ? n : end + 2;
    } else if ((c >= '0' && c <= '9') ||
               (c == '.' && i + 1 < n && source[i + 1] >= '0' && source[i + 1] <= '9')) {
      while (i < n && (is_name_char(source[i]) || source[i] == '.')) ++i;  // a number
    } else if (is_name_start(c)) {
      const char before = previous_significant(i);
      std::vector<std::string> path;
      for (;;) {
        const size_t start = i;
        while (i < n && is_name_char(source[i])) ++i;
        path.emplace_back(source.substr(start, i - start));
        size_t next = i;
        if (next + 1 < n && source[next] == '?' && source[next + 1] == '.') ++next;
        if (next + 1 < n && source[next] == '.' && is_name_start(source[next + 1])) {
          i = next + 1;
          continue;
        }
        break;
      }
      size_t after = i;
      while (after < n && (source[after] == ' ' || source[after] == '\t')) ++after;
      const bool call = after < n && source[after] == '(';
      const bool member_of_other = before == '.' || before == '#';
      if (member_of_other || (path.size() == 1 && (call || is_keyword(path[0])))) continue;
      if (std::find(paths.begin(), paths.end(), path) == paths.end()) {
        paths.push_back(std::move(path));
      }
    } else {
      ++i;
    }
  }
  return paths;
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& part : path) {
    if (!out.empty()) out += '.';
    out += part;
  }
  return out;
}

// The value of `path` in the evidence as expectations see it, or nullptr when it is not there.
const OrderedJson* lookup(const OrderedJson& evidence, const std::vector<std::string>& path) {
  const OrderedJson* current = nullptr;
  const std::string& head = path.front();
  if (head == "data" || head == "status" || head == "error" || head == "timestamp") {
    auto it = evidence.find(head);
    if (it == evidence.end()) return nullptr;
    current = &*it;
  } else {  // members of data are visible by their bare names
    auto data = evidence.find("data");
    if (data == evidence.end() || !data->is_object()) return nullptr;
    auto it = data->find(head);
    if (it == data->end()) return nullptr;
    current = &*it;
  }
  for (size_t i = 1; i < path.size(); ++i) {
    if (!current->is_object()) return nullptr;
    auto it = current->find(path[i]);
    if (it == current->end()) return nullptr;
    current = &*it;
  }
  return current;
}

// ---- rendering --------------------------------------------------------------------------------

class TableWriter {
 public:
  TableWriter(const RunResult& run, const ReportOptions& options) : run_(run), options_(options) {}

  std::string render() {
    if (!run_.profile_name.empty()) {
      std::string header = terminal_text(run_.profile_name);
      if (!run_.profile_version.empty()) header += " " + terminal_text(run_.profile_version);
      out_ += colored(truncate(header, kTerminalWidth), kBold) + "\n\n";
    }
    severity_width_ = 0;
    id_width_ = 0;
    for (const ControlResult& control : run_.controls) {
      severity_width_ = std::max(severity_width_, to_string(control.severity).size());
      id_width_ = std::max(id_width_, display_width(terminal_text(control.id)));
    }
    id_width_ = std::min(id_width_, kMaxIdColumn);
    for (const ControlResult& control : run_.controls) write_control(control);
    if (!run_.controls.empty()) out_ += '\n';
    write_summary();
    return std::move(out_);
  }

 private:
  std::string colored(std::string_view text, std::string_view color) const {
    if (!options_.color) return std::string(text);
    return std::string(color) + std::string(text) + std::string(kReset);
  }

  std::string mark(Status status) const {
    switch (status) {
      case Status::pass:
        return colored("✓", kGreen);
      case Status::fail:
        return colored("✗", kRed);
      case Status::error:
        return colored("!", kYellow);
      case Status::skipped:
        return colored("-", kGrey);
    }
    return "?";
  }

  void write_control(const ControlResult& control) {
    const std::string id = terminal_text(control.id);
    const std::string name = terminal_text(control.name);
    std::string line = mark(control.status) + " ";
    line += pad(to_string(control.severity), severity_width_) + "  ";
    const size_t id_column = std::max(id_width_, display_width(id));
    if (name.empty()) {
      line += id;
    } else {
      line += pad(id, id_column) + "  ";
      const size_t used = 2 + severity_width_ + 2 + id_column + 2;
      const size_t room = used < kTerminalWidth ? kTerminalWidth - used : 0;
      line += truncate(name, std::max(room, kMinNameWidth));
    }
    out_ += line + "\n";
    if (control.status == Status::skipped) {
      const std::string why = terminal_text(control.message);
      detail(why.empty() ? "skipped" : "skipped: " + why);
      return;
    }
    if (control.attempts > 1) {
      detail(std::string(control.status == Status::pass ? "passed" : "gave up") + " after " +
             std::to_string(control.attempts) + " attempts");
    }
    if (control.status == Status::pass && !options_.verbose) return;
    const size_t written = out_.size();
    for (const ObservationResult& observation : control.observations) {
      // Several observations: say whose detail a line is (verbose mode has headings instead).
      const std::string prefix = control.observations.size() > 1 && !options_.verbose
                                     ? terminal_text(observation.plugin) + ": "
                                     : "";
      write_observation(observation, prefix);
    }
    if (out_.size() == written && !control.message.empty()) {
      const std::string message = terminal_text(control.message);
      if (control.status == Status::fail) detail("failed: " + message);
      if (control.status == Status::error) detail("error: " + message);
    }
  }

  void write_observation(const ObservationResult& observation, const std::string& prefix) {
    const OrderedJson evidence =
        observation.evidence ? evidence_json(*observation.evidence) : OrderedJson();
    const std::string plugin = terminal_text(observation.plugin);
    if (options_.verbose) {
      // A heading per observation, its details one level deeper.
      indent_ = kDetailIndent;
      detail(plugin + ": " + std::string(to_string(observation.status)) + " (" +
             std::to_string(observation.duration.count()) + " ms)");
      indent_ = kDetailIndent + 2;
    } else {
      indent_ = kDetailIndent;
    }
    if (observation.error) {
      detail(prefix + "error: " + std::string(to_string(observation.error->code)) + ": " +
             terminal_text(observation.error->message));
    } else if (observation.evidence && observation.evidence->error) {
      const PluginError& error = *observation.evidence->error;
      detail(prefix + "error: " + terminal_text(error.code.empty() ? "plugin_error" : error.code) +
             ": " + terminal_text(error.message));
    }
    for (const ExpectationResult& expectation : observation.expectations) {
      const std::string expression = terminal_text(expectation.expression);
      if (!expectation.error.empty()) {
        detail(prefix + "error in " + expression + ": " + terminal_text(expectation.error));
      } else if (!expectation.passed) {
        detail(prefix + "failed: " + expression);
      } else if (options_.verbose) {
        detail(prefix + "passed: " + expression);
      } else {
        continue;
      }
      if (observation.evidence) write_values(expectation.expression, evidence);
    }
    if (observation.expectations.empty() && observation.status == Status::fail &&
        observation.evidence) {
      detail(prefix + "failed: plugin " + plugin + " reported status false");
      value_line("data", evidence.contains("data") ? &evidence["data"] : nullptr);
    } else if (observation.expectations.empty() && options_.verbose && observation.evidence) {
      value_line("status", &evidence["status"]);
    }
    indent_ = kDetailIndent;
  }

  void write_values(const std::string& expression, const OrderedJson& evidence) {
    for (const std::vector<std::string>& path : referenced_paths(expression)) {
      value_line(join_path(path), lookup(evidence, path));
    }
  }

  void value_line(const std::string& name, const OrderedJson* value) {
    const std::string label = terminal_text(name);
    std::string line(indent_ + 2, ' ');
    if (value == nullptr) {
      line += label + ": not in the evidence";
      out_ += truncate(line, options_.verbose ? line.size() : kTerminalWidth) + "\n";
      return;
    }
    line += label + " = ";
    const std::string text = terminal_text(dump_json(*value, -1));
    if (options_.verbose) {
      line += text;
    } else {
      const size_t used = display_width(line);
      const size_t room = used < kTerminalWidth ? kTerminalWidth - used : 0;
      line += truncate(text, std::max(room, kMinValueWidth));
    }
    out_ += line + "\n";
  }

  // A detail line at the current indentation; long ones wrap, continuation lines indented
  // further than the evidence values below them.
  void detail(const std::string& text) { append_wrapped(out_, text, indent_, 4); }

  void write_summary() {
    const Summary summary = summarize(run_.controls);
    const auto count = [&](size_t number, std::string_view word, std::string_view color) {
      const std::string text = std::to_string(number) + " " + std::string(word);
      return number > 0 ? colored(text, color) : text;
    };
    std::string line =
        std::to_string(summary.total) + (summary.total == 1 ? " control: " : " controls: ");
    line += count(summary.passed, "passed", kGreen) + ", ";
    line += count(summary.failed, "failed", kRed) + ", ";
    line += count(summary.errored, summary.errored == 1 ? "error" : "errors", kYellow) + ", ";
    line += count(summary.skipped, "skipped", kGrey);
    line += " (" + format_seconds(run_.duration, 2) + " s)";
    out_ += line + "\n";
  }

  const RunResult& run_;
  const ReportOptions& options_;
  std::string out_;
  size_t severity_width_ = 0;
  size_t id_width_ = 0;
  size_t indent_ = kDetailIndent;
};

}  // namespace

std::string render_table(const RunResult& run, const ReportOptions& options) {
  return TableWriter(run, options).render();
}

}  // namespace reglet::check::report_detail
