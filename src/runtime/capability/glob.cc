#include "runtime/capability/glob.h"

#include <string>
#include <utility>

namespace reglet::capability_detail {
namespace {

Error glob_error(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

struct DecodedChar {
  char32_t value = 0;
  size_t length = 1;
};

// A stray byte decodes to this plus its value: outside Unicode, so it only ever equals itself and
// never falls inside a class range written with real characters.
constexpr char32_t kStrayByteBase = 0x110000;

// The character at `pos`: a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or else a single stray byte.
DecodedChar decode_char(std::string_view text, size_t pos) {
  const auto byte_at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte_at(pos);
  if (lead < 0x80) return {lead, 1};

  size_t continuation_count = 0;
  char32_t value = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation_count = 1;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation_count = 2;
    value = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation_count = 3;
    value = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return {kStrayByteBase + lead, 1};
  }
  if (pos + continuation_count >= text.size()) return {kStrayByteBase + lead, 1};
  for (size_t i = 1; i <= continuation_count; ++i) {
    const unsigned char next = byte_at(pos + i);
    const unsigned char low = (i == 1) ? second_min : 0x80;
    const unsigned char high = (i == 1) ? second_max : 0xBF;
    if (next < low || next > high) return {kStrayByteBase + lead, 1};
    value = (value << 6) | (next & 0x3F);
  }
  return {value, continuation_count + 1};
}

// Reads one class member character at `pos` (after an optional '\'), advancing `pos`.
Result<char32_t> read_class_char(std::string_view pattern, size_t& pos, bool escapes) {
  if (escapes && pattern[pos] == '\\') {
    ++pos;
    if (pos >= pattern.size()) {
      return glob_error("unterminated character class '[' (the pattern ends inside it)");
    }
  }
  const DecodedChar decoded = decode_char(pattern, pos);
  pos += decoded.length;
  return decoded.value;
}

std::string describe_char(char32_t value) {
  if (value >= 0x20 && value < 0x7F) return std::string(1, static_cast<char>(value));
  return "U+" + std::to_string(static_cast<uint32_t>(value));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TokenPattern

Result<TokenPattern> TokenPattern::compile(std::string_view pattern, Syntax syntax) {
  TokenPattern compiled;
  compiled.case_insensitive_ = syntax.case_insensitive;
  size_t pos = 0;
  while (pos < pattern.size()) {
    const char c = pattern[pos];
    Token token;
    if (c == '*') {
      ++pos;
      // Consecutive stars mean the same as one; collapsing them keeps matching linear-ish.
      if (!compiled.tokens_.empty() && compiled.tokens_.back().kind == Token::Kind::star) continue;
      token.kind = Token::Kind::star;
    } else if (c == '?') {
      ++pos;
      token.kind = Token::Kind::any_char;
    } else if (c == '\\' && syntax.classes_and_escapes) {
      if (pos + 1 >= pattern.size()) {
        return glob_error("the pattern ends with an unfinished escape '\\'");
      }
      token.byte = syntax.case_insensitive ? ascii_lower(pattern[pos + 1]) : pattern[pos + 1];
      pos += 2;
    } else if (c == '[' && syntax.classes_and_escapes) {
      token.kind = Token::Kind::char_class;
      size_t cursor = pos + 1;
      if (cursor < pattern.size() && (pattern[cursor] == '!' || pattern[cursor] == '^')) {
        token.negated = true;
        ++cursor;
      }
      bool first_member = true;
      while (true) {
        if (cursor >= pattern.size()) {
          return glob_error(
              "unterminated character class '[' (close it with ']', or write '\\[' for a "
              "literal '['; a class cannot contain '/')");
        }
        if (pattern[cursor] == ']' && !first_member) {
          ++cursor;
          break;
        }
        first_member = false;
        auto low = read_class_char(pattern, cursor, true);
        if (!low.ok()) return low.error();
        char32_t high = *low;
        // '-' makes a range unless it is the last member ("[a-]" holds 'a' and '-').
        if (cursor + 1 < pattern.size() && pattern[cursor] == '-' && pattern[cursor + 1] != ']') {
          ++cursor;
          auto upper = read_class_char(pattern, cursor, true);
          if (!upper.ok()) return upper.error();
          high = *upper;
          if (high < *low) {
            return glob_error("character class range '" + describe_char(*low) + "-" +
                              describe_char(high) + "' is reversed");
          }
        }
        token.ranges.emplace_back(*low, high);
      }
      pos = cursor;
    } else {
      token.byte = syntax.case_insensitive ? ascii_lower(c) : c;
      ++pos;
    }
    compiled.tokens_.push_back(std::move(token));
  }
  return compiled;
}

size_t TokenPattern::Token::match_at(std::string_view text, size_t pos,
                                     bool case_insensitive) const {
  if (pos >= text.size()) return 0;
  switch (kind) {
    case Kind::literal: {
      const char actual = case_insensitive ? ascii_lower(text[pos]) : text[pos];
      return actual == byte ? 1 : 0;
    }
    case Kind::any_char:
      return decode_char(text, pos).length;
    case Kind::char_class: {
      const DecodedChar decoded = decode_char(text, pos);
      auto in_ranges = [&](char32_t value) {
        for (const auto& [low, high] : ranges) {
          if (value >= low && value <= high) return true;
        }
        return false;
      };
      bool member = in_ranges(decoded.value);
      if (!member && case_insensitive && decoded.value < 0x80) {
        const char32_t lower = static_cast<char32_t>(ascii_lower(static_cast<char>(decoded.value)));
        const char32_t upper = (lower >= 'a' && lower <= 'z') ? lower - 'a' + 'A' : lower;
        member = in_ranges(lower) || in_ranges(upper);
      }
      return member != negated ? decoded.length : 0;
    }
    case Kind::star:
      return 0;  // handled by the matcher
  }
  return 0;
}

bool TokenPattern::matches(std::string_view text) const {
  // The classic single-star backtracking matcher: on a mismatch, let the most recent '*' absorb
  // one more character and retry from there. Earlier stars never need revisiting, because the
  // part between two stars is best matched at its earliest position. O(pattern * text) at worst.
  constexpr size_t kNoStar = static_cast<size_t>(-1);
  size_t token_index = 0;
  size_t text_pos = 0;
  size_t star_token = kNoStar;
  size_t star_text_pos = 0;
  while (text_pos < text.size()) {
    if (token_index < tokens_.size()) {
      const Token& token = tokens_[token_index];
      if (token.kind == Token::Kind::star) {
        star_token = token_index++;
        star_text_pos = text_pos;
        continue;
      }
      if (const size_t consumed = token.match_at(text, text_pos, case_insensitive_); consumed > 0) {
        ++token_index;
        text_pos += consumed;
        continue;
      }
    }
    if (star_token == kNoStar) return false;
    // A star absorbs whole characters, so a multi-byte character is never split.
    star_text_pos += decode_char(text, star_text_pos).length;
    text_pos = star_text_pos;
    token_index = star_token + 1;
  }
  while (token_index < tokens_.size() && tokens_[token_index].kind == Token::Kind::star) {
    ++token_index;
  }
  return token_index == tokens_.size();
}

bool TokenPattern::is_literal() const {
  for (const Token& token : tokens_) {
    if (token.kind != Token::Kind::literal) return false;
  }
  return true;
}

std::string TokenPattern::literal_text() const {
  std::string text;
  text.reserve(tokens_.size());
  for (const Token& token : tokens_) text.push_back(token.byte);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Paths

namespace {

std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos < path.size()) {
    const size_t slash = path.find('/', pos);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > pos) segments.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return segments;
}

constexpr TokenPattern::Syntax kPathSyntax{.classes_and_escapes = true, .case_insensitive = false};

}  // namespace

Result<PathGlob> PathGlob::compile(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    return glob_error("path pattern '" + std::string(pattern) + "' must be absolute");
  }
  PathGlob glob;
  for (std::string_view raw : split_segments(pattern)) {
    Segment segment;
    if (raw == "**") {
      // "/**/**/" means the same as "/**/"; one globstar is enough.
      if (!glob.segments_.empty() && glob.segments_.back().globstar) continue;
      segment.globstar = true;
    } else {
      if (raw == "." || raw == "..") {
        return glob_error("path pattern '" + std::string(pattern) +
                          "' contains a '.' or '..' segment");
      }
      auto compiled = TokenPattern::compile(raw, kPathSyntax);
      if (!compiled.ok()) return compiled.error();
      segment.pattern = std::move(*compiled);
    }
    glob.segments_.push_back(std::move(segment));
  }
  return glob;
}

bool PathGlob::matches(std::string_view path) const {
  if (path.empty() || path.front() != '/') return false;
  const std::vector<std::string_view> parts = split_segments(path);
  for (std::string_view part : parts) {
    if (part == "." || part == "..") return false;
  }
  // reachable[i]: the pattern segments seen so far can consume exactly parts [0, i).
  std::vector<char> reachable(parts.size() + 1, 0);
  reachable[0] = 1;
  for (const Segment& segment : segments_) {
    std::vector<char> next(parts.size() + 1, 0);
    if (segment.globstar) {
      // Zero or more whole segments: everything at or after the first reachable point.
      bool seen = false;
      for (size_t i = 0; i <= parts.size(); ++i) {
        seen = seen || reachable[i];
        next[i] = seen ? 1 : 0;
      }
    } else {
      for (size_t i = 0; i < parts.size(); ++i) {
        if (reachable[i] && segment.pattern.matches(parts[i])) next[i + 1] = 1;
      }
    }
    reachable = std::move(next);
  }
  return reachable[parts.size()] != 0;
}

Result<PathGlobParts> split_path_glob(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    return glob_error("the path must be absolute (start with '/')");
  }
  PathGlobParts parts;
  bool wildcard_seen = false;
  for (std::string_view raw : split_segments(pattern)) {
    const size_t index = parts.segments.size();
    parts.segments.emplace_back(raw);
    std::string literal;
    if (raw == "**") {
      wildcard_seen = true;
    } else {
      auto compiled = TokenPattern::compile(raw, kPathSyntax);
      if (!compiled.ok()) return compiled.error();
      if (compiled->is_literal()) {
        literal = compiled->literal_text();
      } else {
        wildcard_seen = true;
      }
    }
    if (!wildcard_seen) {
      parts.literal_prefix.push_back(std::move(literal));
      continue;
    }
    if (parts.literal_prefix.size() == index) parts.first_wildcard = index;
    if (literal == "." || literal == "..") {
      return glob_error("'" + literal +
                        "' cannot follow a wildcard (a resolved path never contains it)");
    }
  }
  if (!wildcard_seen) parts.first_wildcard = parts.segments.size();
  return parts;
}

std::string join_path_glob(std::string_view canonical_prefix,
                           const std::vector<std::string>& rest) {
  std::string pattern = escape_glob(canonical_prefix);
  for (const std::string& segment : rest) {
    if (pattern.empty() || pattern.back() != '/') pattern += '/';
    pattern += segment;
  }
  if (pattern.empty()) pattern = "/";
  return pattern;
}

std::string escape_glob(std::string_view literal) {
  std::string escaped;
  escaped.reserve(literal.size());
  for (const char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') escaped += '\\';
    escaped += c;
  }
  return escaped;
}

}  // namespace reglet::capability_detail
