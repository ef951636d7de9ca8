#include "engine/prep/prepare.h"

#include "engine/prep/frame_size.h"
#include "engine/prep/ir_walk.h"

#include <wabt/apply-names.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/binary-writer.h>
#include <wabt/cast.h>
#include <wabt/error-formatter.h>
#include <wabt/generate-names.h>
#include <wabt/ir.h>
#include <wabt/leb128.h>
#include <wabt/resolve-names.h>
#include <wabt/stream.h>
#include <wabt/utf8.h>
#include <wabt/validator.h>

#include <algorithm>
#include <string>
#include <utility>

namespace reglet::engine {
namespace {

using wabt::cast;
using wabt::ExprType;
using wabt::Opcode;
using wabt::Type;

constexpr uint32_t kMaxPages32 = 65536;

std::string format_errors(const wabt::Errors& errors) {
  std::string text = wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  // WABT prefixes every line with the file name we gave it; keep the message itself.
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.rfind("module.wasm:", 0) == 0) line.erase(0, 12);
    if (!out.empty()) out += "; ";
    out += line;
    start = end + 1;
  }
  return out.empty() ? "malformed module" : out;
}

std::optional<ValType> to_val_type(Type type) {
  switch (type) {
    case Type::I32: return ValType::i32;
    case Type::I64: return ValType::i64;
    case Type::F32: return ValType::f32;
    case Type::F64: return ValType::f64;
    default: return std::nullopt;
  }
}

wabt::Location no_location() { return wabt::Location(); }

// A name that no binding of `bindings` uses yet.
std::string unique_name(const wabt::BindingHash& bindings, std::string_view base) {
  std::string name(base);
  for (int suffix = 1; bindings.count(name) != 0; ++suffix) {
    name = std::string(base) + "." + std::to_string(suffix);
  }
  return name;
}

wabt::Index ensure_func_type(wabt::Module& module, std::vector<Type> params,
                             std::vector<Type> results) {
  wabt::FuncSignature sig;
  sig.param_types = std::move(params);
  sig.result_types = std::move(results);
  wabt::Index index = module.GetFuncTypeIndex(sig);
  if (index != wabt::kInvalidIndex) return index;
  auto type = std::make_unique<wabt::FuncType>();
  type->sig = sig;
  auto field = std::make_unique<wabt::TypeModuleField>();
  field->type = std::move(type);
  module.AppendField(std::move(field));
  return static_cast<wabt::Index>(module.types.size() - 1);
}

void set_decl(wabt::FuncDeclaration& decl, const wabt::Module& module, wabt::Index type_index) {
  decl.has_func_type = true;
  decl.type_var = wabt::Var(type_index, no_location());
  decl.sig = cast<wabt::FuncType>(module.types[type_index])->sig;
}

template <class T, class... Args>
std::unique_ptr<wabt::Expr> make(Args&&... args) {
  return std::make_unique<T>(std::forward<Args>(args)...);
}

wabt::Var named(const std::string& name) { return wabt::Var(name, no_location()); }

// budget > 0 ? budget -= 1 : budget = interrupt()
wabt::ExprList make_interrupt_check(const std::string& budget, const std::string& interrupt) {
  wabt::ExprList check;
  check.push_back(make<wabt::GlobalGetExpr>(named(budget)));
  auto branch = std::make_unique<wabt::IfExpr>();
  branch->true_.exprs.push_back(make<wabt::GlobalGetExpr>(named(budget)));
  branch->true_.exprs.push_back(make<wabt::ConstExpr>(wabt::Const::I32(1)));
  branch->true_.exprs.push_back(make<wabt::BinaryExpr>(Opcode(Opcode::I32Sub)));
  branch->true_.exprs.push_back(make<wabt::GlobalSetExpr>(named(budget)));
  branch->false_.push_back(make<wabt::CallExpr>(named(interrupt)));
  branch->false_.push_back(make<wabt::GlobalSetExpr>(named(budget)));
  check.push_back(std::move(branch));
  return check;
}

