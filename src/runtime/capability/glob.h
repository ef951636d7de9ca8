// Hand-written glob matching for capability patterns.
//
// fnmatch(3) is not used on purpose: its treatment of '/', leading dots, escapes and classes
// depends on flags and on the libc, and a security check must mean the same thing everywhere.
// The rules here are small and fixed:
//   - '*' matches any run of characters, '?' exactly one character (a whole UTF-8 sequence, so
//     that "caf?" matches "café"); in paths neither ever matches '/'.
//   - "[...]" (paths and exec names only) matches one character from a set: single characters,
//     ranges "a-z", negation with a leading '!' or '^', ']' literal when it comes first, '-'
//     literal when it comes first or last.
//   - '\' (paths and exec names only) makes the next character literal.
//   - In a path, a segment that is exactly "**" matches zero or more whole segments; "**" inside
//     a longer segment is an ordinary '*' (the rule of gitignore and Go's doublestar).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reglet/error.h"

namespace reglet::capability_detail {

// A pattern over text that has no separators: one path segment, a file name, a variable name or a
// host name.
class TokenPattern {
 public:
  struct Syntax {
    // "[...]" classes and '\' escapes. Off for env and host patterns, where '[' and '\' are
    // ordinary characters (and host patterns reject them anyway).
    bool classes_and_escapes = true;
    // ASCII case folding, for host names.
    bool case_insensitive = false;
  };

  // Errors (invalid_argument) name the problem only; callers add which capability it was in.
  static Result<TokenPattern> compile(std::string_view pattern, Syntax syntax);

  bool matches(std::string_view text) const;
  // True when the pattern has no wildcard at all (escapes included: "\*" is literal).
  bool is_literal() const;
  // The text a literal pattern matches (escapes removed). Meaningful only when is_literal().
  std::string literal_text() const;

 private:
  struct Token {
    enum class Kind : uint8_t { literal, any_char, char_class, star };
    Kind kind = Kind::literal;
    char byte = 0;                                      // Kind::literal
    bool negated = false;                               // Kind::char_class
    std::vector<std::pair<char32_t, char32_t>> ranges;  // Kind::char_class, inclusive bounds

    // Bytes of `text` at `pos` this token consumes, 0 when it does not match there.
    size_t match_at(std::string_view text, size_t pos, bool case_insensitive) const;
  };

  std::vector<Token> tokens_;
  bool case_insensitive_ = false;
};

// An absolute path glob ("/etc/**", "/var/log/*.log", "/home/[a-z]*/.ssh/id_*").
class PathGlob {
 public:
  static Result<PathGlob> compile(std::string_view pattern);

  // `path` should be canonical. Relative paths and paths with "." or ".." segments never match,
  // so that a caller that forgot to canonicalise fails closed. Empty segments ("//", a trailing
  // '/') are ignored: "/etc/" is the same path as "/etc".
  bool matches(std::string_view path) const;

 private:
  struct Segment {
    bool globstar = false;  // the whole segment is "**"
    TokenPattern pattern;
  };
  std::vector<Segment> segments_;
};

// A path glob cut into segments, for canonicalising the part before the first wildcard.
struct PathGlobParts {
  std::vector<std::string> segments;        // raw pattern text of each non-empty segment
  size_t first_wildcard = 0;                // index of the first segment with a wildcard, or size()
  std::vector<std::string> literal_prefix;  // unescaped text of segments [0, first_wildcard)
};

// Validates an absolute path glob and splits it. Rejects relative patterns, bad classes and
// escapes, and "." or ".." at or after the first wildcard (they could never match a canonical
// path, so writing them is a mistake worth reporting).
Result<PathGlobParts> split_path_glob(std::string_view pattern);

// Joins segments back into an absolute pattern.
std::string join_path_glob(std::string_view canonical_prefix, const std::vector<std::string>& rest);

// Escapes '*', '?', '[', ']' and '\' so that `literal` matches only itself as a glob.
std::string escape_glob(std::string_view literal);

}  // namespace reglet::capability_detail
