#include "engine/aot/simd_lower.h"

#include "engine/prep/ir_walk.h"

#include <wabt/cast.h>
#include <wabt/error-formatter.h>
#include <wabt/ir.h>
#include <wabt/validator.h>

#include <map>
#include <optional>

namespace reglet::engine::aot {
namespace {

using wabt::cast;
using wabt::ExprType;
using wabt::Type;

Error unsupported(const std::string& what) {
  return make_error(ErrorCode::invalid_module, "the AOT tier cannot lower SIMD here: " + what);
}

char letter(Type type) {
  switch (type) {
    case Type::I32:
      return 'i';
    case Type::I64:
      return 'j';
    case Type::F32:
      return 'f';
    case Type::F64:
      return 'd';
    case Type::V128:
      return 'V';
    default:
      return 0;
  }
}

bool has_v128(const wabt::TypeVector& types) {
  for (Type t : types) {
    if (t == Type::V128) return true;
  }
  return false;
}

wabt::TypeVector lowered(const wabt::TypeVector& types) {
  wabt::TypeVector out;
  for (Type t : types) {
    if (t == Type::V128) {
      out.push_back(Type::I64);
      out.push_back(Type::I64);
    } else {
      out.push_back(t);
    }
  }
  return out;
}

void lower_sig(wabt::FuncSignature& sig) {
  sig.param_types = lowered(sig.param_types);
  sig.result_types = lowered(sig.result_types);
}

bool opcode_uses_v128(wabt::Opcode opcode) {
  return opcode.GetResultType() == Type::V128 || opcode.GetParamType1() == Type::V128 ||
         opcode.GetParamType2() == Type::V128 || opcode.GetParamType3() == Type::V128;
}

// The lists nested in `expr` (block bodies, if arms).
void children(wabt::Expr& expr, std::vector<wabt::ExprList*>& out) {
  push_child_lists(expr, out);
}

// The opcode of a Binary, Compare, Convert, Unary or Ternary expression: distinct OpcodeExpr
// types, each cast as itself (wabt::cast checks the type in debug builds).
wabt::Opcode opcode_of(const wabt::Expr& expr) {
  switch (expr.type()) {
    case ExprType::Binary: return cast<wabt::BinaryExpr>(&expr)->opcode;
    case ExprType::Compare: return cast<wabt::CompareExpr>(&expr)->opcode;
    case ExprType::Convert: return cast<wabt::ConvertExpr>(&expr)->opcode;
    case ExprType::Unary: return cast<wabt::UnaryExpr>(&expr)->opcode;
    case ExprType::Ternary: return cast<wabt::TernaryExpr>(&expr)->opcode;
    default: return wabt::Opcode(wabt::Opcode::Nop);
  }
}

bool expr_uses_v128(wabt::Expr& expr) {
  switch (expr.type()) {
    case ExprType::Const:
      return cast<wabt::ConstExpr>(&expr)->const_.type() == Type::V128;
    case ExprType::Binary:
    case ExprType::Compare:
    case ExprType::Convert:
    case ExprType::Unary:
    case ExprType::Ternary:
      return opcode_uses_v128(opcode_of(expr));
    case ExprType::Load:
      return opcode_uses_v128(cast<wabt::LoadExpr>(&expr)->opcode);
    case ExprType::Store:
      return opcode_uses_v128(cast<wabt::StoreExpr>(&expr)->opcode);
    case ExprType::SimdLaneOp:
    case ExprType::SimdLoadLane:
    case ExprType::SimdStoreLane:
    case ExprType::SimdShuffleOp:
    case ExprType::LoadSplat:
    case ExprType::LoadZero:
      return true;
    case ExprType::Select:
      return has_v128(cast<wabt::SelectExpr>(&expr)->result_type);
    case ExprType::Block:
      return has_v128(cast<wabt::BlockExpr>(&expr)->block.decl.sig.param_types) ||
             has_v128(cast<wabt::BlockExpr>(&expr)->block.decl.sig.result_types);
    default:
      return false;
  }
}

template <class T, class... Args>
std::unique_ptr<wabt::Expr> make(Args&&... args) {
  return std::make_unique<T>(std::forward<Args>(args)...);
}

wabt::Var index_var(wabt::Index index) {
  return wabt::Var(index, wabt::Location());
}

wabt::Index ensure_func_type(wabt::Module& module, const wabt::TypeVector& params,
                             const wabt::TypeVector& results) {
  wabt::FuncSignature sig;
  sig.param_types = params;
  sig.result_types = results;
  wabt::Index index = module.GetFuncTypeIndex(sig);
  if (index != wabt::kInvalidIndex) return index;
  auto type = std::make_unique<wabt::FuncType>();
  type->sig = sig;
  auto field = std::make_unique<wabt::TypeModuleField>();
  field->type = std::move(type);
  module.AppendField(std::move(field));
  return static_cast<wabt::Index>(module.types.size() - 1);
}

wabt::TypeVector types_of(std::string_view letters) {
  wabt::TypeVector out;
  for (char c : letters) {
    switch (c) {
      case 'i':
        out.push_back(Type::I32);
        break;
      case 'j':
        out.push_back(Type::I64);
        break;
      case 'f':
        out.push_back(Type::F32);
        break;
      case 'd':
        out.push_back(Type::F64);
        break;
      case 'V':
        out.push_back(Type::I64);
        out.push_back(Type::I64);
        break;
    }
  }
  return out;
}

class Lowerer {
 public:
  explicit Lowerer(wabt::Module& module) : module_(module) {}