// depth += 1; if (depth > limit) stack_exhausted()
wabt::ExprList make_depth_entry(const std::string& depth, uint32_t limit,
                                const std::string& exhausted) {
  wabt::ExprList entry;
  entry.push_back(make<wabt::GlobalGetExpr>(named(depth)));
  entry.push_back(make<wabt::ConstExpr>(wabt::Const::I32(1)));
  entry.push_back(make<wabt::BinaryExpr>(Opcode(Opcode::I32Add)));
  entry.push_back(make<wabt::GlobalSetExpr>(named(depth)));
  entry.push_back(make<wabt::GlobalGetExpr>(named(depth)));
  entry.push_back(make<wabt::ConstExpr>(wabt::Const::I32(limit)));
  entry.push_back(make<wabt::CompareExpr>(Opcode(Opcode::I32GtU)));
  auto branch = std::make_unique<wabt::IfExpr>();
  branch->true_.exprs.push_back(make<wabt::CallExpr>(named(exhausted)));
  entry.push_back(std::move(branch));
  return entry;
}

// depth -= 1
wabt::ExprList make_depth_exit(const std::string& depth) {
  wabt::ExprList exit;
  exit.push_back(make<wabt::GlobalGetExpr>(named(depth)));
  exit.push_back(make<wabt::ConstExpr>(wabt::Const::I32(1)));
  exit.push_back(make<wabt::BinaryExpr>(Opcode(Opcode::I32Sub)));
  exit.push_back(make<wabt::GlobalSetExpr>(named(depth)));
  return exit;
}

class Instrumenter {
 public:
  Instrumenter(wabt::Module& module, const PrepareOptions& options)
      : module_(module), options_(options) {}

  struct Outcome {
    bool resettable = true;
    uint64_t max_frame_values = 0;
    uint32_t call_depth_limit = 0;
    uint32_t depth_global = 0;
    uint32_t budget_global = 0;
  };

  Status run(Outcome& outcome) {
    wabt::GenerateNames(&module_);
    // As wasm2c does: a name that cannot be applied is left as an index, which we handle below.
    (void)wabt::ApplyNames(&module_);

    const size_t original_funcs = module_.funcs.size();
    const wabt::Index original_imports = module_.num_func_imports;
    name_function_references();

    // Nesting depth first: the frame-size walk below recurses per block level.
    for (size_t i = original_imports; i < original_funcs; ++i) {
      if (Status status = check_nesting(module_.funcs[i]->exprs); !status) return status;
    }
    // Per defined function, in order (which the internal imports added below do not change).
    const std::vector<uint64_t> frames = frame_values(module_);
    // The instrumentation adds at most two operand values per frame.
    outcome.max_frame_values = (frames.empty() ? 0 : *std::max_element(frames.begin(), frames.end())) + 2;
    outcome.call_depth_limit = call_depth_limit(outcome.max_frame_values);

    budget_ = unique_name(module_.global_bindings, "$reglet.budget");
    depth_ = unique_name(module_.global_bindings, "$reglet.depth");
    interrupt_ = unique_name(module_.func_bindings, "$reglet.interrupt");
    grow_failed_ = unique_name(module_.func_bindings, "$reglet.memory_grow_failed");
    exhausted_ = unique_name(module_.func_bindings, "$reglet.stack_exhausted");
    grow_ = unique_name(module_.func_bindings, "$reglet.memory_grow");

    outcome.depth_global = add_counter_global(depth_);
    outcome.budget_global = add_counter_global(budget_);
    add_internal_imports();
    if (!module_.memories.empty()) add_grow_helper();

    // Every function that was in the module, now shifted by the internal imports.
    // Decided for every function before any is instrumented (memory.grow becomes a call of the
    // helper), and before loops are: a call of a leaf covers no loop.
    // (The memory.grow helper, added above, is neither: it has no check.)
    entry_checked_.assign(module_.funcs.size(), false);
    for (size_t i = module_.num_func_imports; i < original_funcs + kInternalImports; ++i) {
      entry_checked_[i] =
          !is_small_leaf(*module_.funcs[i], frames[i - module_.num_func_imports]);
    }
    for (size_t i = module_.num_func_imports; i < original_funcs + kInternalImports; ++i) {
      wabt::Func& func = *module_.funcs[i];
      instrument_body(func.exprs);
      if (entry_checked_[i]) wrap_for_depth(func, outcome.call_depth_limit);
    }
    outcome.resettable = resettable_;
    return {};
  }

