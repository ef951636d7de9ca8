// Expression: the public face of the expectation language (see expr.h).
#include "check/expr.h"

#include <exception>
#include <string>
#include <utility>

#include "check/expr_internal.h"

namespace reglet::check {

Expression::Expression() = default;

Expression::Expression(std::shared_ptr<const expr_detail::Program> program)
    : program_(std::move(program)) {}

Result<Expression> Expression::parse(std::string_view source) {
  try {
    auto program = expr_detail::parse_program(source);
    if (!program.ok()) return std::move(program).error();
    return Expression(std::move(program).value());
  } catch (const std::exception& e) {
    // Only allocation failures (or std::regex internals) can get here.
    return make_error(ErrorCode::internal, std::string("expression parsing failed: ") + e.what());
  }
}

Result<nlohmann::json> Expression::evaluate(const nlohmann::json& vars,
                                            const nlohmann::json* fallback) const {
  if (!program_) return make_error(ErrorCode::invalid_argument, "empty expression");
  return expr_detail::evaluate_program(*program_, vars, fallback);
}

const std::string& Expression::source() const {
  static const std::string kEmpty;
  return program_ ? program_->source : kEmpty;
}

Result<bool> evaluate_condition(const Expression& expression, const nlohmann::json& vars,
                                const nlohmann::json* fallback) {
  Result<nlohmann::json> value = expression.evaluate(vars, fallback);
  if (!value.ok()) return std::move(value).error();
  if (!value->is_boolean()) {
    return make_error(
        ErrorCode::invalid_argument,
        "expression produced " + expr_detail::type_with_article(*value) + ", not a boolean");
  }
  return value->get<bool>();
}

}  // namespace reglet::check
