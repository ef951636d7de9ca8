// The json and yaml reports: one document, two syntaxes.
#include <yaml-cpp/yaml.h>

#include <stdexcept>

#include "check/report_internal.h"

namespace reglet::check::report_detail {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Plain scalars that YAML 1.1 (yes/no/on/off, sexagesimal, dates, merge keys) or YAML 1.2 core
// would resolve to something other than a string.
bool resolves_to_non_string(std::string_view text) {
  static constexpr std::string_view kWords[] = {
      "y",    "Y",    "yes",  "Yes",   "YES",   "n",     "N",  "no", "No", "NO",
      "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off",
      "Off",  "OFF",  "~",    "null",  "Null",  "NULL",  "<<", "=",
  };
  for (std::string_view word : kWords) {
    if (text == word) return true;
  }
  if (text.empty()) return true;
  if (is_digit(text[0])) return true;  // numbers of every base, times, dates
  if (text.size() > 1 && (text[0] == '+' || text[0] == '-' || text[0] == '.')) {
    const char second = text[1];
    if (is_digit(second) || second == '.') return true;  // -1, +.5, -.inf
    if (text[0] == '.' && (second == 'i' || second == 'I' || second == 'n' || second == 'N')) {
      return true;  // .inf, .nan (and a few harmless look-alikes)
    }
  }
  return false;
}

struct Characters {
  bool unusual = false;     // needs double quotes to survive every reader
  bool line_break = false;  // U+2028/U+2029: only safe escaped
};

Characters scan_characters(std::string_view text) {
  Characters result;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    next_code_point(text, pos, cp);
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF) {
      result.unusual = true;
    } else if (cp == 0x2028 || cp == 0x2029) {
      result.unusual = true;
      result.line_break = true;
    }
  }
  return result;
}

void emit_string(YAML::Emitter& out, const std::string& text) {
  const Characters characters = scan_characters(text);
  if (characters.line_break) {
    // yaml-cpp writes U+2028/U+2029 raw even in double quotes, where YAML 1.1 readers take them
    // for line breaks; escape non-ASCII for this one scalar.
    out << YAML::EscapeNonAscii << YAML::DoubleQuoted << text << YAML::EmitNonAscii;
  } else if (characters.unusual || resolves_to_non_string(text)) {
    out << YAML::DoubleQuoted << text;
  } else {
    out << text;  // yaml-cpp quotes what YAML syntax needs (": ", "#", leading "-", ...)
  }
}

void emit_key(YAML::Emitter& out, const std::string& key) {
  // YAML limits implicit keys to 1024 characters; longer ones need the explicit "? " form.
  if (key.size() > 1000) out << YAML::LongKey;
  out << YAML::Key;
  emit_string(out, key);
  out << YAML::Value;
}

void emit(YAML::Emitter& out, const OrderedJson& value) {
  using Type = OrderedJson::value_t;
  switch (value.type()) {
    case Type::object:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, member] : value.items()) {
        emit_key(out, key);
        emit(out, member);
      }
      out << YAML::EndMap;
      return;
    case Type::array:
      if (value.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& element : value) emit(out, element);
      out << YAML::EndSeq;
      return;
    case Type::string:
      emit_string(out, value.get_ref<const std::string&>());
      return;
    case Type::boolean:
      out << (value.get<bool>() ? "true" : "false");
      return;
    case Type::number_integer:
    case Type::number_unsigned:
    case Type::number_float:
      // JSON's shortest round-trip form ("0.1", not yaml-cpp's "0.10000000000000001"); always a
      // valid plain scalar.
      out << dump_json(value, -1);
      return;
    case Type::null:
    case Type::binary:
    case Type::discarded:
      out << YAML::Null;
      return;
  }
}

}  // namespace

std::string render_json(const RunResult& run) {
  return dump_json(report_document(run), 2) + "\n";
}

std::string render_yaml(const RunResult& run) {
  const OrderedJson document = report_document(run);
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, document);
  if (!out.good()) throw std::runtime_error("yaml: " + out.GetLastError());
  return std::string(out.c_str(), out.size()) + "\n";
}

}  // namespace reglet::check::report_detail