 private:
  // After ApplyNames every function reference should be a name; make sure of it, because adding
  // imports shifts the index of every defined function.
  void name_function_references() {
    auto name_var = [&](wabt::Var& var) {
      if (var.is_index() && var.index() < module_.funcs.size()) {
        var.set_name(module_.funcs[var.index()]->name);
      }
    };
    for (wabt::Export* export_ : module_.exports) {
      if (export_->kind == wabt::ExternalKind::Func) name_var(export_->var);
    }
    for (wabt::Var* start : module_.starts) name_var(*start);
    auto name_in_list = [&](wabt::ExprList& list) {
      for (wabt::Expr& expr : list) {
        if (expr.type() == ExprType::RefFunc) name_var(cast<wabt::RefFuncExpr>(&expr)->var);
      }
    };
    for (wabt::ElemSegment* segment : module_.elem_segments) {
      for (wabt::ExprList& list : segment->elem_exprs) name_in_list(list);
    }
    for (wabt::Global* global : module_.globals) name_in_list(global->init_expr);
    for (size_t i = module_.num_func_imports; i < module_.funcs.size(); ++i) {
      std::vector<wabt::ExprList*> work{&module_.funcs[i]->exprs};
      while (!work.empty()) {
        wabt::ExprList* list = work.back();
        work.pop_back();
        for (wabt::Expr& expr : *list) {
          switch (expr.type()) {
            case ExprType::Call: name_var(cast<wabt::CallExpr>(&expr)->var); break;
            case ExprType::ReturnCall: name_var(cast<wabt::ReturnCallExpr>(&expr)->var); break;
            case ExprType::RefFunc: name_var(cast<wabt::RefFuncExpr>(&expr)->var); break;
            default: push_children(expr, work); break;
          }
        }
      }
    }
  }

  static void push_children(wabt::Expr& expr, std::vector<wabt::ExprList*>& work) {
    push_child_lists(expr, work);
  }

  // A mutable i32 global starting at 0, appended (so no existing global index moves).
  uint32_t add_counter_global(const std::string& name) {
    auto field = std::make_unique<wabt::GlobalModuleField>(no_location(), name);
    field->global.type = Type::I32;
    field->global.mutable_ = true;
    field->global.init_expr.push_back(make<wabt::ConstExpr>(wabt::Const::I32(0)));
    module_.AppendField(std::move(field));
    return static_cast<uint32_t>(module_.globals.size() - 1);
  }

  void add_internal_imports() {
    const wabt::Index interrupt_type = ensure_func_type(module_, {}, {Type::I32});
    const wabt::Index grow_failed_type = ensure_func_type(module_, {Type::I32}, {});
    const wabt::Index exhausted_type = ensure_func_type(module_, {}, {});

    // Imports precede defined functions in the index space: insert after the last import.
    auto insert_at = module_.fields.begin();
    for (auto it = module_.fields.begin(); it != module_.fields.end(); ++it) {
      if (it->type() == wabt::ModuleFieldType::Import) insert_at = std::next(it);
    }
    auto add = [&](const std::string& func_name, std::string_view field, wabt::Index type) {
      auto import = std::make_unique<wabt::FuncImport>(func_name);
      import->module_name = std::string(kInternalModule);
      import->field_name = std::string(field);
      set_decl(import->func.decl, module_, type);
      wabt::Func* func = &import->func;
      wabt::Import* raw_import = import.get();
      module_.fields.insert(insert_at,
                            std::make_unique<wabt::ImportModuleField>(std::move(import)));
      module_.imports.push_back(raw_import);
      module_.funcs.insert(module_.funcs.begin() + module_.num_func_imports, func);
      ++module_.num_func_imports;
    };
    add(interrupt_, kInterruptImport, interrupt_type);
    add(grow_failed_, kGrowFailedImport, grow_failed_type);
    add(exhausted_, kStackExhaustedImport, exhausted_type);

    module_.func_bindings.clear();
    for (size_t i = 0; i < module_.funcs.size(); ++i) {
      if (!module_.funcs[i]->name.empty()) {
        module_.func_bindings.emplace(module_.funcs[i]->name,
                                      wabt::Binding(static_cast<wabt::Index>(i)));
      }
    }
  }

