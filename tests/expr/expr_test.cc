// Tests for the expectation expression language (src/check/expr.h).
#include "check/expr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace reglet::check {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Same value and same kind of number: an int result must not compare equal to an expected float.
::testing::AssertionResult SameJson(const json& actual, const json& expected) {
  auto kind = [](const json& j) {
    if (j.is_number_integer()) return std::string("int");  // signed and unsigned alike
    if (j.is_number_float()) return std::string("float");
    return std::string(j.type_name());
  };
  if (kind(actual) != kind(expected) || actual != expected) {
    return ::testing::AssertionFailure()
           << "got " << actual.dump() << " (" << kind(actual) << "), want " << expected.dump()
           << " (" << kind(expected) << ")";
  }
  return ::testing::AssertionSuccess();
}

json Eval(std::string_view source, const json& vars = json::object(),
          const json* fallback = nullptr) {
  auto parsed = Expression::parse(source);
  EXPECT_TRUE(parsed.ok()) << source << " -> " << (parsed.ok() ? "" : parsed.error().message);
  if (!parsed.ok()) return "<parse error>";
  auto value = parsed->evaluate(vars, fallback);
  EXPECT_TRUE(value.ok()) << source << " -> " << (value.ok() ? "" : value.error().message);
  if (!value.ok()) return "<evaluation error>";
  return *value;
}

std::string ParseError(std::string_view source) {
  auto parsed = Expression::parse(source);
  EXPECT_FALSE(parsed.ok()) << source << " parsed unexpectedly";
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::invalid_argument) << source;
  return parsed.error().message;
}

std::string EvalError(std::string_view source, const json& vars = json::object(),
                      const json* fallback = nullptr) {
  auto parsed = Expression::parse(source);
  EXPECT_TRUE(parsed.ok()) << source << " -> " << (parsed.ok() ? "" : parsed.error().message);
  if (!parsed.ok()) return "";
  auto value = parsed->evaluate(vars, fallback);
  EXPECT_FALSE(value.ok()) << source << " evaluated to " << (value.ok() ? value->dump() : "");
  if (value.ok()) return "";
  EXPECT_EQ(value.error().code, ErrorCode::invalid_argument) << source;
  return value.error().message;
}

struct Case {
  const char* source;
  json expected;
};

void RunTable(const std::vector<Case>& cases, const json& vars = json::object()) {
  for (const Case& c : cases) {
    EXPECT_TRUE(SameJson(Eval(c.source, vars), c.expected)) << "source: " << c.source;
  }
}

// ---------------------------------------------------------------------------------------------
// Literals

TEST(ExprLiterals, Numbers) {
  RunTable({
      {"0", 0},
      {"42", 42},
      {"1_000_000", 1000000},
      {"0x1F", 31},
      {"0XfF", 255},
      {"0x_ff", 255},
      {"0o17", 15},
      {"0b101", 5},
      {"0600", 600},  // decimal, as in expr-lang
      {"9223372036854775807", std::numeric_limits<std::int64_t>::max()},
      {"1.5", 1.5},
      {".5", 0.5},
      {"1e3", 1000.0},
      {"1E-2", 0.01},
      {"2.5e+2", 250.0},
      {"1_0.2_5", 10.25},
  });
}

TEST(ExprLiterals, NumberErrors) {
  EXPECT_THAT(ParseError("9223372036854775808"), HasSubstr("too large"));
  EXPECT_THAT(ParseError("0x10000000000000000"), HasSubstr("too large"));
  EXPECT_THAT(ParseError("12abc"), HasSubstr("column 1: bad number syntax '12abc'"));
  EXPECT_THAT(ParseError("1e999"), HasSubstr("out of range"));
  EXPECT_THAT(ParseError("0x"), HasSubstr("bad number syntax"));
  EXPECT_THAT(ParseError("1..3"), HasSubstr("range operator '..' is not supported"));
}

TEST(ExprLiterals, Strings) {
  RunTable({
      {R"("hello")", "hello"},
      {R"('single')", "single"},
      {R"("")", ""},
      {R"("a\nb\tc")", "a\nb\tc"},
      {R"("q\"q")", "q\"q"},
      {R"('it\'s')", "it's"},
      {R"("back\\slash")", "back\\slash"},
      {R"("\u00e9")", "\xC3\xA9"},
      {R"("\U0001F600")", "\xF0\x9F\x98\x80"},
      {R"("\x41\101")", "AA"},
      {R"("\a\b\f\v\r")", "\a\b\f\v\r"},
      {"`raw \\n string`", "raw \\n string"},
      {R"("naïve ☃")", "na\xC3\xAFve \xE2\x98\x83"},
  });
}