  Result<std::vector<SimdHelper>> run() {
    // What the bodies are checked against: the declarations as they were.
    for (const wabt::Func* func : module_.funcs) func_sigs_.push_back(func->decl.sig);
    for (const wabt::Global* global : module_.globals) global_types_.push_back(global->type);
    for (const wabt::Table* table : module_.tables) table_types_.push_back(table->elem_type);

    for (const wabt::Import* import : module_.imports) {
      if (import->kind() == wabt::ExternalKind::Func) {
        const auto& sig = cast<wabt::FuncImport>(import)->func.decl.sig;
        if (has_v128(sig.param_types) || has_v128(sig.result_types)) {
          return unsupported("v128 in the signature of import " + import->module_name + "." +
                             import->field_name);
        }
      } else if (import->kind() == wabt::ExternalKind::Global &&
                 cast<wabt::GlobalImport>(import)->global.type == Type::V128) {
        return unsupported("imported v128 global " + import->module_name + "." +
                           import->field_name);
      }
    }
    for (const wabt::Export* export_ : module_.exports) {
      if (export_->kind == wabt::ExternalKind::Global &&
          global_types_.at(export_->var.index()) == Type::V128) {
        return unsupported("exported v128 global " + export_->name);
      }
    }

    for (size_t i = module_.num_func_imports; i < module_.funcs.size(); ++i) {
      if (Status s = lower_function(*module_.funcs[i]); !s) return std::move(s).error();
    }
    if (Status s = lower_globals(); !s) return std::move(s).error();
    for (wabt::TypeEntry* type : module_.types) {
      if (auto* func_type = wabt::dyn_cast<wabt::FuncType>(type)) lower_sig(func_type->sig);
    }
    for (wabt::Func* func : module_.funcs) lower_sig(func->decl.sig);
    add_helper_imports();

    wabt::Errors errors;
    if (wabt::Failed(
            wabt::ValidateModule(&module_, &errors, wabt::ValidateOptions(wabt::Features())))) {
      return make_error(ErrorCode::internal,
                        "the SIMD lowering made an invalid module: " +
                            wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
    }
    return helpers_;
  }

 private:
  // A value on the simulated operand stack; nullopt when not known (never in reachable code).
  using Stack = std::vector<Type>;

  struct FuncState {
    std::vector<Type> original;    // params then locals, as declared
    std::vector<wabt::Index> map;  // original index -> first new index
    wabt::TypeVector new_locals;   // locals only (params come from the lowered signature)
  };

  Status lower_function(wabt::Func& func) {
    FuncState state;
    wabt::Index next = 0;
    for (Type t : func.decl.sig.param_types) {
      state.original.push_back(t);
      state.map.push_back(next);
      next += t == Type::V128 ? 2 : 1;
    }
    for (Type t : func.local_types) {
      state.original.push_back(t);
      state.map.push_back(next);
      next += t == Type::V128 ? 2 : 1;
      if (t == Type::V128) {
        state.new_locals.push_back(Type::I64);
        state.new_locals.push_back(Type::I64);
      } else {
        state.new_locals.push_back(t);
      }
    }
    state_ = &state;
    Stack stack;
    if (Status s = lower_list(func.exprs, stack); !s) return s;
    func.local_types.Set(state.new_locals);
    state_ = nullptr;
    return {};
  }

  Status lower_globals() {
    const size_t count = module_.globals.size();
    for (size_t i = module_.num_global_imports; i < count; ++i) {
      wabt::Global& global = *module_.globals[i];
      if (global.type != Type::V128) continue;
      // Only a constant can initialise a v128 global here: no v128 global is imported.
      if (global.init_expr.size() != 1 || global.init_expr.front().type() != ExprType::Const) {
        return unsupported("v128 global initialised by something other than v128.const");
      }
      const v128 value = cast<wabt::ConstExpr>(&global.init_expr.front())->const_.vec128();
      global.type = Type::I64;
      global.init_expr.clear();
      global.init_expr.push_back(make<wabt::ConstExpr>(wabt::Const::I64(value.u64(0))));
      // The high half goes at the end, so that no existing global index moves (the tiers find
      // the call-depth global by index).
      auto field = std::make_unique<wabt::GlobalModuleField>(wabt::Location(), "");
      field->global.type = Type::I64;
      field->global.mutable_ = global.mutable_;
      field->global.init_expr.push_back(make<wabt::ConstExpr>(wabt::Const::I64(value.u64(1))));
      module_.AppendField(std::move(field));
      high_global_[static_cast<wabt::Index>(i)] =
          static_cast<wabt::Index>(module_.globals.size() - 1);
    }
    // Uses of v128 globals were lowered with placeholders (the high halves did not exist yet).
    for (auto& [var, original] : pending_global_refs_) {
      *var = index_var(high_global_.at(original));
    }
    return {};
  }

  Type pop(Stack& stack) {
    if (stack.empty()) return Type::Any;
    Type t = stack.back();
    stack.pop_back();
    return t;
  }
  void pop_n(Stack& stack, size_t n) {
    for (size_t i = 0; i < n; ++i) pop(stack);
  }
  void push_all(Stack& stack, const wabt::TypeVector& types) {
    stack.insert(stack.end(), types.begin(), types.end());
  }

  // The call of helper `field` (registered on first use). Its index is fixed up once every helper
  // is known: until then the Var holds the helper's number past kHelperBase.
  std::unique_ptr<wabt::Expr> helper_call(const std::string& field, std::string params,
                                          std::string results, bool memory) {
    auto it = helper_index_.find(field);
    if (it == helper_index_.end()) {
      it = helper_index_.emplace(field, helpers_.size()).first;
      helpers_.push_back({field, std::move(params), std::move(results), memory});
    }
    auto call = std::make_unique<wabt::CallExpr>(index_var(0));
    helper_calls_.emplace_back(call.get(), it->second);
    return call;
  }

  static std::string field_of(wabt::Opcode opcode) {
    std::string name = opcode.GetName();
    for (char& c : name) {
      if (c == '.') c = '_';
    }
    return name;
  }

  static std::string opcode_params(wabt::Opcode opcode) {
    std::string out;
    for (Type t : {opcode.GetParamType1(), opcode.GetParamType2(), opcode.GetParamType3()}) {
      if (char c = letter(t)) out += c;
    }
    return out;
  }
  static std::string opcode_result(wabt::Opcode opcode) {
    char c = letter(opcode.GetResultType());
    return c ? std::string(1, c) : std::string();
  }

  Status check_memory(const wabt::Var& memidx) {
    if (!memidx.is_index() || memidx.index() != 0) return unsupported("a memory other than 0");
    return {};
  }

  // Lowers `list` in place, simulating the operand stack from `stack` (the block's params).
  Status lower_list(wabt::ExprList& list, Stack& stack) {
    wabt::ExprList out;
    bool reachable = true;
    while (!list.empty() && reachable) {
      std::unique_ptr<wabt::Expr> expr = list.extract_front();
      if (Status s = lower_expr(std::move(expr), out, stack, reachable); !s) return s;
    }
    // Whatever follows an unconditional branch is dead: dropped, so that nothing there needs a
    // type the simulation no longer knows (the stack is polymorphic after the branch).
    list.clear();
    list.splice(list.end(), out);
    return {};
  }

  Status lower_block_body(wabt::Block& block, Stack& stack) {
    const wabt::FuncSignature sig = block.decl.sig;
    pop_n(stack, sig.param_types.size());
    Stack inner(sig.param_types.begin(), sig.param_types.end());
    if (Status s = lower_list(block.exprs, inner); !s) return s;
    push_all(stack, sig.result_types);
    lower_block_decl(block.decl);
    return {};
  }

  // WABT's IR validator and writers read an inline block type as its first result only: a
  // lowered v128 (two i64) needs a type entry.
  void lower_block_decl(wabt::BlockDeclaration& decl) {
    lower_sig(decl.sig);
    if (!decl.has_func_type && (decl.sig.GetNumParams() > 0 || decl.sig.GetNumResults() > 1)) {
      decl.has_func_type = true;
      decl.type_var =
          index_var(ensure_func_type(module_, decl.sig.param_types, decl.sig.result_types));
    }
  }

  Status lower_expr(std::unique_ptr<wabt::Expr> expr, wabt::ExprList& out, Stack& stack,
                    bool& reachable) {
    FuncState& state = *state_;
    switch (expr->type()) {
      case ExprType::Const: {
        const wabt::Const& c = cast<wabt::ConstExpr>(expr.get())->const_;
        stack.push_back(c.type());
        if (c.type() == Type::V128) {
          const v128 value = c.vec128();
          out.push_back(make<wabt::ConstExpr>(wabt::Const::I64(value.u64(0))));
          out.push_back(make<wabt::ConstExpr>(wabt::Const::I64(value.u64(1))));
          return {};
        }
        break;
      }
      case ExprType::LocalGet:
      case ExprType::LocalSet:
      case ExprType::LocalTee: {
        auto* var_expr = cast<wabt::LocalGetExpr>(expr.get());
        const wabt::Index original = var_expr->var.index();
        if (original >= state.original.size()) return unsupported("local index out of range");
        const Type t = state.original[original];
        const wabt::Index low = state.map[original];
        const ExprType kind = expr->type();
        if (kind == ExprType::LocalGet) stack.push_back(t);
        if (kind == ExprType::LocalSet) pop(stack);
        if (t != Type::V128) {
          var_expr->var = index_var(low);
          break;
        }
        if (kind == ExprType::LocalGet) {
          out.push_back(make<wabt::LocalGetExpr>(index_var(low)));
          out.push_back(make<wabt::LocalGetExpr>(index_var(low + 1)));
        } else if (kind == ExprType::LocalSet) {
          out.push_back(make<wabt::LocalSetExpr>(index_var(low + 1)));
          out.push_back(make<wabt::LocalSetExpr>(index_var(low)));
        } else {
          out.push_back(make<wabt::LocalSetExpr>(index_var(low + 1)));
          out.push_back(make<wabt::LocalTeeExpr>(index_var(low)));
          out.push_back(make<wabt::LocalGetExpr>(index_var(low + 1)));
        }
        return {};
      }
      case ExprType::GlobalGet:
      case ExprType::GlobalSet: {
        auto* var_expr = cast<wabt::GlobalGetExpr>(expr.get());
        const wabt::Index index = var_expr->var.index();
        const Type t = global_types_.at(index);
        const bool get = expr->type() == ExprType::GlobalGet;
        if (get)
          stack.push_back(t);
        else
          pop(stack);
        if (t != Type::V128) break;
        if (get) {
          auto high = std::make_unique<wabt::GlobalGetExpr>(index_var(index));
          pending_global_refs_.emplace_back(&high->var, index);
          out.push_back(make<wabt::GlobalGetExpr>(index_var(index)));
          out.push_back(std::move(high));
        } else {
          auto high = std::make_unique<wabt::GlobalSetExpr>(index_var(index));
          pending_global_refs_.emplace_back(&high->var, index);
          out.push_back(std::move(high));
          out.push_back(make<wabt::GlobalSetExpr>(index_var(index)));
        }
        return {};
      }
      case ExprType::Drop: {
        const Type t = pop(stack);
        if (t == Type::Any) return unsupported("drop of an unknown type");
        if (t == Type::V128) {
          out.push_back(make<wabt::DropExpr>());
          out.push_back(make<wabt::DropExpr>());
          return {};
        }
        break;
      }
      case ExprType::Select: {
        auto* select = cast<wabt::SelectExpr>(expr.get());
        pop(stack);
        const Type b = pop(stack);
        const Type a = pop(stack);
        Type t = select->result_type.empty() ? (a == Type::Any ? b : a) : select->result_type[0];
        if (t == Type::Any) return unsupported("select of an unknown type");
        stack.push_back(t);
        if (t == Type::V128) {
          out.push_back(helper_call("v128_select", "VVi", "V", false));
          return {};
        }
        break;
      }
      case ExprType::Block:
      case ExprType::Loop: {
        wabt::Block& block = expr->type() == ExprType::Block
                                 ? cast<wabt::BlockExpr>(expr.get())->block
                                 : cast<wabt::LoopExpr>(expr.get())->block;
        if (Status s = lower_block_body(block, stack); !s) return s;
        break;
      }
      case ExprType::If: {
        auto* if_expr = cast<wabt::IfExpr>(expr.get());
        pop(stack);
        const wabt::FuncSignature sig = if_expr->true_.decl.sig;
        Stack else_stack(sig.param_types.begin(), sig.param_types.end());
        if (Status s = lower_block_body(if_expr->true_, stack); !s) return s;
        if (Status s = lower_list(if_expr->false_, else_stack); !s) return s;
        break;
      }
      case ExprType::Br:
      case ExprType::BrTable:
      case ExprType::Return:
      case ExprType::Unreachable:
      case ExprType::ReturnCall:
      case ExprType::ReturnCallIndirect:
        if (expr->type() == ExprType::ReturnCallIndirect) {
          lower_sig(cast<wabt::ReturnCallIndirectExpr>(expr.get())->decl.sig);
        }
        reachable = false;
        break;
      case ExprType::BrIf:
        pop(stack);
        break;
      case ExprType::Call: {
        const wabt::FuncSignature& sig =
            func_sigs_.at(cast<wabt::CallExpr>(expr.get())->var.index());
        pop_n(stack, sig.param_types.size());
        push_all(stack, sig.result_types);
        break;
      }
      case ExprType::CallIndirect: {
        wabt::FuncSignature& sig = cast<wabt::CallIndirectExpr>(expr.get())->decl.sig;
        pop(stack);
        pop_n(stack, sig.param_types.size());
        push_all(stack, sig.result_types);
        lower_sig(sig);
        break;
      }
      case ExprType::Binary:
      case ExprType::Compare:
      case ExprType::Convert:
      case ExprType::Unary:
      case ExprType::Ternary: {
        const wabt::Opcode opcode = opcode_of(*expr);
        const std::string params = opcode_params(opcode);
        pop_n(stack, params.size());
        if (opcode.GetResultType() != Type::Void) stack.push_back(opcode.GetResultType());
        if (opcode_uses_v128(opcode)) {
          out.push_back(helper_call(field_of(opcode), params, opcode_result(opcode), false));
          return {};
        }
        break;
      }
      case ExprType::SimdLaneOp: {
        auto* lane = cast<wabt::SimdLaneOpExpr>(expr.get());
        const std::string params = opcode_params(lane->opcode);
        pop_n(stack, params.size());
        stack.push_back(lane->opcode.GetResultType());
        out.push_back(make<wabt::ConstExpr>(wabt::Const::I32(static_cast<uint32_t>(lane->val))));
        out.push_back(
            helper_call(field_of(lane->opcode), params + "i", opcode_result(lane->opcode), false));
        return {};
      }
      case ExprType::SimdShuffleOp: {
        auto* shuffle = cast<wabt::SimdShuffleOpExpr>(expr.get());
        pop_n(stack, 2);
        stack.push_back(Type::V128);
        out.push_back(make<wabt::ConstExpr>(wabt::Const::I64(shuffle->val.u64(0))));
        out.push_back(make<wabt::ConstExpr>(wabt::Const::I64(shuffle->val.u64(1))));
        out.push_back(helper_call(field_of(shuffle->opcode), "VVjj", "V", false));
        return {};
      }
      case ExprType::Load:
      case ExprType::Store:
      case ExprType::LoadSplat:
      case ExprType::LoadZero: {
        auto* access = cast<wabt::LoadExpr>(expr.get());
        const std::string params = opcode_params(access->opcode);
        pop_n(stack, params.size());
        const Type result = access->opcode.GetResultType();
        if (result != Type::Void) stack.push_back(result);
        if (!opcode_uses_v128(access->opcode)) break;
        if (Status s = check_memory(access->memidx); !s) return s;
        out.push_back(make<wabt::ConstExpr>(wabt::Const::I64(access->offset)));
        out.push_back(helper_call(field_of(access->opcode), params + "j",
                                  opcode_result(access->opcode), true));
        return {};
      }
      case ExprType::SimdLoadLane:
      case ExprType::SimdStoreLane: {
        // Same layout for both (opcode, memidx, align, offset, val).
        auto* access = cast<wabt::SimdLoadLaneExpr>(expr.get());
        const std::string params = opcode_params(access->opcode);
        pop_n(stack, params.size());
        const Type result = access->opcode.GetResultType();
        if (result != Type::Void) stack.push_back(result);
        if (Status s = check_memory(access->memidx); !s) return s;
        out.push_back(make<wabt::ConstExpr>(wabt::Const::I64(access->offset)));
        out.push_back(make<wabt::ConstExpr>(wabt::Const::I32(static_cast<uint32_t>(access->val))));
        out.push_back(helper_call(field_of(access->opcode), params + "ji",
                                  opcode_result(access->opcode), true));
        return {};
      }
      case ExprType::MemorySize:
        stack.push_back(Type::I32);
        break;
      case ExprType::MemoryGrow:
        pop(stack);
        stack.push_back(Type::I32);
        break;
      case ExprType::MemoryFill:
      case ExprType::MemoryCopy:
      case ExprType::MemoryInit:
      case ExprType::TableInit:
      case ExprType::TableCopy:
      case ExprType::TableFill:
        pop_n(stack, 3);
        break;
      case ExprType::DataDrop:
      case ExprType::ElemDrop:
      case ExprType::Nop:
        break;
      case ExprType::TableGet: {
        const auto& var = cast<wabt::TableGetExpr>(expr.get())->var;
        pop(stack);
        stack.push_back(table_types_.at(var.index()));
        break;
      }
      case ExprType::TableSet:
        pop_n(stack, 2);
        break;
      case ExprType::TableGrow:
        pop_n(stack, 2);
        stack.push_back(Type::I32);
        break;
      case ExprType::TableSize:
        stack.push_back(Type::I32);
        break;
      case ExprType::RefNull:
        stack.push_back(cast<wabt::RefNullExpr>(expr.get())->type);
        break;
      case ExprType::RefIsNull:
        pop(stack);
        stack.push_back(Type::I32);
        break;
      case ExprType::RefFunc:
        stack.push_back(Type::FuncRef);
        break;
      default:
        return unsupported(std::string("instruction ") + wabt::GetExprTypeName(expr->type()));
    }
    out.push_back(std::move(expr));
    return {};
  }

  // The helpers become imports right after the module's own; every function index at or past
  // that point moves up by their number.
  void add_helper_imports() {
    const wabt::Index first = module_.num_func_imports;
    const auto count = static_cast<wabt::Index>(helpers_.size());
    if (count == 0) return;
    auto shift = [&](wabt::Var& var) {
      if (var.is_index() && var.index() >= first) var.set_index(var.index() + count);
    };
    std::vector<wabt::ExprList*> work;
    for (size_t i = first; i < module_.funcs.size(); ++i) work.push_back(&module_.funcs[i]->exprs);
    for (wabt::ElemSegment* segment : module_.elem_segments) {
      for (wabt::ExprList& list : segment->elem_exprs) work.push_back(&list);
    }
    for (wabt::Global* global : module_.globals) work.push_back(&global->init_expr);
    while (!work.empty()) {
      wabt::ExprList* list = work.back();
      work.pop_back();
      for (wabt::Expr& expr : *list) {
        switch (expr.type()) {
          case ExprType::Call:
            shift(cast<wabt::CallExpr>(&expr)->var);
            break;
          case ExprType::ReturnCall:
            shift(cast<wabt::ReturnCallExpr>(&expr)->var);
            break;
          case ExprType::RefFunc:
            shift(cast<wabt::RefFuncExpr>(&expr)->var);
            break;
          default:
            children(expr, work);
            break;
        }
      }
    }
    for (wabt::Export* export_ : module_.exports) {
      if (export_->kind == wabt::ExternalKind::Func) shift(export_->var);
    }
    for (wabt::Var* start : module_.starts) shift(*start);
    // Only now: the helper calls were made with placeholder indices, which the shift skipped.
    for (auto& [call, helper] : helper_calls_) {
      call->var = index_var(first + static_cast<wabt::Index>(helper));
    }

    auto insert_at = module_.fields.begin();
    for (auto it = module_.fields.begin(); it != module_.fields.end(); ++it) {
      if (it->type() == wabt::ModuleFieldType::Import) insert_at = std::next(it);
    }
    for (wabt::Index i = 0; i < count; ++i) {
      const SimdHelper& helper = helpers_[i];
      auto import = std::make_unique<wabt::FuncImport>();
      import->module_name = std::string(kSimdModule);
      import->field_name = helper.field;
      const wabt::Index type =
          ensure_func_type(module_, types_of(helper.params), types_of(helper.results));
      import->func.decl.has_func_type = true;
      import->func.decl.type_var = index_var(type);
      import->func.decl.sig = cast<wabt::FuncType>(module_.types[type])->sig;
      wabt::Func* func = &import->func;
      wabt::Import* raw = import.get();
      module_.fields.insert(insert_at,
                            std::make_unique<wabt::ImportModuleField>(std::move(import)));
      module_.imports.push_back(raw);
      module_.funcs.insert(module_.funcs.begin() + first + i, func);
      ++module_.num_func_imports;
    }
  }

  wabt::Module& module_;
  std::vector<wabt::FuncSignature> func_sigs_;
  std::vector<Type> global_types_;
  std::vector<Type> table_types_;
  FuncState* state_ = nullptr;
  std::vector<SimdHelper> helpers_;
  std::map<std::string, size_t> helper_index_;
  std::vector<std::pair<wabt::CallExpr*, size_t>> helper_calls_;
  std::map<wabt::Index, wabt::Index> high_global_;
  std::vector<std::pair<wabt::Var*, wabt::Index>> pending_global_refs_;
};

}  // namespace

bool uses_v128(const wabt::Module& module) {
  for (const wabt::TypeEntry* type : module.types) {
    if (const auto* func_type = wabt::dyn_cast<wabt::FuncType>(type)) {
      if (has_v128(func_type->sig.param_types) || has_v128(func_type->sig.result_types))
        return true;
    }
  }
  for (const wabt::Global* global : module.globals) {
    if (global->type == Type::V128) return true;
  }
  for (size_t i = module.num_func_imports; i < module.funcs.size(); ++i) {
    wabt::Func& func = *module.funcs[i];
    if (has_v128(func.decl.sig.param_types) || has_v128(func.decl.sig.result_types)) return true;
    for (Type t : func.local_types) {
      if (t == Type::V128) return true;
    }
    if (any_expr(func.exprs, expr_uses_v128)) return true;
  }
  return false;
}

Result<std::vector<SimdHelper>> lower_simd(wabt::Module& module) {
  return Lowerer(module).run();
}

}  // namespace reglet::engine::aot
