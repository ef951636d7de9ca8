// Private to the expression implementation (expr*.cc): syntax tree, builtin table, value helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "reglet/error.h"

namespace reglet::check::expr_detail {

using nlohmann::json;

inline constexpr std::size_t kMaxSourceBytes = 64 * 1024;
inline constexpr int kMaxNesting = 200;    // parser recursion
inline constexpr int kMaxTreeDepth = 500;  // evaluator recursion
inline constexpr std::uint64_t kMaxSteps = 10'000'000;
inline constexpr std::size_t kMaxValueDepth = 512;
inline constexpr std::size_t kMaxProducedBytes = 256u << 20;  // per evaluation, approximate

// ---------------------------------------------------------------------------------------------
// Syntax tree. Nodes are immutable once built and shared (comparison chains reuse an operand).

enum class NodeKind {
  kLiteral,       // value
  kIdent,         // name
  kPointer,       // `#`: the innermost closure's element
  kPointerIndex,  // `#index`
  kArray,         // children: elements
  kMap,           // children: key, value, key, value... (keys evaluate to strings)
  kMember,        // children[0].name; optional for `?.`
  kIndex,         // children[0][children[1]]; optional for `?.[`
  kSlice,         // children[0][children[1]:children[2]]; bounds may be null
  kUnary,         // op children[0]
  kBinary,        // children[0] op children[1]
  kConditional,   // children[0] ? children[1] : children[2]
  kCall,          // builtin(children...); for predicates children[1] is the closure body
};

enum class Op {
  kNone,
  // unary
  kNot,
  kNeg,
  kPlus,
  // binary
  kOr,
  kAnd,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kMatches,
  kContains,
  kStartsWith,
  kEndsWith,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kCoalesce,
};

enum class BuiltinId {
  kLen,
  kType,
  kAbs,
  kCeil,
  kFloor,
  kRound,
  kInt,
  kFloat,
  kString,
  kTrim,
  kTrimPrefix,
  kTrimSuffix,
  kUpper,
  kLower,
  kSplit,
  kReplace,
  kJoin,
  kIndexOf,
  kLastIndexOf,
  kHasPrefix,
  kHasSuffix,
  kMin,
  kMax,
  kFirst,
  kLast,
  kGet,
  kKeys,
  kValues,
  kToJson,
  kFromJson,
  // Reglet's own helpers (its expression environment adds them to expr-lang)
  kStrContains,
  kIsIPv4,
  kIsIPv6,
  // predicates
  kAll,
  kAny,
  kNone,
  kOne,
  kFilter,
  kMap,
  kFind,
  kFindIndex,
  kFindLast,
  kFindLastIndex,
  kCount,
  kSum,
};

struct Builtin {
  std::string_view name;
  BuiltinId id;
  int min_args;
  int max_args;    // -1: variadic
  bool predicate;  // the second argument is a closure
};

const Builtin* find_builtin(std::string_view name);

struct Regex {
  std::string pattern;
  std::regex re;
};

// Compiles a Go-flavoured pattern (see expr.h) or says why it cannot.
Result<std::shared_ptr<const Regex>> compile_regex(std::string_view pattern);

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  int column = 1;  // 1-based, in code points
  int depth = 1;   // height of this subtree
  Op op = Op::kNone;
  std::string spelling;  // operator as written ("&&" or "and"), for messages
  std::string name;      // identifier, member or function name
  json value;            // literal
  std::vector<NodePtr> children;
  bool optional = false;
  const Builtin* builtin = nullptr;
  std::shared_ptr<const Regex> regex;  // `matches` with a literal pattern
};

struct Program {
  std::string source;
  NodePtr root;
};

// Parses `source` into a program (errors are invalid_argument "column N: ...").
Result<std::shared_ptr<const Program>> parse_program(std::string_view source);

// Evaluates a program.
Result<json> evaluate_program(const Program& program, const json& vars, const json* fallback);

// ---------------------------------------------------------------------------------------------
// Values.

enum class Type { kNil, kBool, kInt, kFloat, kString, kArray, kMap, kOther };

Type type_of(const json& value);
std::string_view type_name(Type type);
inline std::string_view type_name(const json& value) {
  return type_name(type_of(value));
}
// "a string", "an int", "nil": for "expression produced a string, not a boolean".
std::string type_with_article(const json& value);

inline bool is_number(Type t) {
  return t == Type::kInt || t == Type::kFloat;
}
std::int64_t to_int(const json& value);  // requires type kInt
double to_float(const json& value);      // requires type kInt or kFloat

// Deep equality: numbers numerically across int/float, otherwise same type and same contents.
// Iterative, so arbitrarily deep values cannot exhaust the stack.
bool deep_equal(const json& a, const json& b);

// Approximate memory of a value (32 bytes per node plus string and key bytes) and its nesting
// depth; the walk stops once the depth exceeds `depth_limit` (iterative).
struct Footprint {
  std::size_t bytes = 0;
  std::size_t depth = 0;
};
Footprint measure(const json& value, std::size_t depth_limit);

// True when `value` nests arrays/maps deeper than `limit` (iterative).
inline bool deeper_than(const json& value, std::size_t limit) {
  return measure(value, limit).depth > limit;
}

// Go's %v for float64 (strconv 'g' with shortest precision): shortest round-trip digits, in
// exponent form when the decimal exponent is < -4 or >= 6 ("1e+06", "123456", "1e-05").
std::string format_go_float(double value);

// Compact JSON that never throws (invalid UTF-8 is replaced).
std::string dump_json(const json& value, int indent = -1);

// UTF-8 helpers. Invalid bytes decode as U+FFFD and advance one byte.
char32_t decode_utf8(std::string_view s, std::size_t& pos);
void append_utf8(std::string& out, char32_t cp);
int column_of(std::string_view source, std::size_t offset);  // 1-based, code points

}  // namespace reglet::check::expr_detail