TEST(ExprLiterals, StringErrors) {
  EXPECT_EQ(ParseError(R"("abc)"), "column 1: unterminated string");
  EXPECT_EQ(ParseError(R"(1 + 'abc)"), "column 5: unterminated string");
  EXPECT_EQ(ParseError(R"("a\qb")"), "column 3: invalid escape sequence '\\q'");
  EXPECT_THAT(ParseError(R"("\u12")"), HasSubstr("4 hexadecimal digits"));
  EXPECT_THAT(ParseError(R"("\uD800")"), HasSubstr("invalid Unicode code point"));
  EXPECT_THAT(ParseError(R"("\U00110000")"), HasSubstr("invalid Unicode code point"));
  EXPECT_THAT(ParseError("`abc"), HasSubstr("unterminated raw string"));
}

TEST(ExprLiterals, BoolNilArraysMaps) {
  RunTable({
      {"true", true},
      {"false", false},
      {"nil", nullptr},
      {"[]", json::array()},
      {"[1, 'a', true, nil]", json::array({1, "a", true, nullptr})},
      {"[1, 2,]", json::array({1, 2})},
      {"[[1], [2, [3]]]", json::parse("[[1],[2,[3]]]")},
      {"{}", json::object()},
      {R"({a: 1, "b c": 2, 'd': [3]})", json::parse(R"({"a":1,"b c":2,"d":[3]})")},
      {"{a: 1, a: 2}", json::parse(R"({"a":2})")},
      {"{1: 'one', 2.5: 'x'}", json::parse(R"({"1":"one","2.5":"x"})")},
      {"{('k' + 'ey'): 1}", json::parse(R"({"key":1})")},
      {"{in: 1, contains: 2,}", json::parse(R"({"in":1,"contains":2})")},
      {"{a: {b: {c: 1}}}.a.b.c", 1},
      {"[10, 20, 30][1]", 20},
  });
  EXPECT_THAT(EvalError("{(1): 2}"), HasSubstr("map keys must be strings, got int"));
  EXPECT_THAT(ParseError("{[1]: 2}"), HasSubstr("a map key must be"));
  EXPECT_THAT(ParseError("[1 2]"), HasSubstr("column 4: expected ','"));
}

TEST(ExprLiterals, CommentsAndWhitespace) {
  EXPECT_TRUE(SameJson(Eval("1 + /* two */ 2 // trailing"), 3));
  EXPECT_TRUE(SameJson(Eval("\n\t 1\r\n +\n 2 \n"), 3));
  EXPECT_THAT(ParseError("1 /* open"), HasSubstr("unclosed comment"));
}

// ---------------------------------------------------------------------------------------------
// Arithmetic

TEST(ExprArithmetic, Results) {
  RunTable({
      {"1 + 2", 3},
      {"1 + 2.5", 3.5},
      {"1.5 + 1.5", 3.0},
      {"10 - 3", 7},
      {"3 - 10", -7},
      {"4 * 5", 20},
      {"4 * 0.5", 2.0},
      {"7 / 2", 3.5},
      {"6 / 3", 2.0},  // `/` always yields a float, like expr-lang
      {"7 % 3", 1},
      {"-7 % 3", -1},
      {"7 % -3", 1},
      {"2 ** 10", 1024.0},
      {"2 ^ 3", 8.0},
      {"4 ** 0.5", 2.0},
      {"-5", -5},
      {"+5", 5},
      {"-2.5", -2.5},
      {"- -3", 3},
      {"'ab' + 'cd'", "abcd"},
      {"[1] + [2, 3]", json::array({1, 2, 3})},
      {"[] + []", json::array()},
      {"0.1 + 0.2 > 0.3", true},
  });
}

TEST(ExprArithmetic, Errors) {
  EXPECT_EQ(EvalError("1 + 'a'"), "column 3: cannot apply '+' to int and string");
  EXPECT_EQ(EvalError("'a' - 'b'"), "column 5: cannot apply '-' to string and string");
  EXPECT_EQ(EvalError("[1] * 2"), "column 5: cannot apply '*' to array and int");
  EXPECT_EQ(EvalError("nil + 1"), "column 5: cannot apply '+' to nil and int");
  EXPECT_EQ(EvalError("true + true"), "column 6: cannot apply '+' to bool and bool");
  EXPECT_EQ(EvalError("1 / 0"), "column 3: division by zero");
  EXPECT_EQ(EvalError("1.5 / 0.0"), "column 5: division by zero");
  EXPECT_EQ(EvalError("1 % 0"), "column 3: modulo by zero");
  EXPECT_EQ(EvalError("5.5 % 2"), "column 5: '%' needs two ints, got float and int");
  EXPECT_EQ(EvalError("-'x'"), "column 1: unary '-' needs a number, got string");
  EXPECT_EQ(EvalError("+nil"), "column 1: unary '+' needs a number, got nil");
}

TEST(ExprArithmetic, IntegerOverflowIsAnError) {
  EXPECT_EQ(EvalError("9223372036854775807 + 1"), "column 21: integer overflow in '+'");
  EXPECT_EQ(EvalError("-9223372036854775807 - 2"), "column 22: integer overflow in '-'");
  EXPECT_EQ(EvalError("4611686018427387904 * 2"), "column 21: integer overflow in '*'");
  EXPECT_THAT(EvalError("-x", {{"x", std::numeric_limits<std::int64_t>::min()}}),
              HasSubstr("integer overflow in unary '-'"));
  EXPECT_TRUE(SameJson(Eval("x % -1", {{"x", std::numeric_limits<std::int64_t>::min()}}), 0));
  EXPECT_TRUE(SameJson(Eval("-9223372036854775807 - 1"), std::numeric_limits<std::int64_t>::min()));
  // Floats follow IEEE instead.
  EXPECT_TRUE(SameJson(Eval("9223372036854775807 + 1.0"), 9223372036854775808.0));
}

TEST(ExprArithmetic, UnsignedJsonNumbers) {
  json vars = json::parse(R"({"small": 5, "huge": 18446744073709551615})");
  EXPECT_TRUE(SameJson(Eval("small + 1", vars), 6));
  EXPECT_TRUE(SameJson(Eval("small * -2", vars), -10));
  EXPECT_TRUE(SameJson(Eval("huge > 1", vars), true));
  EXPECT_TRUE(SameJson(Eval("type(huge)", vars), "float"));
  EXPECT_TRUE(SameJson(Eval("huge + 1", vars), 18446744073709551616.0));
}

// ---------------------------------------------------------------------------------------------
// Precedence and associativity (expr-lang's operator table)

TEST(ExprPrecedence, Table) {
  RunTable({
      {"1 + 2 * 3", 7},
      {"(1 + 2) * 3", 9},
      {"2 * 3 + 4", 10},
      {"10 - 4 - 3", 3},  // left-assoc
      {"100 / 10 / 5", 2.0},
      {"2 * 3 % 4", 2},  // (2 * 3) % 4
      {"17 % 5 * 2", 4},
      {"2 ** 3 ** 2", 512.0},  // right-assoc
      {"(2 ** 3) ** 2", 64.0},
      {"2 ^ 3 ^ 2", 512.0},
      {"-2 ** 2", -4.0},  // unary minus binds looser than **
      {"(-2) ** 2", 4.0},
      {"-2 * 3", -6},
      {"2 * -3", -6},
      {"- 2 + 3", 1},
      {"1 + 2 == 3", true},
      {"3 == 1 + 2", true},
      {"1 + 2 > 2 * 1", true},
      {"true || false && false", true},  // && binds tighter
      {"(true || false) && false", false},
      {"false && false || true", true},
      {"true or false and false", true},
      {"!true == false", true},  // (!true) == false
      {"!(true == false)", true},
      {"not true or true", true},
      {"not (true or true)", false},
      {"!false && false", false},
      {"1 < 2 && 2 < 3", true},
      {"1 < 2 == true", false},  // comparisons chain: 1 < 2 && 2 == true
      {"1 < 2 < 3", true},
      {"3 > 2 > 1", true},
      {"1 < 3 < 2", false},
      {"1 == 1 == 1", true},
      {"'a' + 'b' == 'ab'", true},
      {"2 in [1, 2] == true", false},  // chained: (2 in [1,2]) && ([1,2] == true)
      {"(2 in [1, 2]) == true", true},
      {"1 + nil ?? 2", 3},  // ?? binds tighter than +
      {"nil ?? nil ?? 3", 3},
      {"2 > x ?? 1", true},  // 2 > (x ?? 1): ?? binds tighter than any other operator
      {"true ? 1 : 2 + 3", 1},
      {"false ? 1 : 2 + 3", 5},
      {"false || true ? 'y' : 'n'", "y"},
      {"1 > 2 ? 'a' : 1 < 2 ? 'b' : 'c'", "b"},  // right-assoc ternary
      {"true ? false ? 1 : 2 : 3", 2},
      {"-(1 + 2) * 3", -9},
      {"2 * (3 + 4) ** 2", 98.0},
  });
}

TEST(ExprPrecedence, CoalesceCannotBeMixedWithoutParentheses) {
  // expr-lang rejects an operator after `a ?? b` at the same level.
  EXPECT_EQ(ParseError("a ?? b > 1"),
            "column 8: operator '>' and '?\?' cannot be mixed without parentheses");
  EXPECT_THAT(ParseError("a ?? 1 + 1"), HasSubstr("cannot be mixed"));
  EXPECT_TRUE(SameJson(Eval("(a ?? 1) + 1"), 2));
  EXPECT_TRUE(SameJson(Eval("1 + (a ?? 1)"), 2));
}

// ---------------------------------------------------------------------------------------------
// Logic

TEST(ExprLogic, TruthTables) {
  RunTable({
      {"true && true", true},
      {"true && false", false},
      {"false && true", false},
      {"false && false", false},
      {"true || true", true},
      {"true || false", true},
      {"false || true", true},
      {"false || false", false},
      {"true and true", true},
      {"true or false", true},
      {"!true", false},
      {"!false", true},
      {"not true", false},
      {"not not true", true},
      {"!!false", false},
  });
}

TEST(ExprLogic, ShortCircuitSkipsTheRightSide) {
  // Each right side would fail if evaluated.
  EXPECT_TRUE(SameJson(Eval("false && (1 < 'a')"), false));
  EXPECT_TRUE(SameJson(Eval("true || (1 < 'a')"), true));
  EXPECT_TRUE(SameJson(Eval("false and nil.x"), false));
  EXPECT_TRUE(SameJson(Eval("true or len(1) > 0"), true));
  EXPECT_TRUE(SameJson(Eval("false && 1 / 0 > 1"), false));
  EXPECT_TRUE(SameJson(Eval("true ? 1 : 1 / 0"), 1));
  EXPECT_TRUE(SameJson(Eval("false ? 1 / 0 : 2"), 2));
  EXPECT_TRUE(SameJson(Eval("1 ?? (1 / 0)"), 1));
  // ... and is evaluated otherwise.
  EXPECT_THAT(EvalError("true && nil.x"), HasSubstr("cannot access member 'x' of nil"));
  EXPECT_THAT(EvalError("false || (1 < 'a')"), HasSubstr("cannot compare int with string"));
}

TEST(ExprLogic, OperandsMustBeBooleans) {
  EXPECT_EQ(EvalError("1 && true"), "column 3: left operand of '&&' must be a bool, got int");
  EXPECT_EQ(EvalError("true && 'x'"), "column 6: right operand of '&&' must be a bool, got string");
  EXPECT_EQ(EvalError("nil || true"), "column 5: left operand of '||' must be a bool, got nil");
  EXPECT_EQ(EvalError("false or 0"), "column 7: right operand of 'or' must be a bool, got int");
  EXPECT_EQ(EvalError("true and []"), "column 6: right operand of 'and' must be a bool, got array");
  EXPECT_EQ(EvalError("!1"), "column 1: '!' needs a bool operand, got int");
  EXPECT_EQ(EvalError("not 'yes'"), "column 1: 'not' needs a bool operand, got string");
  EXPECT_EQ(EvalError("!missing"), "column 1: '!' needs a bool operand, got nil");
  EXPECT_EQ(EvalError("1 ? 2 : 3"), "column 3: the condition of '?:' must be a bool, got int");
}

// ---------------------------------------------------------------------------------------------
// Comparison and equality

TEST(ExprCompare, Ordering) {
  RunTable({
      {"1 < 2", true},
      {"2 < 1", false},
      {"2 <= 2", true},
      {"3 >= 4", false},
      {"3 > 2.5", true},
      {"2.5 < 3", true},
      {"1 <= 1.0", true},
      {"-1 < 0", true},
      {"'abc' < 'abd'", true},
      {"'b' > 'abc'", true},
      {"'10' < '9'", true},
      {"'' < 'a'", true},
      {"'a' >= 'a'", true},
      {"'Z' < 'a'", true},
      {"'é' > 'z'", true},
  });
}

TEST(ExprCompare, MixedTypesAreAnError) {
  EXPECT_EQ(EvalError("1 < 'a'"), "column 3: cannot compare int with string using '<'");
  EXPECT_EQ(EvalError("'abcd' <= 12"), "column 8: cannot compare string with int using '<='");
  EXPECT_EQ(EvalError("nil > 0"), "column 5: cannot compare nil with int using '>'");
  EXPECT_EQ(EvalError("true >= false"), "column 6: cannot compare bool with bool using '>='");
  EXPECT_EQ(EvalError("[1] < [2]"), "column 5: cannot compare array with array using '<'");
  EXPECT_EQ(EvalError("data.size > '10'", {{"data", {{"size", 5}}}}),
            "column 11: cannot compare int with string using '>'");
}

TEST(ExprCompare, NaNComparesFalse) {
  json vars = {{"nan", std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_TRUE(SameJson(Eval("nan < 1", vars), false));
  EXPECT_TRUE(SameJson(Eval("nan >= 1", vars), false));
  EXPECT_TRUE(SameJson(Eval("nan == nan", vars), false));
  EXPECT_TRUE(SameJson(Eval("nan != nan", vars), true));
}

TEST(ExprCompare, Equality) {
  RunTable({
      {"1 == 1", true},
      {"1 == 1.0", true},
      {"1 != 1.0", false},
      {"1 == 2", false},
      {"1 == '1'", false},
      {"'1' != 1", true},
      {"nil == nil", true},
      {"nil == false", false},
      {"nil == 0", false},
      {"nil != ''", true},
      {"missing == nil", true},
      {"true == true", true},
      {"true == 1", false},
      {"'a' == 'a'", true},
      {"[1, 2] == [1, 2]", true},
      {"[1, 2] == [1.0, 2.0]", true},
      {"[1, 2] == [2, 1]", false},
      {"[1] == [1, 1]", false},
      {"{a: 1, b: [1]} == {b: [1], a: 1.0}", true},
      {"{a: 1} == {a: 1, b: 2}", false},
      {"{a: 1} == {b: 1}", false},
      {"[] == {}", false},
      {"[[1, [2]]] == [[1, [2]]]", true},
  });
}

TEST(ExprCompare, DeepValuesDoNotExhaustTheStack) {
  // Built in place: copying such a value would itself recurse 100000 levels deep.
  json vars = json::object();
  auto build = [](json& root) {
    root = json::array();
    json* cursor = &root;
    for (int i = 0; i < 100000; ++i) {
      cursor->push_back(json::array());
      cursor = &cursor->back();
    }
  };
  build(vars["a"]);
  build(vars["b"]);
  vars["list"] = json::array({1});
  build(vars["list"][0]);
  EXPECT_TRUE(SameJson(Eval("a == b", vars), true));
  EXPECT_TRUE(SameJson(Eval("a != b", vars), false));
  EXPECT_TRUE(SameJson(Eval("a in list", vars), true));
  EXPECT_TRUE(SameJson(Eval("len(a)", vars), 1));
  EXPECT_TRUE(SameJson(Eval("a[0][0][0] == a[0][0][0]", vars), true));
  EXPECT_THAT(EvalError("string(a)", vars), HasSubstr("nested deeper than 512 levels"));
  EXPECT_THAT(EvalError("toJSON(a)", vars), HasSubstr("nested deeper than 512 levels"));
  EXPECT_THAT(EvalError("[a]", vars), HasSubstr("cannot copy a value nested deeper than 512"));
  EXPECT_THAT(EvalError("{k: a}", vars), HasSubstr("cannot copy a value nested deeper"));
  EXPECT_THAT(EvalError("a", vars), HasSubstr("cannot copy a value nested deeper"));
  EXPECT_THAT(EvalError("list + []", vars), HasSubstr("cannot copy a value nested deeper"));
  EXPECT_THAT(EvalError("list[0:1]", vars), HasSubstr("cannot copy a value nested deeper"));
  EXPECT_THAT(EvalError("filter(list, true)", vars), HasSubstr("cannot copy a value nested"));
  EXPECT_THAT(EvalError("map(list, #)", vars), HasSubstr("cannot copy a value nested deeper"));
  EXPECT_THAT(EvalError("values({k: 1}) + values(fromJSON('{}')) + map(list, 1) + [a]", vars),
              HasSubstr("cannot copy"));
}

// ---------------------------------------------------------------------------------------------
// in, contains, startsWith, endsWith, matches

TEST(ExprMembership, In) {
  json vars = {{"tags", {"ssh", "baseline"}}, {"m", {{"k", 1}}}};
  RunTable(
      {
          {"'ssh' in tags", true},
          {"'web' in tags", false},
          {"'web' not in tags", true},
          {"'ssh' not in tags", false},
          {"not ('ssh' in tags)", false},
          {"1 in [1, 2]", true},
          {"1.0 in [1, 2]", true},
          {"'1' in [1, 2]", false},
          {"nil in [nil]", true},
          {"[1] in [[1], [2]]", true},
          {"'k' in m", true},
          {"'x' in m", false},
          {"'x' not in m", true},
          {"'a' in nil", false},
          {"'a' in missing", false},
          {"1 in []", false},
      },
      vars);
  EXPECT_EQ(EvalError("'a' in 'abc'"),
            "column 5: 'in' needs an array or a map on the right, got string (use 'contains' "
            "for substrings)");
  EXPECT_EQ(EvalError("1 in 5"), "column 3: 'in' needs an array or a map on the right, got int");
  EXPECT_EQ(EvalError("1 in {a: 1}"), "column 3: 'in' on a map needs a string key, got int");
}

TEST(ExprStrings, Operators) {
  RunTable({
      {"'hello world' contains 'o w'", true},
      {"'hello' contains ''", true},
      {"'hello' contains 'xyz'", false},
      {"'hello' not contains 'xyz'", true},
      {"'hello' startsWith 'he'", true},
      {"'hello' startsWith 'lo'", false},
      {"'hello' not startsWith 'lo'", true},
      {"'hello' endsWith 'lo'", true},
      {"'lo' endsWith 'hello'", false},
      {"'hello' not endsWith 'he'", true},
      {"'héllo' contains 'é'", true},
      {"'' startsWith ''", true},
  });
  EXPECT_EQ(EvalError("'abc' contains 1"), "column 7: cannot apply 'contains' to string and int");
  EXPECT_EQ(EvalError("[1] contains 1"), "column 5: cannot apply 'contains' to array and int");
  EXPECT_EQ(EvalError("nil startsWith 'a'"),
            "column 5: cannot apply 'startsWith' to nil and string");
  EXPECT_EQ(EvalError("1 endsWith '1'"), "column 3: cannot apply 'endsWith' to int and string");
}

TEST(ExprRegex, Matches) {
  RunTable({
      {"'Linux 6.1' matches '^Linux'", true},
      {"'GNU/Linux' matches '^Linux'", false},
      {"'GNU/Linux' matches 'Linux$'", true},
      {"'abc123' matches '[0-9]+'", true},
      {"'abc' matches '^[a-z]{3}$'", true},
      {"'abcd' matches '^[a-z]{3}$'", false},
      {"'PermitRootLogin no' matches '^PermitRootLogin\\\\s+no$'", true},
      {"'LINUX' matches '(?i)linux'", true},
      {"'LINUX' matches 'linux'", false},
      {"'a\\nb' matches '^b'", false},
      {"'a\\nb' matches '(?m)^b'", true},
      {"'x' not matches 'y'", true},
      {"'' matches ''", true},
      {"'a)b' matches 'a\\\\)b'", true},
      {"'naïve' matches 'ï'", true},
      {"'10.0.0.1' matches '^\\\\d{1,3}(\\\\.\\\\d{1,3}){3}$'", true},
      {"'unbound' matches '\\\\bbound'", false},
      {"'a bound' matches '\\\\bbound'", true},
  });
}

TEST(ExprRegex, DynamicPatterns) {
  json vars = {{"pattern", "^ab+c$"}, {"bad", "(unclosed"}, {"num", 5}};
  EXPECT_TRUE(SameJson(Eval("'abbbc' matches pattern", vars), true));
  EXPECT_TRUE(SameJson(Eval("'ac' matches pattern", vars), false));
  EXPECT_THAT(EvalError("'x' matches bad", vars),
              AllOf(StartsWith("column 5: invalid regular expression \"(unclosed\""),
                    HasSubstr("(unclosed")));
  EXPECT_EQ(EvalError("'x' matches num", vars),
            "column 5: cannot apply 'matches' to string and int");
  EXPECT_EQ(EvalError("num matches 'x'", vars),
            "column 5: cannot apply 'matches' to int and string");
}

TEST(ExprRegex, BadLiteralPatternIsAParseErrorNamingIt) {
  EXPECT_THAT(ParseError("data.s matches '(abc'"),
              StartsWith("column 16: invalid regular expression \"(abc\": "));
  EXPECT_THAT(ParseError("'x' matches '[a-'"), HasSubstr("\"[a-\""));
  EXPECT_THAT(ParseError("'x' matches 'a)|(b'"), HasSubstr("invalid regular expression"));
  EXPECT_THAT(ParseError(R"('aa' matches '(a)\\1')"), HasSubstr("back-references"));
  EXPECT_THAT(ParseError("'x' matches 'a{1001}'"), HasSubstr("repetition count exceeds 1000"));
  EXPECT_THAT(ParseError("'x' matches '((a{100}){100}){100}'"), HasSubstr("too complex"));
  EXPECT_THAT(ParseError("'x' matches '(?s).'"), HasSubstr("flag 's' is not supported"));
}

TEST(ExprRegex, LongSubjectsDoNotExhaustTheStack) {
  json vars = {{"big", std::string(1 << 18, 'a') + "b"}};
  EXPECT_TRUE(SameJson(Eval("big matches 'a*b'", vars), true));
  EXPECT_TRUE(SameJson(Eval("big matches '^(a|b)*$'", vars), true));
  EXPECT_TRUE(SameJson(Eval("big matches '^(a|c)*$'", vars), false));
  EXPECT_TRUE(SameJson(Eval("big matches 'ab$'", vars), true));
  EXPECT_TRUE(SameJson(Eval("big matches 'x'", vars), false));
  // A pattern near the size limit also stays within the stack.
  EXPECT_TRUE(SameJson(Eval("'aaaa' matches '^(a?){990}$'"), true));
  EXPECT_TRUE(SameJson(Eval("'aaaa' matches '^(a*){990}b'"), false));
}

// ---------------------------------------------------------------------------------------------
// Names, members, indexes, slices

TEST(ExprAccess, IdentifiersAndFallback) {
  json data = {{"exit_code", 0}, {"stdout", "ok"}, {"status", "from-data"}};
  json vars = {{"data", data}, {"status", true}};
  EXPECT_TRUE(SameJson(Eval("exit_code == 0", vars, &data), true));
  EXPECT_TRUE(SameJson(Eval("data.exit_code == 0", vars, &data), true));
  EXPECT_TRUE(SameJson(Eval("stdout", vars, &data), "ok"));
  EXPECT_TRUE(SameJson(Eval("status", vars, &data), true));  // vars win over fallback
  EXPECT_TRUE(SameJson(Eval("unknown", vars, &data), nullptr));
  EXPECT_TRUE(SameJson(Eval("exit_code", vars), nullptr));  // no fallback given
  json exit_only = {{"exit_code", 0}};
  EXPECT_TRUE(SameJson(Eval("exit_code == 0", json::object(), &exit_only), true));
  // Non-object vars or fallback: every name is nil rather than an exception.
  json array = json::array({1});
  EXPECT_TRUE(SameJson(Eval("x", array, &array), nullptr));
  EXPECT_TRUE(SameJson(Eval("$dollar_1", {{"$dollar_1", 3}}), 3));
  EXPECT_TRUE(SameJson(Eval("größe", {{"größe", 3}}), 3));
}

TEST(ExprAccess, Members) {
  json vars = json::parse(R"({
    "data": {"a": {"b": {"c": 42}}, "list": [1, 2], "n": null, "s": "str",
             "contains": "kw", "not": 1, "true": 2}
  })");
  RunTable(
      {
          {"data.a.b.c", 42},
          {"data.missing", nullptr},
          {"data.a.missing", nullptr},
          {"data.missing ?? 'default'", "default"},
          {"data.n?.x", nullptr},
          {"data.missing?.x", nullptr},
          {"data.missing?.x.y.z", nullptr},  // ?. short-circuits the whole chain
          {"data?.a?.b?.c", 42},
          {"data.missing?.[0]", nullptr},
          {"data.missing?.x ?? 'fallback'", "fallback"},
          {"data.contains", "kw"},  // keywords are valid member names
          {"data.not", 1},
          {"data.true", 2},
          {"data['a']['b'].c", 42},
          {"data.a['b']", json::parse(R"({"c": 42})")},
      },
      vars);
  EXPECT_EQ(EvalError("data.missing.x", vars),
            "column 14: cannot access member 'x' of nil (use '?.x' to allow nil)");
  EXPECT_EQ(EvalError("data.s.x", vars), "column 8: cannot access member 'x' of a string");
  EXPECT_EQ(EvalError("data.list.x", vars), "column 11: cannot access member 'x' of an array");
  EXPECT_EQ(EvalError("data.s?.x", vars), "column 9: cannot access member 'x' of a string");
  EXPECT_EQ(EvalError("nope.x"),
            "column 6: cannot access member 'x' of nil (use '?.x' to allow nil)");
}

TEST(ExprAccess, Indexes) {
  json vars = json::parse(R"({"a": [10, 20, 30], "m": {"k": "v", "Content-Type": "text/html"},
                              "s": "héllo", "e": []})");
  RunTable(
      {
          {"a[0]", 10},
          {"a[2]", 30},
          {"a[-1]", 30},
          {"a[-3]", 10},
          {"a[1 + 1]", 30},
          {"m['k']", "v"},
          {"m['Content-Type']", "text/html"},
          {"m['missing']", nullptr},
          {"m.missing", nullptr},
          {"s[0]", "h"},
          {"s[-1]", "o"},
          {"s[1]", "\xC3"},  // strings index bytes
          {"[[1, 2], [3, 4]][1][0]", 3},
          {"'abc'[1]", "b"},
      },
      vars);
  EXPECT_EQ(EvalError("a[3]", vars), "column 2: index 3 out of range for array of length 3");
  EXPECT_EQ(EvalError("a[-4]", vars), "column 2: index -4 out of range for array of length 3");
  EXPECT_EQ(EvalError("e[0]", vars), "column 2: index 0 out of range for array of length 0");
  EXPECT_EQ(EvalError("s[6]", vars), "column 2: index 6 out of range for string of length 6");
  EXPECT_EQ(EvalError("a['x']", vars),
            "column 2: cannot index array with string (indexes are ints)");
  EXPECT_EQ(EvalError("a[1.0]", vars),
            "column 2: cannot index array with float (indexes are ints)");
  EXPECT_EQ(EvalError("m[1]", vars), "column 2: cannot index map with int (keys are strings)");
  EXPECT_EQ(EvalError("nothing[0]", vars), "column 8: cannot index nil (use '?.[' to allow nil)");
  EXPECT_EQ(EvalError("true[0]", vars), "column 5: cannot index a bool");
  EXPECT_EQ(EvalError("(1)[0]", vars), "column 4: cannot index an int");
}

TEST(ExprAccess, Slices) {
  json vars = json::parse(R"({"a": [0, 1, 2, 3, 4], "s": "hello"})");
  RunTable(
      {
          {"a[1:3]", json::array({1, 2})},
          {"a[:2]", json::array({0, 1})},
          {"a[3:]", json::array({3, 4})},
          {"a[:]", json::array({0, 1, 2, 3, 4})},
          {"a[-2:]", json::array({3, 4})},
          {"a[:-1]", json::array({0, 1, 2, 3})},
          {"a[1:100]", json::array({1, 2, 3, 4})},  // clamped, like expr-lang
          {"a[-100:2]", json::array({0, 1})},
          {"a[4:2]", json::array()},
          {"a[5:]", json::array()},
          {"s[1:3]", "el"},
          {"s[:-2]", "hel"},
          {"s[10:]", ""},
          {"a[1:3][0]", 1},
          {"len(a[2:])", 3},
          {"missing?.[1:2]", nullptr},
      },
      vars);
  EXPECT_EQ(EvalError("nothing[1:2]", vars), "column 8: cannot slice nil");
  EXPECT_EQ(EvalError("{}[1:2]", vars), "column 3: cannot slice a map");
  EXPECT_EQ(EvalError("a['x':]", vars), "column 3: slice bounds must be ints, got string");
}

TEST(ExprAccess, PostfixParseErrors) {
  EXPECT_EQ(ParseError("a."), "column 3: expected a member name, found end of expression");
  EXPECT_EQ(ParseError("a.1"), "column 2: unexpected number .1");  // `.1` lexes as a number
  EXPECT_EQ(ParseError("a.b()"),
            "column 3: method calls are not supported ('b(...)'); use the builtin functions");
  EXPECT_EQ(ParseError("a[1"), "column 4: expected ']', found end of expression");
  EXPECT_EQ(ParseError("a[1:2:3]"), "column 6: expected ']', found ':'");
}

// ---------------------------------------------------------------------------------------------
// Builtins

TEST(ExprBuiltins, Len) {
  json vars = {{"m", {{"a", 1}, {"b", 2}}}};
  RunTable(
      {
          {"len('abc')", 3},
          {"len('')", 0},
          {"len('héllo')", 6},  // bytes, like Go's len
          {"len([1, 2, 3])", 3},
          {"len([])", 0},
          {"len(m)", 2},
          {"len({})", 0},
      },
      vars);
  EXPECT_EQ(EvalError("len(5)"), "column 1: len() expects a string, an array or a map, got int");
  EXPECT_EQ(EvalError("len(nil)"), "column 1: len() expects a string, an array or a map, got nil");
  EXPECT_EQ(ParseError("len()"), "column 1: len() takes 1 argument, got 0");
  EXPECT_EQ(ParseError("len(1, 2)"), "column 1: len() takes 1 argument, got 2");
}

TEST(ExprBuiltins, CaseAndTrim) {
  RunTable({
      {"lower('HeLLo')", "hello"},
      {"upper('HeLLo')", "HELLO"},
      {"upper('héllo wörld')", "HÉLLO WÖRLD"},
      {"lower('ÀÉÎÕÜ')", "àéîõü"},
      {"upper('straße')", "STRAßE"},
      {"upper('ąčęėįšųūž')", "ĄČĘĖĮŠŲŪŽ"},
      {"lower('ĹŇŹŽ')", "ĺňźž"},
      {"upper('αβγ ω ς')", "ΑΒΓ Ω Σ"},
      {"lower('ΑΒΓ')", "αβγ"},
      {"upper('привет')", "ПРИВЕТ"},
      {"lower('ПРИВЕТ Ё')", "привет ё"},
      {"upper('ÿ')", "Ÿ"},
      {"upper('日本')", "日本"},
      {"trim('  a b \\t\\n')", "a b"},
      {"trim('\u00a0\u3000x\u2003')", "x"},
      {"trim('   ')", ""},
      {"trim('xxhixx', 'x')", "hi"},
      {"trim('¡¡hola!!', '!¡')", "hola"},
      {"trimPrefix('  a', ' ')", " a"},
      {"trimPrefix(' a')", "a"},
      {"trimPrefix('prefix-body', 'prefix-')", "body"},
      {"trimPrefix('body', 'x')", "body"},
      {"trimSuffix('file.txt', '.txt')", "file"},
      {"trimSuffix('a ')", "a"},
      {"trimSuffix('a', 'abc')", "a"},
  });
  EXPECT_EQ(EvalError("lower(1)"), "column 1: lower() expects a string, got int");
  EXPECT_EQ(EvalError("trim('a', 1)"), "column 1: trim() expects string arguments, got int");
  EXPECT_EQ(ParseError("trim('a', 'b', 'c')"), "column 1: trim() takes 1 or 2 arguments, got 3");
}

TEST(ExprBuiltins, SplitJoinReplaceIndex) {
  RunTable({
      {"split('a,b,c', ',')", json::array({"a", "b", "c"})},
      {"split('a,b,c', ',', 2)", json::array({"a", "b,c"})},
      {"split('a,b,c', ',', 0)", json::array()},
      {"split('a,b,c', ',', -1)", json::array({"a", "b", "c"})},
      {"split('abc', '')", json::array({"a", "b", "c"})},
      {"split('héé', '')", json::array({"h", "é", "é"})},
      {"split('abc', '', 2)", json::array({"a", "bc"})},
      {"split('', ',')", json::array({""})},
      {"split('', '')", json::array()},
      {"split('a,,b', ',')", json::array({"a", "", "b"})},
      {"join(['a', 'b', 'c'], '-')", "a-b-c"},
      {"join(['a', 'b'])", "ab"},
      {"join([], ',')", ""},
      {"join(split('x y z', ' '), '+')", "x+y+z"},
      {"replace('aaa', 'a', 'b')", "bbb"},
      {"replace('aaa', 'a', 'b', 2)", "bba"},
      {"replace('abc', '', '-')", "-a-b-c-"},
      {"replace('abc', 'x', 'y')", "abc"},
      {"indexOf('hello', 'l')", 2},
      {"indexOf('hello', 'z')", -1},
      {"lastIndexOf('hello', 'l')", 3},
      {"lastIndexOf('hello', '')", 5},
      {"hasPrefix('hello', 'he')", true},
      {"hasPrefix('hello', 'lo')", false},
      {"hasSuffix('hello', 'lo')", true},
      {"hasSuffix('lo', 'hello')", false},
  });
  EXPECT_EQ(EvalError("join(['a', 1])"),
            "column 1: join() expects an array of strings, found an element of type int");
  EXPECT_EQ(EvalError("join('abc')"), "column 1: join() expects an array of strings, got string");
  EXPECT_EQ(EvalError("split('a', 1)"), "column 1: split() expects string arguments, got int");
  EXPECT_EQ(EvalError("split('a', ',', 'x')"),
            "column 1: split() expects an int count, got string");
  EXPECT_EQ(EvalError("hasPrefix(1, 'a')"),
            "column 1: hasPrefix() expects string arguments, got int");
  EXPECT_EQ(ParseError("hasSuffix('a')"), "column 1: hasSuffix() takes 2 arguments, got 1");
}

TEST(ExprBuiltins, Conversions) {
  RunTable({
      {"string('s')", "s"},
      {"string(42)", "42"},
      {"string(-7)", "-7"},
      {"string(1.5)", "1.5"},
      {"string(2.0)", "2"},
      {"string(123456.0)", "123456"},
      {"string(1e6)", "1e+06"},
      {"string(1234567.0)", "1.234567e+06"},
      {"string(0.0001)", "0.0001"},
      {"string(0.00001)", "1e-05"},
      {"string(-2.5e-10)", "-2.5e-10"},
      {"string(1e100)", "1e+100"},
      {"string(0.1 + 0.2)", "0.30000000000000004"},
      {"string(true)", "true"},
      {"string(nil)", "<nil>"},
      {"string([1, 'a'])", R"([1,"a"])"},
      {"string({a: 1})", R"({"a":1})"},
      {"int(42)", 42},
      {"int(3.99)", 3},
      {"int(-3.99)", -3},
      {"int('123')", 123},
      {"int('-45')", -45},
      {"int('+7')", 7},
      {"int('-9223372036854775808')", std::numeric_limits<std::int64_t>::min()},
      {"float(2)", 2.0},
      {"float(2.5)", 2.5},
      {"float('1.5')", 1.5},
      {"float('-1e3')", -1000.0},
      {"float('10')", 10.0},
      {"float('inf') > 1e308", true},
      {"abs(-3)", 3},
      {"abs(3)", 3},
      {"abs(-2.5)", 2.5},
      {"ceil(1.2)", 2.0},
      {"floor(-1.2)", -2.0},
      {"round(2.5)", 3.0},
      {"round(-2.5)", -3.0},
      {"ceil(3)", 3.0},
      {"type(1)", "int"},
      {"type(1.0)", "float"},
      {"type('')", "string"},
      {"type(true)", "bool"},
      {"type(nil)", "nil"},
      {"type([])", "array"},
      {"type({})", "map"},
  });
  EXPECT_EQ(EvalError("int('12a')"), "column 1: int(): cannot convert \"12a\" to an int");
  EXPECT_EQ(EvalError("int(' 1')"), "column 1: int(): cannot convert \" 1\" to an int");
  EXPECT_EQ(EvalError("int('')"), "column 1: int(): cannot convert \"\" to an int");
  EXPECT_EQ(EvalError("int('9223372036854775808')"),
            "column 1: int(): cannot convert \"9223372036854775808\" to an int (out of range)");
  EXPECT_EQ(EvalError("int(1e19)"), "column 1: int(): 1e+19 is out of the int range");
  EXPECT_EQ(EvalError("int(true)"), "column 1: int() expects a number or a string, got bool");
  EXPECT_EQ(EvalError("float('abc')"), "column 1: float(): cannot convert \"abc\" to a float");
  EXPECT_EQ(EvalError("float('0x10')"), "column 1: float(): cannot convert \"0x10\" to a float");
  EXPECT_EQ(EvalError("float(nil)"), "column 1: float() expects a number or a string, got nil");
  EXPECT_EQ(EvalError("abs('x')"), "column 1: abs() expects a number, got string");
  EXPECT_EQ(EvalError("abs(x)", {{"x", std::numeric_limits<std::int64_t>::min()}}),
            "column 1: integer overflow in abs()");
  EXPECT_EQ(EvalError("ceil('1')"), "column 1: ceil() expects a number, got string");
}

TEST(ExprBuiltins, MinMaxKeysValuesFirstLastGet) {
  json vars = json::parse(R"({"m": {"b": 2, "a": 1, "c": 3}, "xs": [3, 1, 2]})");
  RunTable(
      {
          {"min(3, 1, 2)", 1},
          {"max(3, 1, 2)", 3},
          {"min(1, 0.5)", 0.5},
          {"max(1, 0.5)", 1},
          {"max(2, 2.0)", 2},  // the first of equals wins, keeping its type
          {"min(xs)", 1},
          {"max(xs, [10, [20]])", 20},
          {"min([])", nullptr},
          {"keys(m)", json::array({"a", "b", "c"})},
          {"values(m)", json::array({1, 2, 3})},
          {"keys({})", json::array()},
          {"first(xs)", 3},
          {"last(xs)", 2},
          {"first([])", nullptr},
          {"last(nil)", nullptr},
          {"get(xs, 1)", 1},
          {"get(xs, -1)", 2},
          {"get(xs, 10)", nullptr},
          {"get(m, 'a')", 1},
          {"get(m, 'zz')", nullptr},
          {"get(m, 1)", nullptr},
          {"get(nil, 'a')", nullptr},
          {"first(filter(xs, # > 1))", 3},
      },
      vars);
  EXPECT_EQ(EvalError("min(1, 'a')"),
            "column 1: min() expects numbers or arrays of numbers, got string");
  EXPECT_EQ(EvalError("max(['a'])"),
            "column 1: max() expects numbers or arrays of numbers, got string");
  EXPECT_EQ(ParseError("min()"), "column 1: min() takes at least 1 argument, got 0");
  EXPECT_EQ(EvalError("keys([1])"), "column 1: keys() expects a map, got array");
  EXPECT_EQ(EvalError("values(nil)"), "column 1: values() expects a map, got nil");
  EXPECT_EQ(EvalError("first('abc')"), "column 1: first() expects an array, got string");
}

TEST(ExprBuiltins, Json) {
  RunTable({
      {"fromJSON('{\"a\": [1, 2]}').a[1]", 2},
      {"fromJSON('null')", nullptr},
      {"toJSON({a: [1]})", "{\n  \"a\": [\n    1\n  ]\n}"},
      {"toJSON('x')", "\"x\""},
  });
  EXPECT_EQ(EvalError("fromJSON('{')"), "column 1: fromJSON(): the argument is not valid JSON");
  EXPECT_EQ(EvalError("fromJSON(1)"), "column 1: fromJSON() expects a string, got int");
  std::string deep = std::string(600, '[') + std::string(600, ']');
  EXPECT_THAT(EvalError("fromJSON(s)", {{"s", deep}}), HasSubstr("nested deeper than 512"));
}

TEST(ExprBuiltins, UnknownFunctionIsAParseError) {
  EXPECT_EQ(ParseError("foo(1)"), "column 1: unknown function 'foo'");
  EXPECT_EQ(ParseError("data.ok && exists(data.path)"), "column 12: unknown function 'exists'");
  EXPECT_EQ(ParseError("(len)(1)"), "column 6: unexpected '('");
  // A builtin's name is still an ordinary identifier when not called.
  EXPECT_TRUE(SameJson(Eval("len", {{"len", 3}}), 3));
}

// ---------------------------------------------------------------------------------------------
// Closures

TEST(ExprClosures, Predicates) {
  json vars = json::parse(R"({
    "nums": [1, 2, 3, 4],
    "empty": [],
    "users": [{"name": "root", "uid": 0, "shell": "/bin/bash"},
              {"name": "daemon", "uid": 1, "shell": "/usr/sbin/nologin"},
              {"name": "alice", "uid": 1000, "shell": "/bin/zsh"}],
    "matrix": [[1, 2], [3], []]
  })");
  RunTable(
      {
          {"all(nums, {# > 0})", true},
          {"all(nums, # > 1)", false},
          {"all(empty, # > 100)", true},
          {"any(nums, {# == 3})", true},
          {"any(nums, # > 10)", false},
          {"any(empty, true)", false},
          {"none(nums, # > 10)", true},
          {"none(nums, # == 2)", false},
          {"one(nums, # == 2)", true},
          {"one(nums, # > 2)", false},
          {"one(empty, true)", false},
          {"filter(nums, # % 2 == 0)", json::array({2, 4})},
          {"filter(nums, false)", json::array()},
          {"map(nums, # * 10)", json::array({10, 20, 30, 40})},
          {"map(nums, {# > 2})", json::array({false, false, true, true})},
          {"map(users, #.name)", json::array({"root", "daemon", "alice"})},
          {"map(users, .name)", json::array({"root", "daemon", "alice"})},
          {"map(nums, #index)", json::array({0, 1, 2, 3})},
          {"count(nums, # > 1)", 3},
          {"count([true, false, true])", 2},
          {"sum(nums)", 10},
          {"sum([1, 2.5])", 3.5},
          {"sum(empty)", 0},
          {"sum(users, .uid)", 1001},
          {"find(nums, # > 2)", 3},
          {"find(nums, # > 20)", nullptr},
          {"findIndex(nums, # > 2)", 2},
          {"findIndex(nums, # > 20)", -1},
          {"findLast(nums, # < 3)", 2},
          {"findLastIndex(nums, # < 3)", 1},
          {"find(users, .uid == 0).name", "root"},
          {"all(users, {#.uid >= 0 && len(#.name) > 0})", true},
          {"any(users, .shell endsWith 'nologin')", true},
          {"filter(users, .uid >= 1000)[0].name", "alice"},
          {"len(filter(users, .shell != '/usr/sbin/nologin'))", 2},
          {"any(matrix, len(#) == 0)", true},
          {"map(matrix, len(#))", json::array({2, 1, 0})},
          {"map(matrix, sum(#))", json::array({3, 3, 0})},
          {"all(matrix, all(#, # > 0))", true},  // nested closures: inner # is innermost
          {"map(matrix, map(#, # * 2))", json::parse("[[2,4],[6],[]]")},
          {"any(nums, {any(matrix, {len(#) == 1})})", true},
          {"count(nums, #index > 1)", 2},
          {"all(nums, # in nums)", true},
          {"map([{a: {b: 1}}], #.a.b)", json::array({1})},
          {"map(nums, {# ?? 0})", json::array({1, 2, 3, 4})},
          {"all(nums, {# > 0},)", true},
          {"filter(map(nums, # * 2), # > 4)", json::array({6, 8})},
      },
      vars);
}

