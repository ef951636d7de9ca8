// Walking WABT's IR without recursion: the expression lists nested directly in an expression.
// Shared by the preprocessing step and the AOT tier's SIMD lowering, which both visit every
// expression of a function iteratively (a deeply nested function must not exhaust the stack).
#pragma once

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <vector>

namespace reglet::engine {

// Appends the lists nested directly in `expr` (block and loop bodies, both arms of an if, a try's
// body and its catches) to `out`.
inline void push_child_lists(wabt::Expr& expr, std::vector<wabt::ExprList*>& out) {
  using wabt::cast;
  using wabt::ExprType;
  switch (expr.type()) {
    case ExprType::Block: out.push_back(&cast<wabt::BlockExpr>(&expr)->block.exprs); break;
    case ExprType::Loop: out.push_back(&cast<wabt::LoopExpr>(&expr)->block.exprs); break;
    case ExprType::If: {
      auto* if_expr = cast<wabt::IfExpr>(&expr);
      out.push_back(&if_expr->true_.exprs);
      out.push_back(&if_expr->false_);
      break;
    }
    case ExprType::Try: {
      auto* try_expr = cast<wabt::TryExpr>(&expr);
      out.push_back(&try_expr->block.exprs);
      for (wabt::Catch& c : try_expr->catches) out.push_back(&c.exprs);
      break;
    }
    default: break;
  }
}

// Whether `pred` holds for some expression of `body`, nested ones included; stops at the first.
template <class Pred>
bool any_expr(wabt::ExprList& body, Pred&& pred) {
  std::vector<wabt::ExprList*> work{&body};
  while (!work.empty()) {
    wabt::ExprList* list = work.back();
    work.pop_back();
    for (wabt::Expr& expr : *list) {
      if (pred(expr)) return true;
      push_child_lists(expr, work);
    }
  }
  return false;
}

}  // namespace reglet::engine
