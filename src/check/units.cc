#include "check/units.h"

#include <cctype>
#include <cmath>
#include <string>

namespace reglet::check {
namespace {

Error bad_duration(std::string_view text, std::string_view why) {
  return make_error(ErrorCode::invalid_argument, "invalid duration \"" + std::string(text) +
                                                     "\": " + std::string(why) +
                                                     " (examples: 30s, 500ms, 1m30s, 2h)");
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return bad_duration(text, "empty");
  // A bare number is seconds, as Reglet's profiles write "timeout: 30".
  bool bare = true;
  for (char c : text) bare = bare && (std::isdigit(static_cast<unsigned char>(c)) || c == '.');
  std::string unit_text = bare ? std::string(text) + "s" : std::string(text);

  double total_ms = 0;
  size_t i = 0;
  bool any = false;
  while (i < unit_text.size()) {
    size_t start = i;
    while (i < unit_text.size() &&
           (std::isdigit(static_cast<unsigned char>(unit_text[i])) || unit_text[i] == '.')) {
      ++i;
    }
    if (start == i) return bad_duration(text, "expected a number");
    double value = 0;
    try {
      value = std::stod(unit_text.substr(start, i - start));
    } catch (...) {
      return bad_duration(text, "bad number");
    }
    size_t unit_start = i;
    while (i < unit_text.size() && std::isalpha(static_cast<unsigned char>(unit_text[i]))) ++i;
    std::string_view unit(unit_text.data() + unit_start, i - unit_start);
    double factor;
    if (unit == "ms") factor = 1;
    else if (unit == "s") factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "us" || unit == "µs") factor = 0.001;
    else return bad_duration(text, unit.empty() ? "missing unit" : "unknown unit");
    total_ms += value * factor;
    any = true;
  }
  if (!any) return bad_duration(text, "empty");
  if (!(total_ms >= 0) || total_ms > 1e12) return bad_duration(text, "out of range");
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

Result<uint64_t> parse_size(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::invalid_argument, "invalid size \"" + std::string(text) +
                                                       "\": " + std::string(why) +
                                                       " (examples: 256MiB, 64M, 1G, 4096)");
  };
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return bad("expected a number");
  if (i > 15) return bad("too large");
  uint64_t value = std::stoull(std::string(text.substr(0, i)));
  std::string unit;
  for (char c : text.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint64_t factor;
  if (unit.empty() || unit == "b") factor = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") factor = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") factor = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") factor = 1ull << 30;
  else return bad("unknown unit");
  if (value > (UINT64_MAX / factor)) return bad("too large");
  return value * factor;
}

}  // namespace reglet::check