TEST(ExprClosures, Errors) {
  json vars = {{"nums", {1, 2}}, {"s", "abc"}};
  EXPECT_EQ(EvalError("all(nums, # + 1)", vars),
            "column 1: the predicate of all() must be bools, got int");
  EXPECT_EQ(EvalError("filter(nums, nil)", vars),
            "column 1: the predicate of filter() must be bools, got nil");
  EXPECT_EQ(EvalError("count([1])", vars),
            "column 1: the elements given to count() must be bools, got int");
  EXPECT_EQ(EvalError("all(missing, # > 0)", vars), "column 1: all() expects an array, got nil");
  EXPECT_EQ(EvalError("any(s, true)", vars), "column 1: any() expects an array, got string");
  EXPECT_EQ(EvalError("map({a: 1}, #)", vars), "column 1: map() expects an array, got map");
  EXPECT_EQ(EvalError("sum(['a'])", vars), "column 1: sum() needs numbers, got string");
  EXPECT_EQ(EvalError("all(nums, # > 'a')", vars),
            "column 13: cannot compare int with string using '>'");
  EXPECT_EQ(ParseError("# > 0"),
            "column 1: '#' can only be used inside a predicate closure such as all(xs, {# > 0})");
  EXPECT_EQ(ParseError("x == .name"),
            "column 6: '.name' without an operand is only allowed inside a predicate closure");
  EXPECT_EQ(ParseError("all(xs, #acc > 0)"),
            "column 9: unknown closure variable '#acc' (use '#' or '#index')");
  EXPECT_EQ(ParseError("all(xs)"), "column 7: expected ',', found ')'");
  EXPECT_EQ(ParseError("all(xs, {# > 0)"), "column 15: expected '}', found ')'");
  EXPECT_EQ(ParseError("all(xs, # > 0, 1)"), "column 16: expected ')', found number 1");
}

