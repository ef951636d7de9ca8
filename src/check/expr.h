// Expectation expressions: the subset of expr-lang (github.com/expr-lang/expr) that Reglet
// profiles use, evaluated over an observation's evidence (SPEC §5).
//
// Values are nlohmann::json: nil (null), bool, int (int64), float (double), string, array, map
// (object). JSON unsigned integers above INT64_MAX are treated as floats everywhere.
//
// Decisions, where expr-lang leaves room or C++ differs from Go:
//
// Syntax and precedence follow expr-lang's parser (parser/parser.go, parser/operator), lowest
// first:
//   c ? a : b                      ternary, right-associative; the condition must be a bool
//   || or                          left-assoc, short-circuit, bool operands only
//   && and                         left-assoc, short-circuit, bool operands only
//   == != < <= > >= in matches contains startsWith endsWith, and `not in`, `not matches`,
//                                  `not contains`, `not startsWith`, `not endsWith`.
//                                  Comparisons chain like expr-lang: `1 < x < 10` means
//                                  `1 < x && x < 10` (so `1 < 2 == true` is false).
//   + -                            left-assoc
//   * / %                          left-assoc
//   ** ^                           power, right-assoc
//   ??                             nil coalescing. As in expr-lang it binds tighter than every
//                                  other binary operator (NOT lowest): `x > a ?? 0` means
//                                  `x > (a ?? 0)`, and an operator after `a ?? b` at the same
//                                  level (`a ?? 0 > 5`) is a parse error, exactly as in expr-lang.
//   Unary operators sit between these levels as in expr-lang: the operand of `!`/`not` extends
//   over * / % ** ?? (so `!a == b` is `(!a) == b`, `not a * b` is `not (a * b)`), and the
//   operand of unary `-`/`+` over ** and ?? (`-2 ** 2` is `-(2 ** 2)`).
//   Postfix: member `a.b`, optional member `a?.b`, index `a[i]`, optional index `a?.[i]`, slice
//   `a[i:j]`, `a[:j]`, `a[i:]`, `a[:]`. Calls: only the builtin functions below, by name.
//   Not supported (parse errors): `let`, the pipe `|`, ranges `..`, method calls `a.f()`,
//   `#acc`, `?:` without a middle operand, date/time functions.
//
// Literals: integers (decimal, 0x hex, 0o octal, 0b binary, `_` separators; `0600` is decimal
// 600 as in expr-lang; the smallest int64 has no literal, write `-9223372036854775807 - 1`),
// floats (`1.5`, `.5`, `1e3`), strings in "..." or '...' with Go escapes (\a \b \f \n \r \t
// \v \\ \' \" \xHH \ooo \uXXXX \UXXXXXXXX) and raw `...` strings, `true`, `false`, `nil`,
// arrays `[1, 2]`, maps `{a: 1, "b": 2, 3: x, (k): v}` (keys are strings; a parenthesized key
// must evaluate to a string). Trailing commas are accepted. Comments `// ...` and `/* ... */`.
// Names are ASCII letters, digits, `_` and `$` plus any non-ASCII character (expr-lang allows
// Unicode letters); keywords may be used as member names (`data.contains`).
//
// Names: a bare identifier is looked up in `vars`, then in `*fallback`; an unknown name is nil.
//
// Member and index access:
//   - a missing map member or key yields nil; member access or indexing on nil is an error
//     unless written with `?.`, which short-circuits the rest of the chain to nil (`a?.b.c`);
//   - arrays take integer indexes (floats are not accepted), negative ones count from the end;
//     out of range is an error;
//   - strings take integer indexes and yield the one-byte string at that byte offset;
//   - slices work on arrays and strings (bytes), negative bounds count from the end, and bounds
//     are clamped to the valid range like expr-lang (slicing never fails on range).
//
// Types:
//   - int op int stays int for + - * % (overflow is an error); `/` always yields a float
//     (division by zero is an ERROR, where Go would yield ±Inf); `%` takes ints only (modulo by
//     zero is an error); `**` always yields a float (math.Pow semantics, may be ±Inf/NaN);
//     mixing int and float gives float.
//   - `+` also concatenates two strings or two arrays.
//   - `==`/`!=` never fail: values of different types are unequal, except that ints and floats
//     compare numerically; nil == nil; arrays and maps compare deeply.
//   - `<` `<=` `>` `>=` compare numbers with numbers or strings with strings (bytewise); any
//     other pairing is an ERROR ("cannot compare string with int using '<'"). NaN compares
//     false.
//   - `!`/`not`, `&&`, `||` and the ternary condition require bools (a right operand that is
//     not evaluated because of short-circuiting is not checked).
//   - `in`: array membership (by `==`) or map key membership (the key must be a string);
//     `x in nil` is false; any other right side is an error. `in` is not a substring test.
//   - `contains`, `startsWith`, `endsWith` need two strings, otherwise an error.
//   - `matches` needs two strings; the pattern is a std::regex ECMAScript regex searched
//     anywhere in the subject (like Go's MatchString). A literal pattern is compiled once at
//     parse time (a bad one is a parse error naming it); a computed one on every evaluation. A
//     leading `(?i)`, `(?m)` or `(?im)` flag group (Go syntax) is translated; back-references
//     are rejected (RE2 has none either). Matching is bytewise: `.` matches one byte. Patterns
//     are limited in size and repetition (at most 1000, as in RE2; see expr_regex.cc), and
//     libstdc++'s polynomial (non-backtracking) executor scans the subject once, so matching
//     neither backtracks exponentially nor recurses per character.
//
// Builtins. A call with the wrong number of arguments is a PARSE error (it can never succeed,
// and expr-lang's checker rejects it at compile time too); wrong argument types are evaluation
// errors. Both name the function.
//   len(x)                 bytes of a string (Go's len), elements of an array, members of a map
//   lower, upper(s)        case mapping for ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic
//   trim(s[, cutset])      Go strings.TrimSpace / strings.Trim
//   trimPrefix(s[, p]), trimSuffix(s[, p])   p defaults to " " as in expr-lang
//   split(s, sep[, n])     Go strings.Split / SplitN
//   join(arr[, sep])       array of strings, sep defaults to ""
//   replace(s, old, new[, n]), indexOf(s, sub), lastIndexOf(s, sub)   (byte offsets, -1 if none)
//   hasPrefix(s, p), hasSuffix(s, p)
//   string(x)              strings unchanged; ints in decimal; floats like Go's %v (1e+06);
//                          bools true/false; nil "<nil>"; arrays and maps as compact JSON (Go
//                          would print [1 2] / map[a:1]; JSON is more useful in reports)
//   int(x)                 from int, float (truncates; NaN/out of range is an error), decimal
//                          string (Go strconv.Atoi)
//   float(x)               from int, float, string (decimal, "inf", "nan"; no hex floats)
//   abs(x), ceil(x), floor(x), round(x)   (ceil/floor/round yield floats like expr-lang)
//   min(...), max(...)     numbers or arrays of numbers (flattened); keeps the winner's type;
//                          nil when there are no numbers at all; other values are an error
//   keys(m), values(m)     in key order (sorted bytewise; Go's order would be random)
//   first(a), last(a)      nil for an empty array or nil
//   get(x, k)              like x[k] but nil instead of any error
//   type(x)                "nil" "bool" "int" "float" "string" "array" "map"
//   toJSON(x), fromJSON(s)
//   Predicates, whose second argument is a closure written `{# > 0}` or just `# > 0`, where `#`
//   is the current element, `#.f` or `.f` its member and `#index` its index (closures nest; `#`
//   is the innermost element):
//   all, any, none, one, filter, map, find, findIndex, findLast, findLastIndex,
//   count(arr[, pred]) and sum(arr[, pred]) (without a predicate: count the `true` elements, sum
//   the numbers). Predicates other than map/sum must produce bools. The first argument must be
//   an array (nil is an error, as in expr-lang).
//
// Errors: parse and evaluation errors are ErrorCode::invalid_argument with a message starting
// "column N: " (N is 1-based and counts Unicode code points of the source; evaluation errors
// point at the operator, function or member concerned). Internal failures (allocation) are
// ErrorCode::internal. No exception escapes this API.
//
// Limits, so that no input can exhaust the stack or memory: source at most 64 KiB; parser
// nesting (parentheses, unary operators, operands, literals, closures) at most 200 levels;
// syntax-tree depth at most 500 (long flat chains such as `a || b || ...`); 10 million
// evaluation steps; about 256 MiB of values built per evaluation; values nested deeper than 512
// levels are never copied (copying recurses), printed or parsed. At these limits parsing and
// evaluation need roughly 300 KiB of stack (about 600 KiB in unoptimized builds).
//
// Thread safety: an Expression is immutable after parse(); copies share the syntax tree and
// any number of threads may evaluate the same Expression concurrently.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "reglet/error.h"

namespace reglet::check {

namespace expr_detail {
struct Program;
}  // namespace expr_detail

class Expression {
 public:
  // An empty expression: source() is "" and evaluate() reports an error. Exists so that
  // Expression can be a member of aggregates that are filled in later.
  Expression();

  // Parses; errors (invalid_argument) say what is wrong and where: "column 12: expected ')'".
  static Result<Expression> parse(std::string_view source);

  // Evaluates with `vars` (a JSON object of top-level names). A bare identifier is looked up in
  // `vars`, then in `(*fallback)` when given (Reglet: members of `data` are visible by bare
  // name). The references must stay valid during the call only.
  Result<nlohmann::json> evaluate(const nlohmann::json& vars,
                                  const nlohmann::json* fallback = nullptr) const;

  const std::string& source() const;

 private:
  explicit Expression(std::shared_ptr<const expr_detail::Program> program);

  std::shared_ptr<const expr_detail::Program> program_;
};

// Convenience for expectations: evaluates and requires a boolean result; a non-boolean result is
// an error ("expression produced a string, not a boolean").
Result<bool> evaluate_condition(const Expression& expression, const nlohmann::json& vars,
                                const nlohmann::json* fallback = nullptr);

}  // namespace reglet::check