  // (func $grow (param $pages i32) (result i32) (local $old i32)
  //   (local.tee $old (memory.grow (local.get $pages)))
  //   (if (i32.eq (i32.const -1)) (then (call $grow_failed (local.get $pages))))
  //   (local.get $old))
  void add_grow_helper() {
    const wabt::Index type = ensure_func_type(module_, {Type::I32}, {Type::I32});
    auto field = std::make_unique<wabt::FuncModuleField>(no_location(), grow_);
    wabt::Func& func = field->func;
    set_decl(func.decl, module_, type);
    func.local_types.AppendDecl(Type::I32, 1);
    auto local = [](wabt::Index index) { return wabt::Var(index, no_location()); };
    func.exprs.push_back(make<wabt::LocalGetExpr>(local(0)));
    func.exprs.push_back(make<wabt::MemoryGrowExpr>(wabt::Var(0, no_location())));
    func.exprs.push_back(make<wabt::LocalTeeExpr>(local(1)));
    func.exprs.push_back(make<wabt::ConstExpr>(wabt::Const::I32(0xffffffffu)));
    func.exprs.push_back(make<wabt::CompareExpr>(Opcode(Opcode::I32Eq)));
    auto branch = std::make_unique<wabt::IfExpr>();
    branch->true_.exprs.push_back(make<wabt::LocalGetExpr>(local(0)));
    branch->true_.exprs.push_back(make<wabt::CallExpr>(named(grow_failed_)));
    func.exprs.push_back(std::move(branch));
    func.exprs.push_back(make<wabt::LocalGetExpr>(local(1)));
    module_.AppendField(std::move(field));
  }

  // Rejects absurd block nesting before anything recurses over a body. Iterative.
  Status check_nesting(wabt::ExprList& body) {
    struct Item {
      wabt::ExprList* list;
      uint32_t depth;
    };
    std::vector<Item> work{{&body, 0}};
    while (!work.empty()) {
      Item item = work.back();
      work.pop_back();
      if (item.depth > options_.max_nesting_depth) {
        return make_error(ErrorCode::invalid_module,
                          "blocks nested deeper than " +
                              std::to_string(options_.max_nesting_depth) + " levels");
      }
      for (wabt::Expr& expr : *item.list) {
        std::vector<wabt::ExprList*> children;
        push_children(expr, children);
        for (wabt::ExprList* child : children) work.push_back({child, item.depth + 1});
      }
    }
    return {};
  }

  // A function that calls nothing and has a small frame needs neither the depth count nor the
  // entry check: it cannot recurse, so it adds one frame at most to a counted chain (within the
  // tiers' margin of kCallDepthMargin frames; the frame is small, so on AOT within the native
  // stack's reserve too), and without calls only its loops can make it run long, and they keep
  // their checks. Small helpers are most of the calls in plugin code (string scanning, copying,
  // allocation), and on the interpreter the entry and exit sequences were about a fifth of what it
  // ran, most of it global accesses, the dearest instructions there.
  static constexpr uint64_t kLeafFrameValues = 256;
  static bool is_small_leaf(wabt::Func& func, uint64_t frame_values) {
    if (frame_values > kLeafFrameValues) return false;
    return !any_expr(func.exprs, [](const wabt::Expr& expr) {
      switch (expr.type()) {
        case ExprType::Call:
        case ExprType::CallIndirect:
        case ExprType::CallRef:
        case ExprType::ReturnCall:
        case ExprType::ReturnCallIndirect:
          return true;
        default:
          return false;
      }
    });
  }