// ---------------------------------------------------------------------------------------------
// Error positions

TEST(ExprErrors, ParseErrorColumns) {
  EXPECT_EQ(ParseError("(1 + 2"), "column 7: expected ')', found end of expression");
  EXPECT_EQ(ParseError("len(data.x, "), "column 13: unexpected end of expression");
  EXPECT_EQ(ParseError("data.mode == "), "column 14: unexpected end of expression");
  EXPECT_EQ(ParseError("1 +"), "column 4: unexpected end of expression");
  EXPECT_EQ(ParseError("1 2"), "column 3: unexpected number 2");
  EXPECT_EQ(ParseError("a b"), "column 3: unexpected 'b'");
  EXPECT_EQ(ParseError("(1))"), "column 4: unexpected ')'");
  EXPECT_EQ(ParseError("* 2"), "column 1: expected an expression, found '*'");
  EXPECT_EQ(ParseError("a = 1"), "column 3: unexpected '=' (use '==' to compare)");
  EXPECT_EQ(ParseError("a & b"), "column 3: unexpected '&' (use '&&' or 'and')");
  EXPECT_THAT(ParseError("a | b"), StartsWith("column 3: the pipe operator '|' is not supported"));
  EXPECT_EQ(ParseError("1 @ 2"), "column 3: unexpected character '@'");
  EXPECT_EQ(ParseError("a not b"),
            "column 3: unexpected 'not' (only 'not in', 'not matches', 'not contains', "
            "'not startsWith' and 'not endsWith' may follow an operand)");
  EXPECT_EQ(ParseError("true ? 1"), "column 9: expected ':', found end of expression");
  EXPECT_EQ(ParseError(""), "column 1: empty expression");
  EXPECT_EQ(ParseError("   // only a comment"), "column 1: empty expression");
  EXPECT_EQ(ParseError("let x = 1; x"), "column 7: unexpected '=' (use '==' to compare)");
  EXPECT_EQ(ParseError("let x"), "column 5: unexpected 'x'");
}

