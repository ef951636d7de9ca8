// Lexer and parser for expectation expressions (grammar and precedence: see expr.h).
//
// The parser mirrors expr-lang's precedence-climbing parser (parser/parser.go) so that the same
// source text means the same thing. It never throws: the first error is recorded and every parse
// function returns nullptr from then on.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "check/expr_internal.h"

namespace reglet::check::expr_detail {

// ---------------------------------------------------------------------------------------------
// Builtins.

namespace {

constexpr Builtin kBuiltins[] = {
    {"len", BuiltinId::kLen, 1, 1, false},
    {"type", BuiltinId::kType, 1, 1, false},
    {"abs", BuiltinId::kAbs, 1, 1, false},
    {"ceil", BuiltinId::kCeil, 1, 1, false},
    {"floor", BuiltinId::kFloor, 1, 1, false},
    {"round", BuiltinId::kRound, 1, 1, false},
    {"int", BuiltinId::kInt, 1, 1, false},
    {"float", BuiltinId::kFloat, 1, 1, false},
    {"string", BuiltinId::kString, 1, 1, false},
    {"trim", BuiltinId::kTrim, 1, 2, false},
    {"trimPrefix", BuiltinId::kTrimPrefix, 1, 2, false},
    {"trimSuffix", BuiltinId::kTrimSuffix, 1, 2, false},
    {"upper", BuiltinId::kUpper, 1, 1, false},
    {"lower", BuiltinId::kLower, 1, 1, false},
    {"split", BuiltinId::kSplit, 2, 3, false},
    {"replace", BuiltinId::kReplace, 3, 4, false},
    {"join", BuiltinId::kJoin, 1, 2, false},
    {"indexOf", BuiltinId::kIndexOf, 2, 2, false},
    {"lastIndexOf", BuiltinId::kLastIndexOf, 2, 2, false},
    {"hasPrefix", BuiltinId::kHasPrefix, 2, 2, false},
    {"hasSuffix", BuiltinId::kHasSuffix, 2, 2, false},
    {"min", BuiltinId::kMin, 1, -1, false},
    {"max", BuiltinId::kMax, 1, -1, false},
    {"first", BuiltinId::kFirst, 1, 1, false},
    {"last", BuiltinId::kLast, 1, 1, false},
    {"get", BuiltinId::kGet, 2, 2, false},
    {"keys", BuiltinId::kKeys, 1, 1, false},
    {"values", BuiltinId::kValues, 1, 1, false},
    {"toJSON", BuiltinId::kToJson, 1, 1, false},
    {"fromJSON", BuiltinId::kFromJson, 1, 1, false},
    {"strContains", BuiltinId::kStrContains, 2, 2, false},
    {"isIPv4", BuiltinId::kIsIPv4, 1, 1, false},
    {"isIPv6", BuiltinId::kIsIPv6, 1, 1, false},
    {"all", BuiltinId::kAll, 2, 2, true},
    {"any", BuiltinId::kAny, 2, 2, true},
    {"none", BuiltinId::kNone, 2, 2, true},
    {"one", BuiltinId::kOne, 2, 2, true},
    {"filter", BuiltinId::kFilter, 2, 2, true},
    {"map", BuiltinId::kMap, 2, 2, true},
    {"find", BuiltinId::kFind, 2, 2, true},
    {"findIndex", BuiltinId::kFindIndex, 2, 2, true},
    {"findLast", BuiltinId::kFindLast, 2, 2, true},
    {"findLastIndex", BuiltinId::kFindLastIndex, 2, 2, true},
    {"count", BuiltinId::kCount, 1, 2, true},
    {"sum", BuiltinId::kSum, 1, 2, true},
};

}  // namespace

const Builtin* find_builtin(std::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Lexer.

enum class TokKind { kEnd, kInt, kFloat, kString, kIdent, kOp, kPointer };

struct Token {
  TokKind kind = TokKind::kEnd;
  std::string text;  // operator, identifier, decoded string, pointer name ("" for `#`)
  std::string raw;   // source text of a number
  std::int64_t int_value = 0;
  double float_value = 0;
  std::size_t offset = 0;
  int column = 1;
};

bool is_ident_start(char c) {
  auto u = static_cast<unsigned char>(c);
  // Bytes >= 0x80 belong to UTF-8 letters; expr-lang allows Unicode letters in names.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || u >= 0x80;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_part(char c) {
  return is_ident_start(c) || is_digit(c);
}

bool is_word_operator(std::string_view w) {
  return w == "not" || w == "in" || w == "and" || w == "or" || w == "matches" || w == "contains" ||
         w == "startsWith" || w == "endsWith";
}

bool is_negatable(std::string_view w) {
  return w == "in" || w == "matches" || w == "contains" || w == "startsWith" || w == "endsWith";
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  // Returns false on error, with error_offset/error_message set.
  bool run(std::vector<Token>& out) {
    while (true) {
      skip_space_and_comments();
      if (failed_) return false;
      Token t;
      t.offset = pos_;
      t.column = column_at(pos_);
      if (pos_ >= src_.size()) {
        t.kind = TokKind::kEnd;
        out.push_back(std::move(t));
        return true;
      }
      if (!next_token(t)) return false;
      out.push_back(std::move(t));
    }
  }

  std::size_t error_offset = 0;
  std::string error_message;

 private:
  bool fail(std::size_t offset, std::string message) {
    failed_ = true;
    error_offset = offset;
    error_message = std::move(message);
    return false;
  }

  char at(std::size_t i) const { return i < src_.size() ? src_[i] : '\0'; }

  // Columns are computed incrementally because offsets only grow.
  int column_at(std::size_t offset) {
    while (col_offset_ < offset && col_offset_ < src_.size()) {
      if ((static_cast<unsigned char>(src_[col_offset_]) & 0xC0) != 0x80) ++col_;
      ++col_offset_;
    }
    return col_;
  }

  void skip_space_and_comments() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        ++pos_;
      } else if (c == '/' && at(pos_ + 1) == '/') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else if (c == '/' && at(pos_ + 1) == '*') {
        std::size_t end = src_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) {
          fail(pos_, "unclosed comment");
          return;
        }
        pos_ = end + 2;
      } else {
        return;
      }
    }
  }

  bool next_token(Token& t) {
    char c = src_[pos_];
    if (c == '"' || c == '\'') return lex_string(t, c);
    if (c == '`') return lex_raw_string(t);
    if (is_digit(c) || (c == '.' && is_digit(at(pos_ + 1)))) return lex_number(t);
    if (is_ident_start(c)) {
      std::size_t start = pos_;
      while (pos_ < src_.size() && is_ident_part(src_[pos_])) ++pos_;
      t.text = std::string(src_.substr(start, pos_ - start));
      t.kind = is_word_operator(t.text) ? TokKind::kOp : TokKind::kIdent;
      return true;
    }
    if (c == '#') {
      ++pos_;
      std::size_t start = pos_;
      while (pos_ < src_.size() && is_ident_part(src_[pos_])) ++pos_;
      t.kind = TokKind::kPointer;
      t.text = std::string(src_.substr(start, pos_ - start));
      return true;
    }
    static constexpr std::string_view kTwo[] = {"**", "==", "!=", "<=", ">=", "&&",
                                                "||", "??", "?.", "..", "::"};
    std::string_view rest = src_.substr(pos_);
    for (std::string_view op : kTwo) {
      if (rest.substr(0, 2) == op) {
        if (op == "..") return fail(pos_, "the range operator '..' is not supported");
        if (op == "::") return fail(pos_, "unexpected '::'");
        t.kind = TokKind::kOp;
        t.text = std::string(op);
        pos_ += 2;
        return true;
      }
    }
    switch (c) {
      case '=':
        return fail(pos_, "unexpected '=' (use '==' to compare)");
      case '&':
        return fail(pos_, "unexpected '&' (use '&&' or 'and')");
      case '|':
        return fail(pos_,
                    "the pipe operator '|' is not supported (use '||' or 'or' for a logical or)");
      case ';':
        return fail(pos_, "unexpected ';' (variables and statements are not supported)");
      default:
        break;
    }
    if (std::string_view("+-*/%^<>!?:,.()[]{}").find(c) != std::string_view::npos) {
      t.kind = TokKind::kOp;
      t.text = std::string(1, c);
      ++pos_;
      return true;
    }
    std::size_t p = pos_;
    char32_t cp = decode_utf8(src_, p);
    std::string shown;
    if (cp >= 0x20 && cp != 0x7F) {
      append_utf8(shown, cp);
    } else {
      shown = "\\x" + std::string(1, "0123456789abcdef"[(cp >> 4) & 0xF]) +
              std::string(1, "0123456789abcdef"[cp & 0xF]);
    }
    return fail(pos_, "unexpected character '" + shown + "'");
  }

  bool lex_number(Token& t) {
    std::size_t start = pos_;
    int base = 10;
    bool is_float = false;
    if (src_[pos_] == '0' &&
        std::string_view("xXoObB").find(at(pos_ + 1)) != std::string_view::npos &&
        at(pos_ + 1) != '\0') {
      char p = static_cast<char>(at(pos_ + 1) | 0x20);
      base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
      pos_ += 2;
      auto digit_ok = [&](char d) {
        if (d == '_') return true;
        if (base == 16) return is_digit(d) || ((d | 0x20) >= 'a' && (d | 0x20) <= 'f');
        if (base == 8) return d >= '0' && d <= '7';
        return d == '0' || d == '1';
      };
      while (pos_ < src_.size() && digit_ok(src_[pos_])) ++pos_;
    } else {
      while (pos_ < src_.size() && (is_digit(src_[pos_]) || src_[pos_] == '_')) ++pos_;
      if (at(pos_) == '.' && at(pos_ + 1) != '.') {
        is_float = true;
        ++pos_;
        while (pos_ < src_.size() && (is_digit(src_[pos_]) || src_[pos_] == '_')) ++pos_;
      }
      if (at(pos_) == 'e' || at(pos_) == 'E') {
        std::size_t q = pos_ + 1;
        if (at(q) == '+' || at(q) == '-') ++q;
        if (is_digit(at(q))) {
          is_float = true;
          pos_ = q;
          while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
        }
      }
    }
    t.raw = std::string(src_.substr(start, pos_ - start));
    if (pos_ < src_.size() && is_ident_part(src_[pos_])) {
      while (pos_ < src_.size() && is_ident_part(src_[pos_])) ++pos_;
      return fail(start,
                  "bad number syntax '" + std::string(src_.substr(start, pos_ - start)) + "'");
    }
    std::string digits;
    for (char d : std::string_view(t.raw).substr(base == 10 ? 0 : 2)) {
      if (d != '_') digits += d;
    }
    if (is_float) {
      double value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc::result_out_of_range) {
        return fail(start, "float literal '" + t.raw + "' is out of range");
      }
      if (ec != std::errc() || end != digits.data() + digits.size()) {
        return fail(start, "bad number syntax '" + t.raw + "'");
      }
      t.kind = TokKind::kFloat;
      t.float_value = value;
      return true;
    }
    if (digits.empty()) return fail(start, "bad number syntax '" + t.raw + "'");
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (ec == std::errc::result_out_of_range ||
        value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return fail(start, "integer literal '" + t.raw + "' is too large");
    }
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return fail(start, "bad number syntax '" + t.raw + "'");
    }
    t.kind = TokKind::kInt;
    t.int_value = static_cast<std::int64_t>(value);
    return true;
  }

  static int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    c = static_cast<char>(c | 0x20);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  bool lex_string(Token& t, char quote) {
    std::size_t start = pos_;
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) return fail(start, "unterminated string");
      char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      std::size_t esc = pos_;
      char e = at(pos_ + 1);
      pos_ += 2;
      switch (e) {
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          std::uint32_t cp = 0;
          for (int i = 0; i < n; ++i) {
            int h = hex_value(at(pos_));
            if (h < 0 || pos_ >= src_.size()) {
              return fail(esc, std::string("invalid escape '\\") + e + "': expected " +
                                   std::to_string(n) + " hexadecimal digits");
            }
            cp = cp * 16 + static_cast<std::uint32_t>(h);
            ++pos_;
          }
          if (e == 'x') {
            out += static_cast<char>(cp);  // a raw byte, as in Go
          } else {
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
              return fail(esc, "escape sequence is an invalid Unicode code point");
            }
            append_utf8(out, static_cast<char32_t>(cp));
          }
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int value = e - '0';
            for (int i = 0; i < 2; ++i) {
              char d = at(pos_);
              if (d < '0' || d > '7') {
                return fail(esc, "invalid escape: octal escapes need 3 digits");
              }
              value = value * 8 + (d - '0');
              ++pos_;
            }
            if (value > 255) return fail(esc, "octal escape value is greater than 255");
            out += static_cast<char>(value);
            break;
          }
          if (esc + 1 >= src_.size()) return fail(start, "unterminated string");
          {
            std::size_t p = esc + 1;
            std::string shown;
            append_utf8(shown, decode_utf8(src_, p));
            return fail(esc, "invalid escape sequence '\\" + shown + "'");
          }
      }
    }
    t.kind = TokKind::kString;
    t.text = std::move(out);
    return true;
  }

  bool lex_raw_string(Token& t) {
    std::size_t start = pos_;
    std::size_t end = src_.find('`', pos_ + 1);
    if (end == std::string_view::npos) return fail(start, "unterminated raw string");
    t.kind = TokKind::kString;
    t.text = std::string(src_.substr(start + 1, end - start - 1));
    pos_ = end + 1;
    return true;
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  std::size_t col_offset_ = 0;
  int col_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Parser.

struct BinaryInfo {
  Op op;
  int precedence;
  bool right_assoc;
};

std::optional<BinaryInfo> binary_info(const Token& t) {
  if (t.kind != TokKind::kOp) return std::nullopt;
  const std::string& s = t.text;
  if (s == "||" || s == "or") return BinaryInfo{Op::kOr, 10, false};
  if (s == "&&" || s == "and") return BinaryInfo{Op::kAnd, 15, false};
  if (s == "==") return BinaryInfo{Op::kEq, 20, false};
  if (s == "!=") return BinaryInfo{Op::kNe, 20, false};
  if (s == "<") return BinaryInfo{Op::kLt, 20, false};
  if (s == "<=") return BinaryInfo{Op::kLe, 20, false};
  if (s == ">") return BinaryInfo{Op::kGt, 20, false};
  if (s == ">=") return BinaryInfo{Op::kGe, 20, false};
  if (s == "in") return BinaryInfo{Op::kIn, 20, false};
  if (s == "matches") return BinaryInfo{Op::kMatches, 20, false};
  if (s == "contains") return BinaryInfo{Op::kContains, 20, false};
  if (s == "startsWith") return BinaryInfo{Op::kStartsWith, 20, false};
  if (s == "endsWith") return BinaryInfo{Op::kEndsWith, 20, false};
  if (s == "+") return BinaryInfo{Op::kAdd, 30, false};
  if (s == "-") return BinaryInfo{Op::kSub, 30, false};
  if (s == "*") return BinaryInfo{Op::kMul, 60, false};
  if (s == "/") return BinaryInfo{Op::kDiv, 60, false};
  if (s == "%") return BinaryInfo{Op::kMod, 60, false};
  if (s == "**" || s == "^") return BinaryInfo{Op::kPow, 100, true};
  if (s == "??") return BinaryInfo{Op::kCoalesce, 500, false};
  return std::nullopt;
}

constexpr int kComparisonPrecedence = 20;

// Parse functions recurse once per nesting level, so their frames are kept small: tokens are
// referred to (the token vector never changes after lexing), and error messages are built in
// out-of-line functions.
class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  Result<NodePtr> run() {
    Lexer lexer(source_);
    if (!lexer.run(tokens_)) {
      return make_error(ErrorCode::invalid_argument,
                        "column " + std::to_string(column_of(source_, lexer.error_offset)) + ": " +
                            lexer.error_message);
    }
    if (cur().kind == TokKind::kEnd) {
      return make_error(ErrorCode::invalid_argument, "column 1: empty expression");
    }
    NodePtr root = parse_expression(0);
    if (root && cur().kind != TokKind::kEnd) fail_unexpected(cur());
    if (error_) return *error_;
    return root;
  }

 private:
  // RAII nesting counter: every recursive descent passes through parse_expression.
  class Nest {
   public:
    explicit Nest(Parser& p) : p_(p) { ++p_.nesting_; }
    ~Nest() { --p_.nesting_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    bool too_deep() const { return p_.nesting_ > kMaxNesting; }

   private:
    Parser& p_;
  };

  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek() const { return tokens_[std::min(pos_ + 1, tokens_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool is_op(std::string_view s) const { return cur().kind == TokKind::kOp && cur().text == s; }

  // --- errors (out of line) ----------------------------------------------------------------

  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_at_column(int column, std::string message) {
    if (!error_) {
      error_ = make_error(ErrorCode::invalid_argument,
                          "column " + std::to_string(column) + ": " + std::move(message));
    }
    return nullptr;
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail(const Token& at, std::string message) {
    return fail_at_column(at.column, std::move(message));
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail(const Token& at, const char* message) {
    return fail_at_column(at.column, message);
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_unexpected(const Token& at) {
    if (at.kind == TokKind::kEnd) return fail(at, "unexpected end of expression");
    return fail(at, "unexpected " + describe(at));
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_expected(std::string_view op) {
    return fail(cur(), "expected '" + std::string(op) + "', found " + describe(cur()));
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_too_deep() {
    return fail(cur(), "expression is nested too deeply (more than " + std::to_string(kMaxNesting) +
                           " levels)");
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_mixed(const Token& op) {
    return fail(op, "operator '" + op.text + "' and '?\?' cannot be mixed without parentheses");
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_pointer(const Token& t) {
    if (closure_depth_ == 0) {
      return fail(t, "'#" + t.text +
                         "' can only be used inside a predicate closure such as all(xs, {# > 0})");
    }
    return fail(t, "unknown closure variable '#" + t.text + "' (use '#' or '#index')");
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_member(const Token& name, bool call) {
    if (call) {
      return fail(name, "method calls are not supported ('" + name.text +
                            "(...)'); use the builtin functions");
    }
    return fail(name, "expected a member name, found " + describe(name));
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_call(const Token& name, const Builtin* builtin,
                                                        std::size_t count) {
    if (!builtin) return fail(name, "unknown function '" + name.text + "'");
    return fail(name, std::string(builtin->name) + "() " + arity_text(*builtin) + ", got " +
                          std::to_string(count));
  }
  [[gnu::noinline, gnu::cold]] std::nullptr_t fail_map_key(const Token& k) {
    return fail(k,
                "a map key must be a name, a string, a number or a parenthesized expression, "
                "found " +
                    describe(k));
  }

  [[gnu::noinline]] bool expect(std::string_view op) {
    if (is_op(op)) {
      advance();
      return true;
    }
    fail_expected(op);
    return false;
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokKind::kEnd:
        return "end of expression";
      case TokKind::kInt:
      case TokKind::kFloat:
        return "number " + t.raw;
      case TokKind::kString: {
        std::string shown = t.text.size() > 24 ? t.text.substr(0, 24) + "..." : t.text;
        return "string \"" + shown + "\"";
      }
      case TokKind::kPointer:
        return "'#" + t.text + "'";
      case TokKind::kIdent:
      case TokKind::kOp:
        break;
    }
    return "'" + t.text + "'";
  }

  static std::string arity_text(const Builtin& b) {
    auto plural = [](int n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); };
    if (b.max_args < 0) return "takes at least " + plural(b.min_args);
    if (b.min_args == b.max_args) return "takes " + plural(b.min_args);
    return "takes " + std::to_string(b.min_args) + " or " + plural(b.max_args);
  }

  // --- nodes -------------------------------------------------------------------------------

  [[gnu::noinline]] std::shared_ptr<Node> make(NodeKind kind, const Token& at,
                                               std::vector<NodePtr> children = {}) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->column = at.column;
    n->children = std::move(children);
    int depth = 0;
    for (const NodePtr& c : n->children) {
      if (c) depth = std::max(depth, c->depth);
    }
    n->depth = depth + 1;
    if (n->depth > kMaxTreeDepth) {
      return fail(at, "expression is nested too deeply (syntax tree deeper than " +
                          std::to_string(kMaxTreeDepth) + " levels)");
    }
    return n;
  }

  [[gnu::noinline]] NodePtr make_unary(const Token& at, Op op, std::string_view spelling,
                                       NodePtr operand) {
    auto n = make(NodeKind::kUnary, at, {std::move(operand)});
    if (!n) return nullptr;
    n->op = op;
    n->spelling = std::string(spelling);
    return n;
  }

  [[gnu::noinline]] NodePtr make_binary(const Token& at, Op op, std::string_view spelling,
                                        NodePtr left, NodePtr right) {
    auto n = make(NodeKind::kBinary, at, {std::move(left), std::move(right)});
    if (!n) return nullptr;
    n->op = op;
    n->spelling = std::string(spelling);
    if (op == Op::kMatches && n->children[1]->kind == NodeKind::kLiteral &&
        n->children[1]->value.is_string()) {
      auto compiled = compile_regex(n->children[1]->value.get_ref<const std::string&>());
      if (!compiled.ok()) return fail_at_column(n->children[1]->column, compiled.error().message);
      n->regex = std::move(compiled).value();
    }
    return n;
  }

  [[gnu::noinline]] NodePtr make_literal(const Token& t) {
    auto n = make(NodeKind::kLiteral, t);
    if (!n) return nullptr;
    switch (t.kind) {
      case TokKind::kInt:
        n->value = t.int_value;
        break;
      case TokKind::kFloat:
        n->value = t.float_value;
        break;
      case TokKind::kString:
        n->value = t.text;
        break;
      default:  // true, false, nil
        if (t.text != "nil") n->value = (t.text == "true");
        break;
    }
    return n;
  }

  [[gnu::noinline]] NodePtr make_named(NodeKind kind, const Token& at, std::string_view name,
                                       NodePtr object = nullptr, bool optional = false) {
    auto n = object ? make(kind, at, {std::move(object)}) : make(kind, at);
    if (!n) return nullptr;
    n->name = std::string(name);
    n->optional = optional;
    return n;
  }

  // --- grammar -----------------------------------------------------------------------------

  NodePtr parse_expression(int precedence) {
    Nest nest(*this);
    if (nest.too_deep()) return fail_too_deep();
    NodePtr left = parse_primary();
    if (!left) return nullptr;
    const Token* previous = nullptr;  // the last binary operator at this level
    while (cur().kind == TokKind::kOp) {
      const Token* op_token = &cur();
      bool negate = false;
      if (op_token->text == "not") {
        const Token& next = peek();
        if (next.kind != TokKind::kOp || !is_negatable(next.text)) {
          return fail(*op_token,
                      "unexpected 'not' (only 'not in', 'not matches', 'not contains', "
                      "'not startsWith' and 'not endsWith' may follow an operand)");
        }
        if (kComparisonPrecedence < precedence) break;  // an enclosing level takes it
        negate = true;
        advance();
        op_token = &cur();
      }
      std::optional<BinaryInfo> info = binary_info(*op_token);
      if (!info || info->precedence < precedence) break;
      advance();
      if (previous && previous->text == "??" && op_token->text != "??") {
        return fail_mixed(*op_token);
      }
      if (info->precedence == kComparisonPrecedence) {
        left = parse_comparison(std::move(left), op_token, *info, negate);
      } else {
        NodePtr right =
            parse_expression(info->right_assoc ? info->precedence : info->precedence + 1);
        if (!right) return nullptr;
        left = make_binary(*op_token, info->op, op_token->text, std::move(left), std::move(right));
      }
      if (!left) return nullptr;
      previous = op_token;
    }
    if (precedence == 0) left = parse_conditional(std::move(left));
    return left;
  }

  // expr-lang chains comparisons: `a < b <= c` is `a < b && b <= c` (b is shared).
  NodePtr parse_comparison(NodePtr left, const Token* op_token, BinaryInfo info, bool negate) {
    NodePtr root;
    while (true) {
      NodePtr right = parse_expression(kComparisonPrecedence + 1);
      if (!right) return nullptr;
      NodePtr cmp = make_binary(*op_token, info.op, op_token->text, left, right);
      if (cmp && negate) cmp = make_unary(*op_token, Op::kNot, "not", std::move(cmp));
      if (!cmp) return nullptr;
      root = root ? make_binary(*op_token, Op::kAnd, "&&", std::move(root), std::move(cmp))
                  : std::move(cmp);
      if (!root) return nullptr;
      left = std::move(right);
      std::optional<BinaryInfo> next = binary_info(cur());
      if (!next || next->precedence != kComparisonPrecedence) break;
      op_token = &cur();
      info = *next;
      negate = false;
      advance();
    }
    return root;
  }

  NodePtr parse_conditional(NodePtr condition) {
    while (condition && is_op("?")) {
      const Token& question = cur();
      advance();
      NodePtr yes = parse_expression(0);
      if (!yes || !expect(":")) return nullptr;
      NodePtr no = parse_expression(0);
      if (!no) return nullptr;
      condition = make(NodeKind::kConditional, question,
                       {std::move(condition), std::move(yes), std::move(no)});
    }
    return condition;
  }

  NodePtr parse_primary() {
    const Token& t = cur();
    if (t.kind == TokKind::kOp) {
      Op op = Op::kNone;
      int precedence = 0;
      if (t.text == "!" || t.text == "not") {
        op = Op::kNot;
        precedence = 50;
      } else if (t.text == "-") {
        op = Op::kNeg;
        precedence = 90;
      } else if (t.text == "+") {
        op = Op::kPlus;
        precedence = 90;
      }
      if (op != Op::kNone) {
        advance();
        NodePtr operand = parse_expression(precedence);
        if (!operand) return nullptr;
        return make_unary(t, op, t.text, std::move(operand));
      }
      if (t.text == "(") {
        advance();
        NodePtr inner = parse_expression(0);
        if (!inner || !expect(")")) return nullptr;
        return parse_postfix(std::move(inner));
      }
      if (t.text == ".") {
        // `.name` inside a closure is `#.name`: a pointer that the postfix loop extends.
        if (closure_depth_ == 0) {
          return fail(t, "'.name' without an operand is only allowed inside a predicate closure");
        }
        return parse_postfix(make(NodeKind::kPointer, t));
      }
    }
    if (t.kind == TokKind::kPointer) {
      if (closure_depth_ == 0 || (!t.text.empty() && t.text != "index")) return fail_pointer(t);
      advance();
      return parse_postfix(make(t.text.empty() ? NodeKind::kPointer : NodeKind::kPointerIndex, t));
    }
    return parse_secondary();
  }

  NodePtr parse_secondary() {
    const Token& t = cur();
    switch (t.kind) {
      case TokKind::kIdent:
        advance();
        if (t.text == "true" || t.text == "false" || t.text == "nil") {
          return parse_postfix(make_literal(t));
        }
        if (is_op("(")) return parse_postfix(parse_call(t));
        return parse_postfix(make_named(NodeKind::kIdent, t, t.text));
      case TokKind::kInt:
      case TokKind::kFloat:
      case TokKind::kString:
        advance();
        return parse_postfix(make_literal(t));
      case TokKind::kOp:
        if (t.text == "[") return parse_postfix(parse_array());
        if (t.text == "{") return parse_postfix(parse_map());
        return fail(t, "expected an expression, found " + describe(t));
      default:
        if (t.kind == TokKind::kEnd) return fail_unexpected(t);
        return fail(t, "expected an expression, found " + describe(t));
    }
  }

  NodePtr parse_postfix(NodePtr node) {
    while (node) {
      if (is_op(".") || is_op("?.")) {
        bool optional = is_op("?.");
        advance();
        if (optional && is_op("[")) {
          node = parse_index(std::move(node), true);
          continue;
        }
        const Token& name = cur();
        bool word = name.kind == TokKind::kIdent ||
                    (name.kind == TokKind::kOp && is_word_operator(name.text));
        if (!word) return fail_member(name, false);
        advance();
        if (is_op("(")) return fail_member(name, true);
        node = make_named(NodeKind::kMember, name, name.text, std::move(node), optional);
      } else if (is_op("[")) {
        node = parse_index(std::move(node), false);
      } else {
        break;
      }
    }
    return node;
  }

  NodePtr parse_index(NodePtr object, bool optional) {
    const Token& bracket = cur();
    if (!expect("[")) return nullptr;
    NodePtr from;
    if (!is_op(":")) {
      from = parse_expression(0);
      if (!from) return nullptr;
      if (!is_op(":")) {
        if (!expect("]")) return nullptr;
        auto n = make(NodeKind::kIndex, bracket, {std::move(object), std::move(from)});
        if (n) n->optional = optional;
        return n;
      }
    }
    advance();  // ':'
    NodePtr to;
    if (!is_op("]")) {
      to = parse_expression(0);
      if (!to) return nullptr;
    }
    if (!expect("]")) return nullptr;
    auto n = make(NodeKind::kSlice, bracket, {std::move(object), std::move(from), std::move(to)});
    if (n) n->optional = optional;
    return n;
  }

  NodePtr parse_call(const Token& name) {
    const Builtin* builtin = find_builtin(name.text);
    if (!builtin) return fail_call(name, nullptr, 0);
    if (!expect("(")) return nullptr;
    std::vector<NodePtr> args;
    if (builtin->predicate) {
      NodePtr collection = parse_expression(0);
      if (!collection) return nullptr;
      args.push_back(std::move(collection));
      if (!(builtin->min_args == 1 && is_op(")"))) {
        if (!expect(",")) return nullptr;
        NodePtr body = parse_closure();
        if (!body) return nullptr;
        args.push_back(std::move(body));
        if (is_op(",")) advance();
      }
      if (!expect(")")) return nullptr;
    } else {
      while (!is_op(")")) {
        if (!args.empty()) {
          if (!expect(",")) return nullptr;
          if (is_op(")")) break;
        }
        NodePtr arg = parse_expression(0);
        if (!arg) return nullptr;
        args.push_back(std::move(arg));
      }
      advance();  // ')'
      auto count = static_cast<int>(args.size());
      if (count < builtin->min_args || (builtin->max_args >= 0 && count > builtin->max_args)) {
        return fail_call(name, builtin, args.size());
      }
    }
    auto n = make(NodeKind::kCall, name, std::move(args));
    if (!n) return nullptr;
    n->name = name.text;
    n->builtin = builtin;
    return n;
  }

  // The predicate of all()/any()/...: `{ body }` or a bare expression, where `#` is allowed.
  NodePtr parse_closure() {
    bool braces = is_op("{");
    if (braces) advance();
    ++closure_depth_;
    NodePtr body = parse_expression(0);
    --closure_depth_;
    if (!body) return nullptr;
    if (braces && !expect("}")) return nullptr;
    return body;
  }

  NodePtr parse_array() {
    const Token& open = cur();
    advance();
    std::vector<NodePtr> elements;
    while (!is_op("]")) {
      if (!elements.empty()) {
        if (!expect(",")) return nullptr;
        if (is_op("]")) break;
      }
      NodePtr e = parse_expression(0);
      if (!e) return nullptr;
      elements.push_back(std::move(e));
    }
    advance();  // ']'
    return make(NodeKind::kArray, open, std::move(elements));
  }

  NodePtr parse_map() {
    const Token& open = cur();
    advance();
    std::vector<NodePtr> pairs;
    while (!is_op("}")) {
      if (!pairs.empty()) {
        if (!expect(",")) return nullptr;
        if (is_op("}")) break;
      }
      const Token& k = cur();
      NodePtr key;
      if (k.kind == TokKind::kIdent || k.kind == TokKind::kString || k.kind == TokKind::kInt ||
          k.kind == TokKind::kFloat || (k.kind == TokKind::kOp && is_word_operator(k.text))) {
        advance();
        key = make_map_key(k);
      } else if (k.kind == TokKind::kOp && k.text == "(") {
        advance();
        key = parse_expression(0);
        if (key && !expect(")")) return nullptr;
      } else {
        return fail_map_key(k);
      }
      if (!key || !expect(":")) return nullptr;
      NodePtr value = parse_expression(0);
      if (!value) return nullptr;
      pairs.push_back(std::move(key));
      pairs.push_back(std::move(value));
    }
    advance();  // '}'
    return make(NodeKind::kMap, open, std::move(pairs));
  }

  // A literal key: names and keywords stand for themselves, numbers for their source text.
  [[gnu::noinline]] NodePtr make_map_key(const Token& k) {
    auto literal = make(NodeKind::kLiteral, k);
    if (!literal) return nullptr;
    bool number = k.kind == TokKind::kInt || k.kind == TokKind::kFloat;
    literal->value = number ? k.raw : k.text;
    return literal;
  }

  std::string_view source_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int nesting_ = 0;
  int closure_depth_ = 0;
  std::optional<Error> error_;
};

}  // namespace

Result<std::shared_ptr<const Program>> parse_program(std::string_view source) {
  if (source.size() > kMaxSourceBytes) {
    return make_error(ErrorCode::invalid_argument,
                      "expression is " + std::to_string(source.size()) +
                          " bytes long; the limit is " + std::to_string(kMaxSourceBytes));
  }
  Parser parser(source);
  Result<NodePtr> root = parser.run();
  if (!root.ok()) return std::move(root).error();
  auto program = std::make_shared<Program>();
  program->source = std::string(source);
  program->root = std::move(root).value();
  return std::shared_ptr<const Program>(std::move(program));
}

}  // namespace reglet::check::expr_detail