  // Function entry: depth check then interruption check, the original body in a block whose end
  // (reached by falling through, by a branch to the function's label, or by a `return`, which
  // becomes a branch to it) decrements the depth. Traps leave the depth as it was; the tiers
  // reset it before every top-level call.
  void wrap_for_depth(wabt::Func& func, uint32_t limit) {
    const std::string label = "$reglet.body";
    replace_returns(func.exprs, label);
    auto body = std::make_unique<wabt::BlockExpr>();
    body->block.label = label;
    body->block.decl.sig.result_types = func.decl.sig.result_types;
    if (func.decl.sig.result_types.size() > 1) {
      // Multi-value block types refer to a type entry.
      const wabt::Index type = ensure_func_type(module_, {}, func.decl.sig.result_types);
      body->block.decl.has_func_type = true;
      body->block.decl.type_var = wabt::Var(type, no_location());
    }
    body->block.exprs = std::move(func.exprs);
    func.exprs = make_depth_entry(depth_, limit, exhausted_);
    wabt::ExprList check = make_interrupt_check(budget_, interrupt_);
    func.exprs.splice(func.exprs.end(), check);
    func.exprs.push_back(std::move(body));
    wabt::ExprList exit = make_depth_exit(depth_);
    func.exprs.splice(func.exprs.end(), exit);
  }

  static void replace_returns(wabt::ExprList& body, const std::string& label) {
    std::vector<wabt::ExprList*> work{&body};
    while (!work.empty()) {
      wabt::ExprList* list = work.back();
      work.pop_back();
      for (auto it = list->begin(); it != list->end(); ++it) {
        if (it->type() == ExprType::Return) {
          it = list->erase(it);
          it = list->insert(it, make<wabt::BrExpr>(named(label)));
        } else {
          push_children(*it, work);
        }
      }
    }
  }

  // Loop headers get an interruption check; memory.grow goes through the helper. Iterative, with
  // an explicit stack.
  void instrument_body(wabt::ExprList& body) {
    std::vector<wabt::ExprList*> work{&body};
    while (!work.empty()) {
      wabt::ExprList* list = work.back();
      work.pop_back();
      for (auto it = list->begin(); it != list->end(); ++it) {
        switch (it->type()) {
          case ExprType::Loop: {
            auto* loop = cast<wabt::LoopExpr>(&*it);
            wabt::ExprList& loop_body = loop->block.exprs;
            // Decided before the body is instrumented (a memory.grow becomes a call of the
            // helper, which has no check).
            const bool covered = call_precedes_back_edges(*loop);
            work.push_back(&loop_body);
            if (!covered) {
              wabt::ExprList check = make_interrupt_check(budget_, interrupt_);
              loop_body.splice(loop_body.begin(), check);
            }
            break;
          }
          case ExprType::MemoryGrow:
            it = list->erase(it);
            it = list->insert(it, make<wabt::CallExpr>(named(grow_)));
            break;
          case ExprType::TableSet:
          case ExprType::TableGrow:
          case ExprType::TableFill:
          case ExprType::TableCopy:
          case ExprType::TableInit:
          case ExprType::ElemDrop:
          case ExprType::DataDrop:
            resettable_ = false;
            break;
          default:
            push_children(*it, work);
            break;
        }
      }
    }
  }

  // Whether every path from `loop`'s header back to it makes a call first (then the callee's check
  // bounds the iterations: a function of the module checks at its entry, an import in the tier's
  // host-call dispatch). Conservative: the body is scanned in order up to its first call, and any
  // instruction before it that may branch to the loop, at any nesting, makes the answer no; so does
  // a scan longer than kScanLimit instructions, which bounds the work (and the recursion below) per
  // loop. A body that cannot branch to its header at all is no loop and is covered too.
  bool call_precedes_back_edges(const wabt::LoopExpr& loop) const {
    size_t scanned = 0;
    std::vector<const std::string*> inner;  // labels between an expression and the loop
    for (const wabt::Expr& expr : loop.block.exprs) {
      if (expr.type() == ExprType::Call && callee_checks(cast<wabt::CallExpr>(&expr)->var)) {
        return true;
      }
      if (may_branch_to(expr, loop.block.label, inner, scanned)) return false;
    }
    return true;
  }