TEST(ExprErrors, ColumnsCountCodePoints) {
  // "'héllo'" has 8 bytes but 7 code points; the end of input is at code point 13.
  EXPECT_EQ(ParseError("'héllo' == +"), "column 13: unexpected end of expression");
  EXPECT_EQ(EvalError("'日本語' < 1"), "column 7: cannot compare string with int using '<'");
  // Non-ASCII characters are name characters (expr-lang allows Unicode letters in names).
  EXPECT_EQ(ParseError("'☃' ＋ 1"), "column 5: unexpected '＋'");
  EXPECT_EQ(ParseError("'☃' \x01"), "column 5: unexpected character '\\x01'");
}

TEST(ExprErrors, EvaluationErrorColumns) {
  json vars = {{"data", {{"size", 10}, {"name", "x"}}}};
  EXPECT_EQ(EvalError("data.size > 0 && data.name < 5", vars),
            "column 28: cannot compare string with int using '<'");
  EXPECT_EQ(EvalError("data.nested.deeper == 1", vars),
            "column 13: cannot access member 'deeper' of nil (use '?.deeper' to allow nil)");
  EXPECT_EQ(EvalError("len(data.size)", vars),
            "column 1: len() expects a string, an array or a map, got int");
  EXPECT_EQ(EvalError("[1, 2][5]"), "column 7: index 5 out of range for array of length 2");
}

