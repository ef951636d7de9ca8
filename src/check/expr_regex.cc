// Regular expressions for `matches`: std::regex ECMAScript with guards.
//
// libstdc++'s std::regex has two hazards on untrusted patterns and subjects: its default
// backtracking executor recurses once per character (a long stdout overflows the stack) and can
// take exponential time; and its NFA compiler and epsilon-closure walk recurse in proportion to
// the pattern's expanded size. So:
//   - the polynomial (breadth-first) executor is selected with regex_constants::__polynomial
//     (which also rejects back-references, like Go's RE2);
//   - a search is run as ONE regex_match of `[\s\S]*?(?:P)[\s\S]*`, so the subject is scanned
//     once (a loop of searches from each start position would be quadratic);
//   - patterns are limited in length, group nesting, repetition counts and the estimated size of
//     the expanded automaton before std::regex sees them.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "check/expr_internal.h"

namespace reglet::check::expr_detail {
namespace {

constexpr std::size_t kMaxPatternBytes = 8 * 1024;
constexpr int kMaxGroupNesting = 100;
constexpr std::uint64_t kMaxRepeat = 1000;  // RE2's limit too
constexpr std::uint64_t kMaxExpandedSize = 4000;

Error regex_error(std::string_view pattern, std::string_view why) {
  return make_error(
      ErrorCode::invalid_argument,
      "invalid regular expression \"" + std::string(pattern) + "\": " + std::string(why));
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
  return a * b;
}

// Estimates the number of NFA states `body` expands to (counted repetitions copy their
// operand). Malformed syntax is left for std::regex to report.
std::optional<std::string> check_complexity(std::string_view body) {
  struct Group {
    std::uint64_t size = 0;
    std::uint64_t last = 0;  // size of the last atom, which a quantifier multiplies
  };
  std::vector<Group> groups(1);
  auto add_atom = [&](std::uint64_t size) {
    groups.back().size += size;
    groups.back().last = size;
  };
  auto multiply_last = [&](std::uint64_t factor) {
    Group& g = groups.back();
    std::uint64_t grown = saturating_mul(g.last, factor);
    g.size = g.size - g.last + grown;
    g.last = grown;
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    switch (c) {
      case '\\':
        if (i + 1 < body.size() && body[i + 1] >= '1' && body[i + 1] <= '9') {
          return "back-references are not supported";
        }
        ++i;
        add_atom(1);
        break;
      case '[': {
        std::size_t j = i + 1;
        if (j < body.size() && body[j] == '^') ++j;
        while (j < body.size() && body[j] != ']') {
          if (body[j] == '\\') ++j;
          ++j;
        }
        i = j;
        add_atom(1);
        break;
      }
      case '(':
        if (static_cast<int>(groups.size()) > kMaxGroupNesting) {
          return "groups are nested too deeply";
        }
        groups.emplace_back();
        break;
      case ')':
        if (groups.size() > 1) {
          std::uint64_t size = groups.back().size + 2;
          groups.pop_back();
          add_atom(size);
        }
        break;
      case '*':
      case '+':
      case '?':
        multiply_last(2);
        break;
      case '{': {
        // {n}, {n,} or {n,m}; anything else is a literal brace (or std::regex's error).
        std::size_t j = i + 1;
        auto number = [&](std::uint64_t& out) {
          bool any = false;
          out = 0;
          while (j < body.size() && body[j] >= '0' && body[j] <= '9') {
            out = std::min<std::uint64_t>(out * 10 + static_cast<std::uint64_t>(body[j] - '0'),
                                          kMaxRepeat + 1);
            any = true;
            ++j;
          }
          return any;
        };
        std::uint64_t low = 0;
        std::uint64_t high = 0;
        bool has_low = number(low);
        bool comma = j < body.size() && body[j] == ',';
        bool has_high = false;
        if (comma) {
          ++j;
          has_high = number(high);
        }
        if (has_low && j < body.size() && body[j] == '}') {
          if (low > kMaxRepeat || high > kMaxRepeat) return "repetition count exceeds 1000";
          std::uint64_t factor = !comma ? low : has_high ? high : low + 1;
          multiply_last(factor == 0 ? 1 : factor);
          i = j;
        } else {
          add_atom(1);
        }
        break;
      }
      default:
        add_atom(1);
        break;
    }
    std::uint64_t total = 0;
    for (const Group& g : groups) total += g.size;
    if (total > kMaxExpandedSize || groups.back().size > kMaxExpandedSize) {
      return "pattern is too complex (expands to more than 4000 states)";
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::shared_ptr<const Regex>> compile_regex(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes) return regex_error(pattern.substr(0, 40), "too long");
  auto flags = std::regex::ECMAScript;
#if defined(__GLIBCXX__)
  flags |= std::regex_constants::__polynomial;
#endif
  std::string_view body = pattern;
  // Go's leading flag group, e.g. "(?i)linux". Only flags with an ECMAScript equivalent.
  if (body.size() >= 3 && body.substr(0, 2) == "(?") {
    std::size_t close = body.find(')');
    std::string_view letters = body.substr(2, close == std::string_view::npos ? 0 : close - 2);
    bool all_letters = close != std::string_view::npos && !letters.empty() &&
                       letters.find_first_not_of("imsU") == std::string_view::npos;
    if (all_letters) {
      for (char f : letters) {
        if (f == 'i') {
          flags |= std::regex::icase;
        } else if (f == 'm') {
          flags |= std::regex::multiline;
        } else {
          return regex_error(pattern, std::string("flag '") + f + "' is not supported");
        }
      }
      body.remove_prefix(close + 1);
    }
  }
  if (auto why = check_complexity(body)) return regex_error(pattern, *why);
  try {
    // Validate the pattern on its own: wrapping could hide an unbalanced ')' like "a)|(b".
    std::regex plain(body.begin(), body.end(), flags);
    (void)plain;
    std::string wrapped = "[\\s\\S]*?(?:";
    wrapped.append(body);
    wrapped += ")[\\s\\S]*";
    auto compiled = std::make_shared<Regex>();
    compiled->pattern = std::string(pattern);
    compiled->re = std::regex(wrapped, flags);
    return std::shared_ptr<const Regex>(std::move(compiled));
  } catch (const std::regex_error& e) {
    return regex_error(pattern, e.what());
  }
}

}  // namespace reglet::check::expr_detail