  // Whether a call of `var` is itself an interruption check: an import (the tier's host-call
  // dispatch counts it) or a function that kept its entry check (not a leaf). An indirect call
  // may reach a leaf, so it never counts.
  bool callee_checks(const wabt::Var& var) const {
    const wabt::Index index = module_.GetFuncIndex(var);
    if (index >= module_.funcs.size()) return false;
    if (index < module_.num_func_imports) return true;
    return index < entry_checked_.size() && entry_checked_[index];
  }

  static constexpr size_t kScanLimit = 512;

  // Whether `var`, seen inside the labels `inner` (innermost last), names the loop labelled
  // `label` (vars are names after ApplyNames, depths where a name could not be applied).
  static bool targets(const wabt::Var& var, const std::string& label,
                      const std::vector<const std::string*>& inner) {
    if (var.is_index()) return var.index() == inner.size();
    for (const std::string* name : inner) {
      if (*name == var.name()) return false;  // (an inner label of the same name shadows it)
    }
    return !label.empty() && var.name() == label;
  }

  static bool may_branch_to(const wabt::Expr& expr, const std::string& label,
                            std::vector<const std::string*>& inner, size_t& scanned) {
    if (++scanned > kScanLimit) return true;
    switch (expr.type()) {
      case ExprType::Br:
        return targets(cast<wabt::BrExpr>(&expr)->var, label, inner);
      case ExprType::BrIf:
        return targets(cast<wabt::BrIfExpr>(&expr)->var, label, inner);
      case ExprType::BrTable: {
        const auto* table = cast<wabt::BrTableExpr>(&expr);
        if (targets(table->default_target, label, inner)) return true;
        for (const wabt::Var& var : table->targets) {
          if (targets(var, label, inner)) return true;
        }
        return false;
      }
      case ExprType::Block:
        return block_may_branch_to(cast<wabt::BlockExpr>(&expr)->block, label, inner, scanned);
      case ExprType::Loop:
        return block_may_branch_to(cast<wabt::LoopExpr>(&expr)->block, label, inner, scanned);
      case ExprType::If: {
        const auto* if_expr = cast<wabt::IfExpr>(&expr);
        inner.push_back(&if_expr->true_.label);
        bool found = false;
        for (const wabt::ExprList* list : {&if_expr->true_.exprs, &if_expr->false_}) {
          for (const wabt::Expr& child : *list) {
            if (!found) found = may_branch_to(child, label, inner, scanned);
          }
        }
        inner.pop_back();
        return found;
      }
      case ExprType::Try:  // (not among the enabled features; conservative all the same)
        return true;
      default:
        return false;
    }
  }

  static bool block_may_branch_to(const wabt::Block& block, const std::string& label,
                                  std::vector<const std::string*>& inner, size_t& scanned) {
    inner.push_back(&block.label);
    bool found = false;
    for (const wabt::Expr& child : block.exprs) {
      if (may_branch_to(child, label, inner, scanned)) {
        found = true;
        break;
      }
    }
    inner.pop_back();
    return found;
  }

  wabt::Module& module_;
  const PrepareOptions& options_;
  std::string budget_, depth_, interrupt_, grow_failed_, exhausted_, grow_;
  // By function index: whether the function counts its depth and checks at entry (a defined
  // function that is not a small leaf).
  std::vector<bool> entry_checked_;
  bool resettable_ = true;
};