TEST(ExprErrors, DefaultExpressionAndCondition) {
  Expression empty;
  EXPECT_EQ(empty.source(), "");
  auto r = empty.evaluate(json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Limits and robustness

TEST(ExprLimits, DeepNestingIsRejected) {
  std::string parens = std::string(1000, '(') + "1" + std::string(1000, ')');
  EXPECT_THAT(ParseError(parens), HasSubstr("nested too deeply"));
  EXPECT_THAT(ParseError(std::string(60000, '!') + "true"), HasSubstr("nested too deeply"));
  EXPECT_THAT(ParseError(std::string(50000, '-') + "1"), HasSubstr("nested too deeply"));
  EXPECT_THAT(ParseError(std::string(30000, '[') + std::string(30000, ']')),
              HasSubstr("nested too deeply"));
  EXPECT_THAT(ParseError(std::string(20000, '{') + std::string(20000, '}')),
              HasSubstr("a map key must be"));
  std::string maps;
  for (int i = 0; i < 5000; ++i) maps += "{a:";
  EXPECT_THAT(ParseError(maps + "1" + std::string(5000, '}')), HasSubstr("nested too deeply"));
  std::string calls;
  for (int i = 0; i < 5000; ++i) calls += "len(";
  EXPECT_THAT(ParseError(calls + "'x'" + std::string(5000, ')')), HasSubstr("nested too deeply"));
  std::string ternary;
  for (int i = 0; i < 5000; ++i) ternary += "true ? 1 : ";
  EXPECT_THAT(ParseError(ternary + "2"), HasSubstr("nested too deeply"));
  std::string power = "2";
  for (int i = 0; i < 5000; ++i) power += " ** 1";
  EXPECT_THAT(ParseError(power), HasSubstr("nested too deeply"));
  std::string closures = "xs";
  for (int i = 0; i < 3000; ++i) closures = "map(" + closures + ", #)";
  EXPECT_THAT(ParseError(closures), HasSubstr("nested too deeply"));
  std::string members = "a";
  for (int i = 0; i < 5000; ++i) members += ".b";
  EXPECT_THAT(ParseError(members), HasSubstr("nested too deeply"));
}

TEST(ExprLimits, LongFlatChains) {
  // A left-associative chain needs no parser recursion, but its tree is deep: bounded too.
  std::string sum = "1";
  for (int i = 0; i < 20000; ++i) sum += "+1";
  EXPECT_THAT(ParseError(sum), HasSubstr("syntax tree deeper than 500"));
  std::string ors = "x == 0";
  for (int i = 1; i < 400; ++i) ors += " || x == " + std::to_string(i);
  EXPECT_TRUE(SameJson(Eval(ors, {{"x", 399}}), true));
  EXPECT_TRUE(SameJson(Eval(ors, {{"x", 400}}), false));
  std::string adds = "0";
  for (int i = 0; i < 450; ++i) adds += " + 1";
  EXPECT_TRUE(SameJson(Eval(adds), 450));
  // Moderate nesting is fine.
  std::string nested = std::string(60, '(') + "1" + std::string(60, ')');
  EXPECT_TRUE(SameJson(Eval(nested), 1));
  std::string nots = std::string(150, '!') + "true";
  EXPECT_TRUE(SameJson(Eval(nots), true));
}

TEST(ExprLimits, SourceLength) {
  std::string ok = "'" + std::string(64 * 1024 - 2, 'a') + "'";
  ASSERT_EQ(ok.size(), 64u * 1024u);
  EXPECT_TRUE(SameJson(Eval("len(" + ok.substr(0, ok.size() - 6) + "')"), 64 * 1024 - 7));
  EXPECT_TRUE(Expression::parse(ok).ok());
  EXPECT_EQ(ParseError(ok + " "), "expression is 65537 bytes long; the limit is 65536");
}

TEST(ExprLimits, EvaluationStepBudget) {
  json xs = json::array();
  for (int i = 0; i < 300; ++i) xs.push_back(i);
  EXPECT_THAT(EvalError("count(xs, count(xs, count(xs, # >= 0) > 0) > 0)", {{"xs", xs}}),
              HasSubstr("evaluation exceeded 10000000 steps"));
}

TEST(ExprLimits, MemoryBudget) {
  json vars = {{"s", std::string(100000, 'a')},
               {"big", std::string(10000, 'b')},
               {"mb", std::string(2 << 20, 'c')},
               {"commas", std::string(9 << 20, ',')}};
  // Refused before anything is built.
  EXPECT_THAT(EvalError("len(replace(s, '', big)) > 0", vars),
              HasSubstr("evaluation built more than 256 MiB of values"));
  EXPECT_THAT(EvalError("len(split(commas, ','))", vars), HasSubstr("built more than 256 MiB"));
  EXPECT_THAT(EvalError("len(join(map(split(s, ''), big)))", vars),
              HasSubstr("built more than 256 MiB"));
  // Refused part way through a chain of concatenations.
  std::string chain = "mb";
  for (int i = 0; i < 30; ++i) chain += " + mb";
  EXPECT_THAT(EvalError("len(" + chain + ")", vars), HasSubstr("built more than 256 MiB"));
  // Ordinary work on large values stays well within the budget.
  EXPECT_TRUE(SameJson(Eval("len(replace(s, 'a', 'bb'))", vars), 200000));
  EXPECT_TRUE(SameJson(Eval("len(mb + mb + mb)", vars), 3 * (2 << 20)));
  EXPECT_TRUE(SameJson(Eval("len(split(s, ''))", vars), 100000));
}

TEST(ExprLimits, GarbageInputNeverThrows) {
  const char* inputs[] = {
      "\xff\xfe", "'\xff'",   "a\x01", "((((",     "))))",  "[,]", "{,}",     "{a}", "{a:}",
      "a[",       "a[:",      "a?.",   "a?.[",     "?",     ":",   "1 ? : 2", "#",   "all(",
      "all(x,",   "all(x, {", "not",   "not in x", "a not", "1e",  "0x_",     "0b2", "0o8",
      "'\\",      "\"\\u",    "`",     "a..b",     "a::b",  "$",   "@",       ".",   "..",
      "a.b.",     "len(,)",   "f()()", "1 in",     "-",     "!",
  };
  for (const char* input : inputs) {
    auto parsed = Expression::parse(input);
    if (parsed.ok()) {
      auto value = parsed->evaluate(json::object());
      (void)value;
    } else {
      EXPECT_THAT(parsed.error().message, StartsWith("column ")) << input;
    }
  }
  // Invalid UTF-8 data is carried through and dumped with replacement characters.
  json vars = {{"bad", std::string("a\xff")}};
  EXPECT_TRUE(SameJson(Eval("len(bad)", vars), 2));
  EXPECT_TRUE(SameJson(Eval("string([bad])", vars), "[\"a\xEF\xBF\xBD\"]"));
  EXPECT_TRUE(SameJson(Eval("upper(bad)", vars), std::string("A\xff")));
}

// ---------------------------------------------------------------------------------------------
// The API: conditions, copies, threads

TEST(ExprApi, EvaluateCondition) {
  json vars = {{"data", {{"n", 1}, {"s", "x"}}}};
  auto check = [&](std::string_view source) {
    auto e = Expression::parse(source);
    EXPECT_TRUE(e.ok()) << source;
    return evaluate_condition(*e, vars);
  };
  EXPECT_TRUE(*check("data.n == 1"));
  EXPECT_FALSE(*check("data.n == 2"));
  auto r = check("data.s");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(r.error().message, "expression produced a string, not a boolean");
  EXPECT_EQ(check("data.n").error().message, "expression produced an int, not a boolean");
  EXPECT_EQ(check("1.5").error().message, "expression produced a float, not a boolean");
  EXPECT_EQ(check("data.missing").error().message, "expression produced nil, not a boolean");
  EXPECT_EQ(check("[true]").error().message, "expression produced an array, not a boolean");
  EXPECT_EQ(check("{}").error().message, "expression produced a map, not a boolean");
  EXPECT_EQ(check("data.s > 1").error().message,
            "column 8: cannot compare string with int using '>'");
  json data = vars["data"];
  auto bare = Expression::parse("n == 1 && s == 'x'");
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(*evaluate_condition(*bare, vars, &data));
}

TEST(ExprApi, SourceAndCheapCopies) {
  auto parsed = Expression::parse("  data.exists == true ");
  ASSERT_TRUE(parsed.ok());
  Expression a = *parsed;
  Expression b = a;  // shares the immutable program
  EXPECT_EQ(a.source(), "  data.exists == true ");
  EXPECT_EQ(&a.source(), &b.source());
  Expression c;
  c = std::move(b);
  EXPECT_TRUE(*evaluate_condition(c, {{"data", {{"exists", true}}}}));
}

TEST(ExprApi, ConcurrentEvaluation) {
  auto parsed = Expression::parse(
      "data.stdout matches '^Linux [0-9]+' && all(data.items, {# > 0}) && "
      "len(filter(data.items, # % 2 == 0)) == want");
  ASSERT_TRUE(parsed.ok());
  const Expression expression = *parsed;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        json items = json::array();
        for (int k = 1; k <= t + i % 7 + 1; ++k) items.push_back(k);
        int evens = static_cast<int>(items.size()) / 2;
        json vars = {{"data", {{"stdout", "Linux 6"}, {"items", items}}}, {"want", evens}};
        auto r = evaluate_condition(expression, vars);
        if (!r.ok() || !*r) ++failures;
        vars["want"] = evens + 1;
        auto f = evaluate_condition(expression, vars);
        if (!f.ok() || *f) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---------------------------------------------------------------------------------------------
// Realistic Reglet expectations

TEST(ExprReglet, ProfileExpectations) {
  json evidence = json::parse(R"({
    "status": true,
    "timestamp": "2024-05-01T12:00:00Z",
    "data": {
      "exists": true, "mode": "0600", "size": 0, "owner": "root",
      "records": [{"type": "A", "value": "10.0.0.1"}, {"type": "AAAA", "value": "::1"}],
      "tags": ["ssh", "baseline"],
      "stdout": "Linux host 6.1.0-18-amd64 #1 SMP x86_64 GNU/Linux\n",
      "stderr": "",
      "exit_code": 0,
      "is_timeout": false,
      "status_code": 200,
      "headers": {"Content-Type": "text/html; charset=utf-8", "Server": "nginx"},
      "response_time_ms": 42.5,
      "ports": [22, 80, 443],
      "config": {"PermitRootLogin": "no", "PasswordAuthentication": "no"}
    }
  })");
  const json& data = evidence["data"];
  struct Expectation {
    const char* source;
    bool expected;
  };
  const Expectation cases[] = {
      {"data.exists == true", true},
      {"data.exists", true},
      {R"(data.mode == "0600" || data.size > 0)", true},
      {R"(data.mode == "0644" || data.size > 0)", false},
      {"status && len(data.records) > 0", true},
      {R"("ssh" in data.tags)", true},
      {R"("web" in data.tags)", false},
      {R"(data.stdout matches "^Linux")", true},
      {"not data.is_timeout", true},
      {"!data.is_timeout && data.exit_code == 0", true},
      {R"(data.headers["Content-Type"] startsWith "text/")", true},
      {"exit_code == 0", true},
      {"exit_code != 0", false},
      {"status_code >= 200 && status_code < 300", true},
      {"200 <= status_code < 300", true},
      {"data.response_time_ms < 100", true},
      {"22 in data.ports && 23 not in data.ports", true},
      {"data.config.PermitRootLogin == 'no'", true},
      {"(data.config?.X11Forwarding ?? 'no') == 'no'", true},
      {"data.owner in ['root', 'admin']", true},
      {"any(data.records, {.type == 'AAAA'})", true},
      {"all(data.records, .value != '')", true},
      {"len(data.stderr) == 0 && data.stdout contains 'GNU/Linux'", true},
      {"trim(data.stdout) endsWith 'GNU/Linux'", true},
      {"lower(data.headers.Server) == 'nginx'", true},
      {"data.missing == nil", true},
      {"data.missing?.deep == nil", true},
      {"error == nil", true},
      {"timestamp startsWith '2024-'", true},
      {"int(data.mode) == 600", true},
      {"split(data.stdout, ' ')[0] == 'Linux'", true},
      {"count(data.ports, # < 1024) == 3", true},
  };
  for (const Expectation& c : cases) {
    auto parsed = Expression::parse(c.source);
    ASSERT_TRUE(parsed.ok()) << c.source << ": " << parsed.error().message;
    auto result = evaluate_condition(*parsed, evidence, &data);
    ASSERT_TRUE(result.ok()) << c.source << ": " << result.error().message;
    EXPECT_EQ(*result, c.expected) << c.source;
  }
}

}  // namespace
}  // namespace reglet::check

namespace reglet::check {
namespace {

// The helpers Reglet adds to expr-lang's environment, so that its profiles run unchanged.
TEST(ExprReglet, StrContainsAndIpHelpers) {
  EXPECT_EQ(Eval(R"(strContains("hello world", "o w"))"), json(true));
  EXPECT_EQ(Eval(R"(strContains("hello", "x"))"), json(false));
  EXPECT_EQ(Eval(R"(isIPv4("10.0.0.1"))"), json(true));
  EXPECT_EQ(Eval(R"(isIPv4("::ffff:10.0.0.1"))"), json(true));
  EXPECT_EQ(Eval(R"(isIPv4("::1"))"), json(false));
  EXPECT_EQ(Eval(R"(isIPv4("example.com"))"), json(false));
  EXPECT_EQ(Eval(R"(isIPv4(42))"), json(false));
  EXPECT_EQ(Eval(R"(isIPv6("::1"))"), json(true));
  EXPECT_EQ(Eval(R"(isIPv6("300.1.1.1"))"), json(false));
  EXPECT_EQ(Eval("isIPv4(data.records[0])", {{"data", {{"records", {"93.184.216.34"}}}}}),
            json(true));
}

}  // namespace
}  // namespace reglet::check
