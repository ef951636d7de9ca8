#include "engine/prep/frame_size.h"

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <algorithm>

namespace reglet::engine {
namespace {

using wabt::cast;
using wabt::ExprType;

// Pops and pushes of an instruction whose stack effect its opcode describes.
void opcode_effect(wabt::Opcode opcode, uint64_t& pops, uint64_t& pushes) {
  pops = 0;
  for (int i = 1; i <= 3; ++i) {
    if (opcode.GetParamType(i) != wabt::Type::Void) ++pops;
  }
  pushes = opcode.GetResultType() != wabt::Type::Void ? 1 : 0;
}

class HeightWalker {
 public:
  explicit HeightWalker(const wabt::Module& module) : module_(module) {}

  uint64_t max_height(const wabt::Func& func) {
    max_ = 0;
    uint64_t height = 0;
    walk(func.exprs, height);
    return max_;
  }

 private:
  const wabt::FuncSignature* signature(const wabt::FuncDeclaration& decl) const {
    if (decl.has_func_type) {
      const wabt::FuncType* type = module_.GetFuncType(decl.type_var);
      if (type) return &type->sig;
    }
    return &decl.sig;
  }

  void apply(uint64_t& height, uint64_t pops, uint64_t pushes) {
    height = height > pops ? height - pops : 0;
    height += pushes;
    max_ = std::max(max_, height);
  }

  void block(const wabt::Block& block, uint64_t& height) {
    const wabt::FuncSignature* sig = signature(block.decl);
    const uint64_t params = sig->GetNumParams();
    const uint64_t base = height > params ? height - params : 0;
    uint64_t inner = height;
    walk(block.exprs, inner);
    height = base + sig->GetNumResults();
    max_ = std::max(max_, height);
  }

  void walk(const wabt::ExprList& exprs, uint64_t& height) {
    for (const wabt::Expr& expr : exprs) {
      uint64_t pops = 0, pushes = 0;
      switch (expr.type()) {
        case ExprType::Binary:
          opcode_effect(cast<wabt::BinaryExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Compare:
          opcode_effect(cast<wabt::CompareExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Convert:
          opcode_effect(cast<wabt::ConvertExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Unary:
          opcode_effect(cast<wabt::UnaryExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Ternary:
          opcode_effect(cast<wabt::TernaryExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Load:
          opcode_effect(cast<wabt::LoadExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Store:
          opcode_effect(cast<wabt::StoreExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::AtomicLoad:
          opcode_effect(cast<wabt::AtomicLoadExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::AtomicStore:
          opcode_effect(cast<wabt::AtomicStoreExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::AtomicRmw:
          opcode_effect(cast<wabt::AtomicRmwExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::AtomicRmwCmpxchg:
          opcode_effect(cast<wabt::AtomicRmwCmpxchgExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::AtomicWait:
          opcode_effect(cast<wabt::AtomicWaitExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::AtomicNotify:
          opcode_effect(cast<wabt::AtomicNotifyExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::LoadSplat:
          opcode_effect(cast<wabt::LoadSplatExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::LoadZero:
          opcode_effect(cast<wabt::LoadZeroExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::SimdLaneOp:
          opcode_effect(cast<wabt::SimdLaneOpExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::SimdLoadLane:
          opcode_effect(cast<wabt::SimdLoadLaneExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::SimdStoreLane:
          opcode_effect(cast<wabt::SimdStoreLaneExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::SimdShuffleOp:
          opcode_effect(cast<wabt::SimdShuffleOpExpr>(&expr)->opcode, pops, pushes);
          break;
        case ExprType::Block:
          block(cast<wabt::BlockExpr>(&expr)->block, height);
          continue;
        case ExprType::Loop:
          block(cast<wabt::LoopExpr>(&expr)->block, height);
          continue;
        case ExprType::If: {
          const auto* if_expr = cast<wabt::IfExpr>(&expr);
          apply(height, 1, 0);
          uint64_t else_height = height;
          block(if_expr->true_, height);
          uint64_t inner = else_height;
          walk(if_expr->false_, inner);
          continue;
        }
        case ExprType::Try: {
          const auto* try_expr = cast<wabt::TryExpr>(&expr);
          uint64_t start = height;
          block(try_expr->block, height);
          for (const wabt::Catch& c : try_expr->catches) {
            uint64_t inner = start + 8;  // the caught exception's values; tags are few
            walk(c.exprs, inner);
          }
          continue;
        }
        case ExprType::Call:
        case ExprType::ReturnCall: {
          const wabt::Var& var = expr.type() == ExprType::Call
                                     ? cast<wabt::CallExpr>(&expr)->var
                                     : cast<wabt::ReturnCallExpr>(&expr)->var;
          const wabt::Func* callee = module_.GetFunc(var);
          if (callee) {
            pops = callee->GetNumParams();
            pushes = callee->GetNumResults();
          }
          break;
        }
        case ExprType::CallIndirect:
        case ExprType::ReturnCallIndirect: {
          const wabt::FuncDeclaration& decl =
              expr.type() == ExprType::CallIndirect
                  ? cast<wabt::CallIndirectExpr>(&expr)->decl
                  : cast<wabt::ReturnCallIndirectExpr>(&expr)->decl;
          const wabt::FuncSignature* sig = signature(decl);
          pops = sig->GetNumParams() + 1;
          pushes = sig->GetNumResults();
          break;
        }
        case ExprType::Const:
        case ExprType::GlobalGet:
        case ExprType::LocalGet:
        case ExprType::MemorySize:
        case ExprType::TableSize:
        case ExprType::RefFunc:
        case ExprType::RefNull:
          pushes = 1;
          break;
        case ExprType::Drop:
        case ExprType::GlobalSet:
        case ExprType::LocalSet:
        case ExprType::BrIf:
        case ExprType::BrTable:
          pops = 1;
          break;
        case ExprType::LocalTee:
        case ExprType::MemoryGrow:
        case ExprType::TableGet:
        case ExprType::RefIsNull:
          pops = 1;
          pushes = 1;
          break;
        case ExprType::TableSet:
          pops = 2;
          break;
        case ExprType::TableGrow:
          pops = 2;
          pushes = 1;
          break;
        case ExprType::Select:
          pops = 3;
          pushes = 1;
          break;
        case ExprType::MemoryCopy:
        case ExprType::MemoryFill:
        case ExprType::MemoryInit:
        case ExprType::TableCopy:
        case ExprType::TableInit:
        case ExprType::TableFill:
          pops = 3;
          break;
        case ExprType::CallRef:
          // Typed function references are not enabled; count it as a push to stay an upper bound.
          pushes = 1;
          break;
        default:
          // Br, Return, Unreachable, Throw, Rethrow, Nop, DataDrop, ElemDrop, AtomicFence and
          // CodeMetadata push nothing. Code after an unconditional branch is unreachable, and
          // continuing from the current height only overestimates.
          break;
      }
      apply(height, pops, pushes);
    }
  }

  const wabt::Module& module_;
  uint64_t max_ = 0;
};

}  // namespace

std::vector<uint64_t> frame_values(const wabt::Module& module) {
  HeightWalker walker(module);
  std::vector<uint64_t> frames;
  for (size_t i = module.num_func_imports; i < module.funcs.size(); ++i) {
    const wabt::Func& func = *module.funcs[i];
    frames.push_back(uint64_t{func.GetNumParams()} + func.GetNumLocals() + walker.max_height(func));
  }
  return frames;
}

}  // namespace reglet::engine