// We read custom sections leniently (fail_on_custom_section_error = false), as the spec wants for
// their contents: an error in a custom section's data must not invalidate the module. But WABT then
// also ignores errors in the section's name, which is part of the binary format proper: a custom
// section whose name length is unreadable (over-long or too-large LEB128), whose name runs past the
// section, or whose name is not UTF-8 makes the module malformed (spec testsuite: custom.wast,
// binary-leb128.wast, utf8-custom-section-id.wast). Check the names with WABT's own LEB128 and
// UTF-8 readers. Runs after ReadBinaryIr succeeded, so the section framing itself is known to be
// sound.
Status check_custom_section_names(std::span<const uint8_t> wasm) {
  constexpr size_t kHeaderSize = 8;  // magic and version
  if (wasm.size() < kHeaderSize) return {};
  const uint8_t* p = wasm.data() + kHeaderSize;
  const uint8_t* const end = wasm.data() + wasm.size();
  while (p < end) {
    const uint8_t id = *p++;
    uint32_t size = 0;
    const size_t size_bytes = wabt::ReadU32Leb128(p, end, &size);
    if (size_bytes == 0 || size > static_cast<size_t>(end - p - size_bytes)) return {};
    p += size_bytes;
    const uint8_t* const section_end = p + size;
    if (id == 0) {
      uint32_t name_size = 0;
      const size_t name_size_bytes = wabt::ReadU32Leb128(p, section_end, &name_size);
      if (name_size_bytes == 0) {
        return make_error(ErrorCode::invalid_module, "unable to read custom section name length");
      }
      const uint8_t* name = p + name_size_bytes;
      if (name_size > static_cast<size_t>(section_end - name)) {
        return make_error(ErrorCode::invalid_module,
                          "custom section name extends past the section");
      }
      if (!wabt::IsValidUtf8(reinterpret_cast<const char*>(name), name_size)) {
        return make_error(ErrorCode::invalid_module, "custom section name: invalid utf-8 encoding");
      }
    }
    p = section_end;
  }
  return {};
}

// WABT 1.0.32's IR validator skips the offset of an active data or element segment when the
// offset expression is empty (its interpreter's reader rejects it: "type mismatch"), and the binary
// writer would pass the invalid segment on to the tiers. Reject it here (data.wast, elem.wast).
Status check_segment_offsets(const wabt::Module& module) {
  for (const wabt::DataSegment* segment : module.data_segments) {
    if (segment->kind == wabt::SegmentKind::Active && segment->offset.empty()) {
      return make_error(ErrorCode::invalid_module,
                        "type mismatch: empty data segment offset, expected [i32]");
    }
  }
  for (const wabt::ElemSegment* segment : module.elem_segments) {
    if (segment->kind == wabt::SegmentKind::Active && segment->offset.empty()) {
      return make_error(ErrorCode::invalid_module,
                        "type mismatch: empty elem segment offset, expected [i32]");
    }
  }
  return {};
}

Status cap_limits(wabt::Module& module, const PrepareOptions& options, uint32_t& pages_limit) {
  pages_limit = options.max_memory_pages;
  for (size_t i = 0; i < module.memories.size(); ++i) {
    if (i < module.num_memory_imports) continue;  // the exporter's limits apply
    wabt::Limits& limits = module.memories[i]->page_limits;
    if (limits.initial > options.max_memory_pages) {
      return make_error(ErrorCode::memory_limit,
                        "module declares " + std::to_string(limits.initial) +
                            " initial memory pages, above the limit of " +
                            std::to_string(options.max_memory_pages) + " pages");
    }
    if (options.max_memory_pages < kMaxPages32 &&
        (!limits.has_max || limits.max > options.max_memory_pages)) {
      limits.has_max = true;
      limits.max = options.max_memory_pages;
    }
  }
  for (size_t i = module.num_table_imports; i < module.tables.size(); ++i) {
    wabt::Limits& limits = module.tables[i]->elem_limits;
    if (limits.initial > options.max_table_elements) {
      return make_error(ErrorCode::memory_limit,
                        "module declares a table of " + std::to_string(limits.initial) +
                            " elements, above the limit of " +
                            std::to_string(options.max_table_elements));
    }
    if (!limits.has_max || limits.max > options.max_table_elements) {
      limits.has_max = true;
      limits.max = options.max_table_elements;
    }
  }
  return {};
}

}  // namespace

uint32_t call_depth_limit(uint64_t max_frame_values) {
  const uint64_t per_frame = std::max<uint64_t>(max_frame_values, 1);
  return static_cast<uint32_t>(std::clamp<uint64_t>(kValueStackBudget / per_frame, 1, kMaxCallDepth));
}

PreparedModule::PreparedModule() = default;
PreparedModule::PreparedModule(PreparedModule&&) noexcept = default;
PreparedModule& PreparedModule::operator=(PreparedModule&&) noexcept = default;
PreparedModule::~PreparedModule() = default;

Result<PreparedModule> PreparedModule::prepare(std::span<const uint8_t> wasm,
                                               const PrepareOptions& options) {
  PreparedModule prepared;
  prepared.original_size_ = wasm.size();
  wabt::Module module;
  wabt::Features features;  // WABT's defaults: the finished proposals up to 2022
  wabt::Errors errors;
  const wabt::ReadBinaryOptions read_options(features, nullptr, /*read_debug_names=*/false,
                                             /*stop_on_first_error=*/true,
                                             /*fail_on_custom_section_error=*/false);
  if (wasm.empty()) return make_error(ErrorCode::invalid_module, "empty module (0 bytes)");
  if (wabt::Failed(wabt::ReadBinaryIr("module.wasm", wasm.data(), wasm.size(), read_options,
                                      &errors, &module))) {
    return make_error(ErrorCode::invalid_module, format_errors(errors));
  }
  if (Status status = check_custom_section_names(wasm); !status) return std::move(status).error();
  if (wabt::Failed(wabt::ValidateModule(&module, &errors, wabt::ValidateOptions(features)))) {
    return make_error(ErrorCode::invalid_module, format_errors(errors));
  }
  if (Status status = check_segment_offsets(module); !status) return std::move(status).error();

  for (const wabt::Import* import : module.imports) {
    if (import->kind() != wabt::ExternalKind::Func) {
      if (options.allow_non_function_imports) continue;
      return make_error(ErrorCode::abi_error,
                        "import " + import->module_name + "." + import->field_name +
                            ": plugins may import functions only");
    }
    const auto& sig = cast<wabt::FuncImport>(import)->func.decl.sig;
    ImportInfo info{import->module_name, import->field_name, {}};
    bool numeric = true;
    for (Type t : sig.param_types) {
      auto v = to_val_type(t);
      numeric &= v.has_value();
      if (v) info.sig.params.push_back(*v);
    }
    for (Type t : sig.result_types) {
      auto v = to_val_type(t);
      numeric &= v.has_value();
      if (v) info.sig.results.push_back(*v);
    }
    if (!numeric && !options.allow_non_function_imports) {
      return make_error(ErrorCode::abi_error, "import " + info.module + "." + info.name +
                                                  ": only numeric parameters are supported");
    }
    prepared.imports_.push_back(std::move(info));
  }

  for (const wabt::Global* global : module.globals) {
    if (global->mutable_ && !to_val_type(global->type)) prepared.resettable_ = false;
  }

  if (Status status = cap_limits(module, options, prepared.memory_pages_limit_); !status) {
    return std::move(status).error();
  }
  Instrumenter::Outcome outcome;
  if (Status status = Instrumenter(module, options).run(outcome); !status) {
    return std::move(status).error();
  }
  prepared.resettable_ = prepared.resettable_ && outcome.resettable;
  prepared.max_frame_values_ = outcome.max_frame_values;
  prepared.call_depth_limit_ = outcome.call_depth_limit;
  prepared.depth_global_ = outcome.depth_global;
  prepared.budget_global_ = outcome.budget_global;

  // The binary writer wants index references (label depths included); the instrumentation worked
  // with names. No second validation here: every tier decodes binary() with validation (the
  // interpreter's reader validates, the AOT tier re-reads and validates it before writing C).
  if (wabt::Failed(wabt::ResolveNamesModule(&module, &errors))) {
    return make_error(ErrorCode::internal,
                      "could not resolve the instrumented module: " + format_errors(errors));
  }
  wabt::MemoryStream stream;
  const wabt::WriteBinaryOptions write_options(features, /*canonicalize_lebs=*/true,
                                               /*relocatable=*/false,
                                               /*write_debug_names=*/false);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, &module, write_options))) {
    return make_error(ErrorCode::internal, "could not write the instrumented module");
  }
  prepared.binary_ = std::move(stream.output_buffer().data);
  return prepared;
}

}  // namespace reglet::engine
