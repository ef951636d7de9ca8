#include "engine/aot/codegen.h"

#include <openssl/evp.h>
#include <wabt/apply-names.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/c-writer.h>
#include <wabt/cast.h>
#include <wabt/error-formatter.h>
#include <wabt/generate-names.h>
#include <wabt/ir.h>
#include <wabt/stream.h>
#include <wabt/validator.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>
#include <vector>

#include "engine/aot/aot_abi.h"
#include "engine/aot/simd_lower.h"
#include "engine/prep/ir_walk.h"

namespace reglet::engine::aot {
namespace {

// Value types as aot_abi.h spells them.
char type_letter(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32: return 'i';
    case wabt::Type::I64: return 'j';
    case wabt::Type::F32: return 'f';
    case wabt::Type::F64: return 'd';
    case wabt::Type::V128:
      return 'V';
    case wabt::Type::FuncRef:
      return 'r';
    case wabt::Type::ExternRef:
      return 'e';
    default: return '?';
  }
}

std::string letters(const wabt::TypeVector& types) {
  std::string out;
  for (wabt::Type t : types) out += type_letter(t);
  return out;
}

// After the SIMD lowering a v128 is two i64 at the C level.
std::string lowered_letters(std::string_view original) {
  std::string out;
  for (char c : original) out += c == 'V' ? std::string("jj") : std::string(1, c);
  return out;
}

size_t slot_count(std::string_view original) {
  size_t n = 0;
  for (char c : original) n += c == 'V' ? 2 : c == 'r' ? 3 : 1;
  return n;
}

const char* c_type(char letter) {
  switch (letter) {
    case 'i': return "u32";
    case 'j': return "u64";
    case 'f': return "f32";
    case 'd': return "f64";
    case 'e':
      return "wasm_rt_externref_t";
    case 'r':
      return "wasm_rt_funcref_t";
    default: return "void";
  }
}

// wasm2c's result type for `lowered` results.
std::string c_result_type(std::string_view lowered) {
  if (lowered.empty()) return "void";
  if (lowered.size() == 1) return c_type(lowered[0]);
  return "struct wasm_multi_" + std::string(lowered);
}

// wasm2c 1.0.32's name mangling: letters, digits and '_' stay, anything else (and 'Z', the escape
// character) becomes Z and two hex digits per byte.
std::string mangle(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if ((std::isalnum(c) || c == '_') && c != 'Z' && c < 0x80) {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "Z%02X", c);
      out += buffer;
    }
  }
  return out;
}

std::string import_c_name(std::string_view module, std::string_view field) {
  return "Z_" + mangle(module) + "Z_" + mangle(field);
}

// A C string literal.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      // Octal escapes, and '?' too so that no trigraph can form.
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\%03o", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Statements storing C value `expr` (type `letter`) into slots[k...]; advances k.
std::string store_slots(char letter, const std::string& expr, const std::string& slots, size_t& k) {
  const std::string at = slots + "[" + std::to_string(k) + "]";
  std::string out;
  switch (letter) {
    case 'i':
      out = at + " = (uint64_t)(u32)(" + expr + ");";
      break;
    case 'j':
      out = at + " = (uint64_t)(" + expr + ");";
      break;
    case 'f':
      out = at + " = reglet_f32_bits(" + expr + ");";
      break;
    case 'd':
      out = at + " = reglet_f64_bits(" + expr + ");";
      break;
    case 'e':
      out = at + " = (uint64_t)(uintptr_t)(" + expr + ");";
      break;
    case 'r':
      out = "reglet_funcref_slots(" + expr + ", &" + at + ");";
      k += 3;
      return out;
  }
  ++k;
  return out;
}

// The C value of type `letter` in slots[k...]; advances k.
std::string load_slots(char letter, const std::string& slots, size_t& k) {
  const std::string at = slots + "[" + std::to_string(k) + "]";
  std::string out;
  switch (letter) {
    case 'i':
      out = "(u32)" + at;
      break;
    case 'j':
      out = "(u64)" + at;
      break;
    case 'f':
      out = "reglet_bits_f32(" + at + ")";
      break;
    case 'd':
      out = "reglet_bits_f64(" + at + ")";
      break;
    case 'e':
      out = "(wasm_rt_externref_t)(uintptr_t)" + at;
      break;
    case 'r':
      out = "reglet_slots_funcref(&" + at + ")";
      k += 3;
      return out;
  }
  ++k;
  return out;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// What the glue needs from wasm2c's header: the instance struct's fields (name by type, in order)
// and the parameters of <name>_instantiate (one per imported module, in wasm2c's order).
struct HeaderInfo {
  std::vector<std::pair<std::string, std::string>> fields;  // (type, name); pointers keep '*'
  std::vector<std::string> instantiate_params;              // after the instance pointer
};

Result<HeaderInfo> parse_header(const std::string& header, const std::string& name) {
  HeaderInfo info;
  std::istringstream lines(header);
  std::string line;
  const std::string struct_open = "typedef struct Z_" + name + "_instance_t {";
  const std::string instantiate = "void Z_" + name + "_instantiate(";
  // "  u32 w2c_g0;", "  u32 *Z_MZ_g;", "  struct Z_M_instance_t* Z_M_instance;"
  static const std::regex kField(
      R"(^  ([A-Za-z_][A-Za-z0-9_ ]*?) ?(\*?) ?(\*?)([A-Za-z_][A-Za-z0-9_]*);$)");
  bool in_struct = false;
  bool found_instantiate = false;
  while (std::getline(lines, line)) {
    if (in_struct) {
      if (line.rfind("} Z_", 0) == 0) {
        in_struct = false;
        continue;
      }
      std::smatch match;
      if (std::regex_match(line, match, kField)) {
        std::string type = match[1];
        if (match[2].length() || match[3].length()) type += "*";
        info.fields.emplace_back(type, match[4]);
      }
      continue;
    }
    if (line == struct_open) {
      in_struct = true;
      continue;
    }
    if (line.rfind(instantiate, 0) == 0) {
      found_instantiate = true;
      const size_t open = line.find('(');
      const size_t close = line.rfind(')');
      std::string params = line.substr(open + 1, close - open - 1);
      size_t start = 0;
      bool first = true;
      while (start <= params.size()) {
        size_t comma = params.find(", ", start);
        if (comma == std::string::npos) comma = params.size();
        if (!first) info.instantiate_params.push_back(params.substr(start, comma - start));
        first = false;
        start = comma + 2;
      }
    }
  }
  if (!found_instantiate) {
    return make_error(ErrorCode::internal,
                      "wasm2c header does not declare the instantiate function");
  }
  return info;
}

struct Import {
  std::string module, field;
  int kind = REGLET_AOT_FUNC;
  std::string params, results;  // func: signature; global: type in params; table: element type
  bool mutable_ = false;
  wabt::Limits limits;
};

struct Export {
  std::string name;
  int kind = REGLET_AOT_FUNC;
  std::string params, results;
  bool mutable_ = false;
  wabt::Limits limits;
  std::string c_name;
};

// The import whose calls lower_checks made the guard check.
bool is_guard_import(const Import& import) {
  return import.kind == REGLET_AOT_FUNC && import.module == kInternalModule &&
         import.field == kInterruptImport && import.params.empty() && import.results == "i";
}

std::string instance_type_of(const std::string& name) {
  return "Z_" + name + "_instance_t";
}

std::string limits_c(const wabt::Limits& limits) {
  return "{" + std::to_string(limits.initial) + "ull, " + std::to_string(limits.max) + "ull, " +
         (limits.has_max ? "1" : "0") + "}";
}

// wasm-rt, forwarded to the host's implementation (rt.cc); slot numbers match aot_engine.cc.
// `reglet_rt_host` is set by every module's bind().
std::string runtime_forwards() {
  std::ostringstream g;
  g << "#include <stdarg.h>\n"
    << "typedef uint32_t (*reglet_register_type_fn)(uint32_t, uint32_t, const int*);\n"
    << "void wasm_rt_trap(wasm_rt_trap_t t) { ((void (*)(wasm_rt_trap_t))reglet_rt_host->rt[0])(t);"
       " abort(); }\n"
    << "bool wasm_rt_is_initialized(void) { return true; }\n"
    << "uint32_t wasm_rt_register_func_type(uint32_t p, uint32_t r, ...) {\n"
    << "  int types[1024]; va_list args; va_start(args, r);\n"
    << "  if (p + r > 1024) abort();\n"
    << "  for (uint32_t i = 0; i < p + r; ++i) types[i] = va_arg(args, int);\n"
    << "  va_end(args);\n"
    << "  return ((reglet_register_type_fn)reglet_rt_host->rt[1])(p, r, types);\n}\n"
    << "void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t i, uint32_t x) {"
       " ((void (*)(wasm_rt_memory_t*, uint32_t, uint32_t))reglet_rt_host->rt[2])(m, i, x); }\n"
    << "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t d) {"
       " return ((uint32_t (*)(wasm_rt_memory_t*, uint32_t))reglet_rt_host->rt[3])(m, d); }\n"
    << "void wasm_rt_free_memory(wasm_rt_memory_t* m) {"
       " ((void (*)(wasm_rt_memory_t*))reglet_rt_host->rt[4])(m); }\n"
    << "void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t e, uint32_t x)"
       " { ((void (*)(wasm_rt_funcref_table_t*, uint32_t, uint32_t))reglet_rt_host->rt[5])(t, e,"
       " x); }\n"
    << "void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) {"
       " ((void (*)(wasm_rt_funcref_table_t*))reglet_rt_host->rt[6])(t); }\n"
    << "uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t d,"
       " wasm_rt_funcref_t v) { return ((uint32_t (*)(wasm_rt_funcref_table_t*, uint32_t,"
       " wasm_rt_funcref_t))reglet_rt_host->rt[7])(t, d, v); }\n"
    << "void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t e,"
       " uint32_t x) { ((void (*)(wasm_rt_externref_table_t*, uint32_t, uint32_t))"
       "reglet_rt_host->rt[8])(t, e, x); }\n"
    << "void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) {"
       " ((void (*)(wasm_rt_externref_table_t*))reglet_rt_host->rt[9])(t); }\n"
    << "uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t d,"
       " wasm_rt_externref_t v) { return ((uint32_t (*)(wasm_rt_externref_table_t*, uint32_t,"
       " wasm_rt_externref_t))reglet_rt_host->rt[10])(t, d, v); }\n\n";
  return g.str();
}

// --- The checks, lowered ------------------------------------------------------------------
//
// The preprocessing inserts, identically for every tier (prepare.cc):
//   function entry:  depth += 1; if (depth > limit) stack_exhausted();
//                    if (budget) budget -= 1; else budget = interrupt();
//   function exit:   depth -= 1
//   loop header:     if (budget) budget -= 1; else budget = interrupt();
// In C each of those is a read-modify-write of a field of the instance: a store followed by a load
// of the same address on every call and every iteration, a dependency chain through memory that
// costs recursive code (fib) several times its native time. Here the depth counting goes away and
// every budget check becomes `interrupt()` alone, whose definition in the glue is the guard check
// (a load and a compare, see reglet_aot_guard): the native stack bound replaces the depth bound,
// and the host trips the guard to interrupt the call.
//
// Guest code cannot name the two counters (they are appended after the module's own globals), so
// the patterns are matched by the counters' indices; anything else that touches them would mean
// the instrumentation changed without this pass, and fails the generation.

using wabt::cast;
using wabt::ExprType;

bool is_global_get(const wabt::Expr& e, wabt::Index global) {
  return e.type() == ExprType::GlobalGet && cast<wabt::GlobalGetExpr>(&e)->var.index() == global;
}
bool is_global_set(const wabt::Expr& e, wabt::Index global) {
  return e.type() == ExprType::GlobalSet && cast<wabt::GlobalSetExpr>(&e)->var.index() == global;
}
bool is_i32_const(const wabt::Expr& e, std::optional<uint32_t> value = std::nullopt) {
  if (e.type() != ExprType::Const) return false;
  const wabt::Const& c = cast<wabt::ConstExpr>(&e)->const_;
  return c.type() == wabt::Type::I32 && (!value || c.u32() == *value);
}
bool is_opcode(const wabt::Expr& e, ExprType type, wabt::Opcode::Enum opcode) {
  if (e.type() != type) return false;
  if (type == ExprType::Binary) return cast<wabt::BinaryExpr>(&e)->opcode == opcode;
  if (type == ExprType::Compare) return cast<wabt::CompareExpr>(&e)->opcode == opcode;
  return false;
}
bool is_call(const wabt::Expr& e, wabt::Index func) {
  return e.type() == ExprType::Call && cast<wabt::CallExpr>(&e)->var.index() == func;
}

struct CheckIndices {
  wabt::Index depth, budget, interrupt, exhausted;
};

// The number of expressions at `it` that form one of the patterns above, and which one.
enum class Pattern { none, depth_entry, depth_exit, budget };
std::pair<Pattern, size_t> match(wabt::ExprList& list, wabt::ExprList::iterator it,
                                 const CheckIndices& x) {
  std::vector<wabt::Expr*> at;
  for (auto i = it; i != list.end() && at.size() < 8; ++i) at.push_back(&*i);
  auto n = at.size();
  if (n >= 2 && is_global_get(*at[0], x.budget) && at[1]->type() == ExprType::If) {
    auto* branch = cast<wabt::IfExpr>(at[1]);
    const auto& t = branch->true_.exprs;
    const auto& f = branch->false_;
    if (t.size() == 4 && f.size() == 2) {
      auto ti = t.begin();
      const wabt::Expr& t0 = *ti++;
      const wabt::Expr& t1 = *ti++;
      const wabt::Expr& t2 = *ti++;
      const wabt::Expr& t3 = *ti;
      if (is_global_get(t0, x.budget) && is_i32_const(t1, 1) &&
          is_opcode(t2, ExprType::Binary, wabt::Opcode::I32Sub) && is_global_set(t3, x.budget) &&
          is_call(f.front(), x.interrupt) && is_global_set(f.back(), x.budget)) {
        return {Pattern::budget, 2};
      }
    }
  }
  if (n >= 4 && is_global_get(*at[0], x.depth) && is_i32_const(*at[1], 1) &&
      is_global_set(*at[3], x.depth)) {
    if (is_opcode(*at[2], ExprType::Binary, wabt::Opcode::I32Sub)) return {Pattern::depth_exit, 4};
    if (n == 8 && is_opcode(*at[2], ExprType::Binary, wabt::Opcode::I32Add) &&
        is_global_get(*at[4], x.depth) && is_i32_const(*at[5]) &&
        is_opcode(*at[6], ExprType::Compare, wabt::Opcode::I32GtU) &&
        at[7]->type() == ExprType::If) {
      auto* branch = cast<wabt::IfExpr>(at[7]);
      if (branch->true_.exprs.size() == 1 && is_call(branch->true_.exprs.front(), x.exhausted) &&
          branch->false_.empty()) {
        return {Pattern::depth_entry, 8};
      }
    }
  }
  return {Pattern::none, 1};
}

bool touches(const wabt::Expr& e, const CheckIndices& x) {
  for (wabt::Index g : {x.depth, x.budget}) {
    if (is_global_get(e, g) || is_global_set(e, g)) return true;
  }
  return false;
}

Status lower_checks(wabt::Module& module, const PreparedModule& prepared) {
  CheckIndices x{prepared.depth_global(), prepared.budget_global(), wabt::kInvalidIndex,
                 wabt::kInvalidIndex};
  for (wabt::Index i = 0; i < module.num_func_imports; ++i) {
    const wabt::Func& func = *module.funcs[i];
    for (const wabt::Import* import : module.imports) {
      const auto* func_import = wabt::dyn_cast<wabt::FuncImport>(import);
      if (!func_import || &func_import->func != &func || import->module_name != kInternalModule) {
        continue;
      }
      if (import->field_name == kInterruptImport) x.interrupt = i;
      if (import->field_name == kStackExhaustedImport) x.exhausted = i;
    }
  }
  if (x.interrupt == wabt::kInvalidIndex || x.exhausted == wabt::kInvalidIndex ||
      x.depth >= module.globals.size() || x.budget >= module.globals.size()) {
    return make_error(ErrorCode::internal, "the prepared module lacks its instrumentation");
  }
  for (size_t f = module.num_func_imports; f < module.funcs.size(); ++f) {
    std::vector<wabt::ExprList*> work{&module.funcs[f]->exprs};
    while (!work.empty()) {
      wabt::ExprList* list = work.back();
      work.pop_back();
      for (auto it = list->begin(); it != list->end();) {
        auto [pattern, length] = match(*list, it, x);
        switch (pattern) {
          case Pattern::depth_entry:
          case Pattern::depth_exit:
            for (size_t k = 0; k < length; ++k) it = list->erase(it);
            break;
          case Pattern::budget:
            for (size_t k = 0; k < length; ++k) it = list->erase(it);
            it = list->insert(
                it, std::make_unique<wabt::CallExpr>(wabt::Var(x.interrupt, wabt::Location())));
            ++it;
            it = list->insert(it, std::make_unique<wabt::DropExpr>());
            ++it;
            break;
          case Pattern::none:
            if (touches(*it, x)) {
              return make_error(ErrorCode::internal,
                                "unexpected use of the instrumentation's counters");
            }
            push_child_lists(*it, work);
            ++it;
            break;
        }
      }
    }
  }
  return {};
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string prepared_sha256(const PreparedModule& prepared) {
  const auto& binary = prepared.binary();
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(binary.data()), binary.size()));
}

std::string runtime_part_c() {
  return "/* Generated by reglet: wasm-rt for a shared object made of several modules. */\n"
         "#include \"wasm-rt.h\"\n#include \"aot_abi.h\"\n"
         "const reglet_aot_host_api* reglet_rt_host;\n" +
         runtime_forwards();
}

Result<GeneratedC> generate_c(const PreparedModule& prepared, const std::string& name,
                              Linkage linkage, const std::string& codegen_id) {
  GeneratedC out;
  out.name = name;
  out.stem = linkage == Linkage::shared_part ? name : "module";
  out.sha256 = prepared_sha256(prepared);
  const auto& binary = prepared.binary();

  wabt::Module module;
  wabt::Errors errors;
  wabt::Features features;
  const wabt::ReadBinaryOptions read_options(features, nullptr, false, true, false);
  if (wabt::Failed(wabt::ReadBinaryIr("module.wasm", binary.data(), binary.size(), read_options,
                                      &errors, &module)) ||
      wabt::Failed(wabt::ValidateModule(&module, &errors, wabt::ValidateOptions(features)))) {
    return make_error(ErrorCode::internal,
                      "prepared module does not validate: " +
                          wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
  }

  if (Status status = lower_checks(module, prepared); !status) return status.error();

  // Imports and exports as the module declares them, before the SIMD lowering changes types.
  std::vector<Import> imports;
  for (const wabt::Import* import : module.imports) {
    Import i;
    i.module = import->module_name;
    i.field = import->field_name;
    i.kind = REGLET_AOT_FUNC;
    switch (import->kind()) {
      case wabt::ExternalKind::Func: {
        const auto& sig = wabt::cast<wabt::FuncImport>(import)->func.decl.sig;
        i.params = letters(sig.param_types);
        i.results = letters(sig.result_types);
        break;
      }
      case wabt::ExternalKind::Memory:
        i.kind = REGLET_AOT_MEMORY;
        i.limits = wabt::cast<wabt::MemoryImport>(import)->memory.page_limits;
        break;
      case wabt::ExternalKind::Table: {
        const wabt::Table& table = wabt::cast<wabt::TableImport>(import)->table;
        i.kind = REGLET_AOT_TABLE;
        i.params = std::string(1, type_letter(table.elem_type));
        i.limits = table.elem_limits;
        break;
      }
      case wabt::ExternalKind::Global: {
        const wabt::Global& global = wabt::cast<wabt::GlobalImport>(import)->global;
        i.kind = REGLET_AOT_GLOBAL;
        i.params = std::string(1, type_letter(global.type));
        i.mutable_ = global.mutable_;
        break;
      }
      default:
        return make_error(ErrorCode::abi_error, "the AOT tier cannot import " +
                                                    import->module_name + "." + import->field_name +
                                                    " (a tag)");
    }
    imports.push_back(std::move(i));
  }
  // wasm2c 1.0.32 aborts the process when one name is imported twice as different kinds or types
  // (it declares one C symbol per name).
  for (size_t a = 0; a < imports.size(); ++a) {
    for (size_t b = a + 1; b < imports.size(); ++b) {
      const Import& x = imports[a];
      const Import& y = imports[b];
      if (x.module == y.module && x.field == y.field &&
          (x.kind != y.kind || x.params != y.params || x.results != y.results)) {
        return make_error(ErrorCode::abi_error, "wasm2c cannot import " + x.module + "." + x.field +
                                                    " twice with different types");
      }
    }
  }
  std::vector<Export> exports;
  for (const wabt::Export* export_ : module.exports) {
    Export e;
    e.name = export_->name;
    e.kind = REGLET_AOT_FUNC;
    e.c_name = "Z_" + name + "Z_" + mangle(export_->name);
    switch (export_->kind) {
      case wabt::ExternalKind::Func: {
        const wabt::Func* func = module.GetFunc(export_->var);
        e.params = letters(func->decl.sig.param_types);
        e.results = letters(func->decl.sig.result_types);
        break;
      }
      case wabt::ExternalKind::Memory:
        e.kind = REGLET_AOT_MEMORY;
        e.limits = module.GetMemory(export_->var)->page_limits;
        break;
      case wabt::ExternalKind::Table: {
        const wabt::Table* table = module.GetTable(export_->var);
        e.kind = REGLET_AOT_TABLE;
        e.params = std::string(1, type_letter(table->elem_type));
        e.limits = table->elem_limits;
        break;
      }
      case wabt::ExternalKind::Global: {
        const wabt::Global* global = module.GetGlobal(export_->var);
        e.kind = REGLET_AOT_GLOBAL;
        e.params = std::string(1, type_letter(global->type));
        e.mutable_ = global->mutable_;
        break;
      }
      default:
        return make_error(ErrorCode::abi_error,
                          "the AOT tier cannot export " + export_->name + " (a tag)");
    }
    exports.push_back(std::move(e));
  }
  std::vector<char> own_global_types;  // as declared, in order
  for (size_t i = module.num_global_imports; i < module.globals.size(); ++i) {
    own_global_types.push_back(type_letter(module.globals[i]->type));
  }
  std::vector<bool> own_global_mutable;
  for (size_t i = module.num_global_imports; i < module.globals.size(); ++i) {
    own_global_mutable.push_back(module.globals[i]->mutable_);
  }

  std::vector<SimdHelper> helpers;
  if (uses_v128(module)) {
    auto lowered = lower_simd(module);
    if (!lowered) return std::move(lowered).error();
    helpers = std::move(*lowered);
  }

  wabt::GenerateNames(&module);
  (void)wabt::ApplyNames(&module);

  wabt::MemoryStream c_stream, h_stream;
  wabt::WriteCOptions options;
  options.module_name = name;
  if (wabt::Failed(
          wabt::WriteC(&c_stream, &h_stream, (out.stem + ".h").c_str(), &module, options))) {
    return make_error(ErrorCode::internal, "wasm2c could not write C for the module");
  }
  const auto& c_data = c_stream.output_buffer().data;
  const auto& h_data = h_stream.output_buffer().data;
  out.module_c.assign(c_data.begin(), c_data.end());
  out.module_h.assign(h_data.begin(), h_data.end());
  // wasm2c writes import and export names into C comments as they are: a name holding "*/" ends
  // the comment early and the C does not compile. The comments carry nothing we need.
  for (const Export& e : exports) {
    if (e.name.find("*/") == std::string::npos) continue;
    for (std::string* text : {&out.module_c, &out.module_h}) {
      replace_all(*text, "/* export: '" + e.name + "' */", "/* export */");
    }
  }
  for (const Import& i : imports) {
    if (i.module.find("*/") == std::string::npos && i.field.find("*/") == std::string::npos) {
      continue;
    }
    for (std::string* text : {&out.module_c, &out.module_h}) {
      replace_all(*text, "/* import: '" + i.module + "' '" + i.field + "' */", "/* import */");
    }
  }

  // wasm2c 1.0.32 initialises a table element that refers to an imported function with the
  // address of the instance's field holding the import's context instead of the context itself
  // (elem segments and table.init only; ref.func is right), so a call_indirect through such an
  // element hands the import garbage. The offsets are made one-based, so that zero still means
  // "the instance itself", and the field is read.
  replace_all(out.module_c, ", offsetof(" + instance_type_of(name) + ", ",
              ", 1 + offsetof(" + instance_type_of(name) + ", ");
  replace_all(out.module_c, "(char*)module_instance + src_expr->module_offset}",
              "src_expr->module_offset ? *(void**)((char*)module_instance +"
              " src_expr->module_offset - 1) : module_instance}");

  // wasm2c 1.0.32 applies the data segments (init_memories) before the element segments
  // (init_tables); the spec applies element segments first, and what an instantiation wrote before
  // it trapped stays written (to an imported table, say). Neither function depends on the other.
  replace_all(out.module_c, "\n  init_memories(instance);\n  init_tables(instance);\n",
              "\n  init_tables(instance);\n  init_memories(instance);\n");

  auto header = parse_header(out.module_h, name);
  if (!header) return header.error();

  // The instance's fields: its own memory and its own globals, in module order (imported ones are
  // pointers).
  std::string memory_expr;
  std::vector<std::pair<std::string, char>> global_fields;
  for (const auto& [type, field] : header->fields) {
    if (type == "u32" || type == "u64" || type == "f32" || type == "f64" ||
        type == "wasm_rt_funcref_t" || type == "wasm_rt_externref_t") {
      global_fields.emplace_back(field, type[0] == 'w' ? '\0' : type[0]);
    } else if (type == "wasm_rt_memory_t" && memory_expr.empty()) {
      memory_expr = "&inst->" + field;
    }
  }
  // Lowered v128 globals add a field each (the high halves, at the end); the module's own list
  // is the first ones.
  if (global_fields.size() < own_global_types.size()) {
    return make_error(ErrorCode::internal, "wasm2c instance struct does not list the globals");
  }
  global_fields.resize(own_global_types.size());
  for (size_t i = 0; i < global_fields.size(); ++i) {
    const char t = own_global_types[i];
    global_fields[i].second = (t == 'i' || t == 'j' || t == 'f' || t == 'd') ? t : '\0';
  }
  if (memory_expr.empty()) {
    for (const Import& i : imports) {
      if (i.kind == REGLET_AOT_MEMORY) {
        memory_expr = "inst->" + import_c_name(i.module, i.field);
        break;
      }
    }
  }

  const std::string instance_type = "Z_" + name + "_instance_t";
  std::ostringstream g;
  g << "/* Generated by reglet for module " << out.sha256 << ". */\n"
    << "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n#include \"aot_abi.h\"\n";
  // Imports get module-specific names, so that several modules can be linked into one binary or
  // shared object: every module's header would otherwise declare the same Z_<module>Z_<field>.
  // A name imported twice is declared once by wasm2c; the first import defines it.
  std::map<std::string, size_t> defined_imports;
  for (size_t i = 0; i < imports.size(); ++i) {
    const std::string c_name = import_c_name(imports[i].module, imports[i].field);
    if (defined_imports.emplace(c_name, i).second) {
      g << "#define " << c_name << " " << name << "__import_" << i << "\n";
    }
  }
  for (size_t k = 0; k < helpers.size(); ++k) {
    g << "#define " << import_c_name(kSimdModule, helpers[k].field) << " " << name << "__simd_" << k
      << "\n";
  }
  // The guard check (see lower_checks and reglet_aot_guard), defined before wasm2c's code so that
  // the compiler inlines it into every function entry and loop header: wasm2c's header then
  // declares the import again, which C allows after a static definition. On x86-64 it is two
  // instructions, `cmp %rsp, limit` and a branch to the `ud2` (no register holds the stack pointer,
  // which in a tight loop would be spilled), in an asm goto, which the compiler executes every time
  // (`loop br 0` must see a trip) without treating it as a call. Elsewhere a volatile load, a
  // compare and a call. Without the depth counter's decrement after it, a call in tail position
  // would become a jump, and endless recursion an endless loop (stopped by the deadline, not
  // reported as exhaustion): calls stay calls, by this pragma for the objects the build compiles
  // and by a flag (compile_flags) for the others.
  g << "#if defined(__GNUC__) && !defined(__clang__)\n"
    << "#pragma GCC optimize(\"no-optimize-sibling-calls\")\n#endif\n"
    << "#include \"wasm-rt.h\"\n"
    << "static const reglet_aot_host_api* reglet_host;\n"
    << "#if defined(__x86_64__) && defined(__linux__)\n"
    << "#define REGLET_GUARD_CHECK(guard)                                                   \\\n"
    << "  __asm__ goto(\"cmpq %%rsp, %0\\n\\tja %l[tripped]\"                                 \\\n"
    << "               : : \"m\"((guard)->limit) : \"cc\" : tripped);                          \\\n"
    << "  return 0;                                                                       \\\n"
    << "tripped:                                                                          \\\n"
    << "  __asm__ volatile(\"ud2\" : : \"a\"(guard));                                          \\\n"
    << "  return 0;\n"
    << "#else\n"
    << "static __attribute__((noinline, cold)) void reglet_guard_slow(reglet_aot_guard* guard) {\n"
    << "  if (guard->tripped(guard)) wasm_rt_trap((wasm_rt_trap_t)REGLET_AOT_HOST_TRAP);\n}\n"
    << "#define REGLET_GUARD_CHECK(guard)                                                   \\\n"
    << "  if (__builtin_expect((uintptr_t)__builtin_frame_address(0) <                        \\\n"
    << "                       *(volatile uintptr_t*)&(guard)->limit, 0))                    \\\n"
    << "    reglet_guard_slow(guard);                                                     \\\n"
    << "  return 0;\n"
    << "#endif\n";
  for (size_t i = 0; i < imports.size(); ++i) {
    const Import& import = imports[i];
    if (!is_guard_import(import)) continue;
    const std::string c_name = import_c_name(import.module, import.field);
    if (defined_imports.at(c_name) != i) continue;
    g << "struct Z_" << mangle(import.module) << "_instance_t;\n"
      << "static inline __attribute__((always_inline)) uint32_t " << name << "__import_" << i
      << "(struct Z_" << mangle(import.module) << "_instance_t* context) {\n"
      << "  reglet_aot_guard* guard = (reglet_aot_guard*)context;\n"
      << "  REGLET_GUARD_CHECK(guard)\n}\n";
  }
  g << "#include \"" << out.stem << ".c\"\n\n";
  switch (linkage) {
    case Linkage::shared:
      g << "static const reglet_aot_host_api* reglet_rt_host;\n" << runtime_forwards();
      break;
    case Linkage::shared_part:
      g << "extern const reglet_aot_host_api* reglet_rt_host;\n";
      break;
    case Linkage::builtin:
      break;
  }
  g << "static inline uint64_t reglet_f32_bits(f32 v) { uint32_t b; memcpy(&b, &v, 4); return b; "
       "}\n"
    << "static inline uint64_t reglet_f64_bits(f64 v) { uint64_t b; memcpy(&b, &v, 8); return b; "
       "}\n"
    << "static inline f32 reglet_bits_f32(uint64_t v) { uint32_t b = (uint32_t)v; f32 f; "
       "memcpy(&f, &b, 4); return f; }\n"
    << "static inline f64 reglet_bits_f64(uint64_t v) { f64 d; memcpy(&d, &v, 8); return d; }\n"
    << "static inline void reglet_funcref_slots(wasm_rt_funcref_t r, uint64_t* s) {"
       " s[0] = r.func_type; s[1] = (uint64_t)(uintptr_t)r.func;"
       " s[2] = (uint64_t)(uintptr_t)r.module_instance; }\n"
    << "static inline wasm_rt_funcref_t reglet_slots_funcref(const uint64_t* s) {"
       " wasm_rt_funcref_t r; r.func_type = (uint32_t)s[0];"
       " r.func = (wasm_rt_function_ptr_t)(uintptr_t)s[1];"
       " r.module_instance = (void*)(uintptr_t)s[2]; return r; }\n\n";

  // Imports: functions call the host with slots; memories, tables and globals ask it for the
  // object once, at instantiation.
  for (size_t i = 0; i < imports.size(); ++i) {
    const Import& import = imports[i];
    const std::string c_name = import_c_name(import.module, import.field);
    if (defined_imports.at(c_name) != i) continue;
    const std::string context_type = "struct Z_" + mangle(import.module) + "_instance_t*";
    const std::string stub = name + "__import_" + std::to_string(i);
    if (is_guard_import(import)) continue;  // defined above
    if (import.kind != REGLET_AOT_FUNC) {
      std::string type;
      switch (import.kind) {
        case REGLET_AOT_MEMORY:
          type = "wasm_rt_memory_t*";
          break;
        case REGLET_AOT_TABLE:
          type = import.params == "e" ? "wasm_rt_externref_table_t*" : "wasm_rt_funcref_table_t*";
          break;
        default:
          type = std::string(c_type(import.params[0])) + "*";
          break;
      }
      g << type << " " << stub << "(" << context_type << " context) {\n"
        << "  void* object = reglet_host->import_object(context, " << i << "u);\n"
        << "  if (!object) wasm_rt_trap((wasm_rt_trap_t)REGLET_AOT_HOST_TRAP);\n"
        << "  return (" << type << ")object;\n}\n";
      continue;
    }
    const std::string results = import.results;
    g << c_result_type(results) << " " << stub << "(" << context_type << " context";
    for (size_t p = 0; p < import.params.size(); ++p) {
      g << ", " << c_type(import.params[p]) << " a" << p;
    }
    g << ") {\n  uint64_t args[" << std::max<size_t>(slot_count(import.params), 1)
      << "]; uint64_t results[" << std::max<size_t>(slot_count(results), 1) << "] = {0};\n";
    size_t k = 0;
    for (size_t p = 0; p < import.params.size(); ++p) {
      g << "  " << store_slots(import.params[p], "a" + std::to_string(p), "args", k) << "\n";
    }
    g << "  if (reglet_host->call_import(context, " << i
      << "u, args, results)) wasm_rt_trap((wasm_rt_trap_t)REGLET_AOT_HOST_TRAP);\n";
    k = 0;
    if (results.size() == 1) {
      g << "  return " << load_slots(results[0], "results", k) << ";\n";
    } else if (results.size() > 1) {
      g << "  " << c_result_type(results) << " out;\n";
      for (size_t r = 0; r < results.size(); ++r) {
        g << "  out." << results[r] << r << " = " << load_slots(results[r], "results", k) << ";\n";
      }
      g << "  return out;\n";
    }
    g << "}\n";
  }

  // SIMD helpers: wasm-level i64 pairs to rs_v128 and back, around simd_c_library().
  if (!helpers.empty()) {
    g << simd_c_library() << "\n";
    for (size_t k = 0; k < helpers.size(); ++k) {
      const SimdHelper& helper = helpers[k];
      const std::string params = lowered_letters(helper.params);
      const std::string results = lowered_letters(helper.results);
      g << c_result_type(results) << " " << name << "__simd_" << k << "(struct Z_"
        << mangle(kSimdModule) << "_instance_t* context";
      for (size_t p = 0; p < params.size(); ++p) g << ", " << c_type(params[p]) << " a" << p;
      g << ") {\n";
      std::string call = "rs_" + helper.field + "(";
      bool first = true;
      if (helper.memory) {
        if (memory_expr.empty()) {
          return make_error(ErrorCode::internal, "SIMD memory access without a memory");
        }
        g << "  " << instance_type << "* inst = (" << instance_type << "*)context;\n";
        call += memory_expr;
        first = false;
      } else {
        g << "  (void)context;\n";
      }
      size_t a = 0;
      for (char c : helper.params) {
        if (!first) call += ", ";
        first = false;
        if (c == 'V') {
          call += "rs_make(a" + std::to_string(a) + ", a" + std::to_string(a + 1) + ")";
          a += 2;
        } else {
          call += "a" + std::to_string(a++);
        }
      }
      call += ")";
      if (helper.results.empty()) {
        g << "  " << call << ";\n";
      } else if (helper.results == "V") {
        g << "  rs_v128 r = " << call << ";\n  struct wasm_multi_jj out;\n"
          << "  out.j0 = r.u64[0];\n  out.j1 = r.u64[1];\n  return out;\n";
      } else {
        g << "  return " << call << ";\n";
      }
      g << "}\n";
    }
  }

  // Exports: one trampoline per function whose slots fit.
  auto callable = [](const Export& e) {
    return e.kind == REGLET_AOT_FUNC && e.params.find('?') == std::string::npos &&
           e.results.find('?') == std::string::npos &&
           slot_count(e.params) <= REGLET_AOT_MAX_SLOTS &&
           slot_count(e.results) <= REGLET_AOT_MAX_SLOTS;
  };
  for (size_t i = 0; i < exports.size(); ++i) {
    const Export& e = exports[i];
    if (!callable(e)) continue;
    g << "static void reglet_export_" << i
      << "(void* instance, const uint64_t* args, uint64_t* results) {\n"
      << "  (void)args; (void)results;\n  ";
    std::string call = e.c_name + "((" + instance_type + "*)instance";
    size_t k = 0;
    for (char p : e.params) {
      if (p == 'V') {
        call += ", (u64)args[" + std::to_string(k) + "], (u64)args[" + std::to_string(k + 1) + "]";
        k += 2;
      } else {
        call += ", " + load_slots(p, "args", k);
      }
    }
    call += ")";
    const std::string lowered = lowered_letters(e.results);
    k = 0;
    if (lowered.empty()) {
      g << call << ";\n";
    } else if (lowered.size() == 1) {
      g << store_slots(lowered[0], call, "results", k) << "\n";
    } else {
      g << c_result_type(lowered) << " r = " << call << ";\n";
      size_t position = 0;
      for (char r : e.results) {
        if (r == 'V') {
          g << "  results[" << k << "] = r.j" << position << "; results[" << k + 1 << "] = r.j"
            << position + 1 << ";\n";
          k += 2;
          position += 2;
        } else {
          g << "  "
            << store_slots(r, "r." + std::string(1, r) + std::to_string(position), "results", k)
            << "\n";
          ++position;
        }
      }
    }
    g << "}\n";
  }

  g << "\nstatic int reglet_call(void* instance, uint32_t index, const uint64_t* args,"
       " uint64_t* results) {\n"
    << "  jmp_buf target;\n  jmp_buf* previous = reglet_host->push_unwind(&target);\n"
    << "  volatile int code = setjmp(target);\n  if (code == 0) {\n    switch (index) {\n";
  for (size_t i = 0; i < exports.size(); ++i) {
    if (!callable(exports[i])) continue;
    g << "      case " << i << ": reglet_export_" << i << "(instance, args, results); break;\n";
  }
  g << "      default: code = REGLET_AOT_NO_SUCH_EXPORT; break;\n    }\n  }\n"
    << "  reglet_host->pop_unwind(previous);\n  return code;\n}\n\n";

  g << "static void* reglet_export_object(void* instance, uint32_t index) {\n"
    << "  switch (index) {\n";
  for (size_t i = 0; i < exports.size(); ++i) {
    if (exports[i].kind == REGLET_AOT_FUNC) continue;
    g << "    case " << i << ": return (void*)" << exports[i].c_name << "((" << instance_type
      << "*)instance);\n";
  }
  g << "    default: (void)instance; return NULL;\n  }\n}\n\n";

  g << "static int reglet_instantiate(void* instance, void* context) {\n"
    << "  jmp_buf target;\n  jmp_buf* previous = reglet_host->push_unwind(&target);\n"
    << "  volatile int code = setjmp(target);\n  if (code == 0) {\n"
    << "    Z_" << name << "_instantiate((" << instance_type << "*)instance";
  const std::string simd_context = "struct Z_" + mangle(kSimdModule) + "_instance_t*";
  for (const std::string& param : header->instantiate_params) {
    // The SIMD helpers' context is the instance itself (they reach its memory through it).
    g << ", (" << param << ")" << (param == simd_context ? "instance" : "context");
  }
  g << ");\n  }\n  reglet_host->pop_unwind(previous);\n  return code;\n}\n\n"
    << "static void reglet_free(void* instance) { Z_" << name << "_free((" << instance_type
    << "*)instance); }\n"
    << "static void reglet_init_module(void) { Z_" << name << "_init_module(); }\n"
    << "static void reglet_bind(const reglet_aot_host_api* api) { reglet_host = api;"
    << (linkage == Linkage::builtin ? "" : " reglet_rt_host = api;") << " }\n"
    << "static void* reglet_memory(void* instance) { ";
  if (memory_expr.empty()) {
    g << "(void)instance; return NULL; }\n";
  } else {
    g << instance_type << "* inst = (" << instance_type << "*)instance; return " << memory_expr
      << "; }\n";
  }

  g << "\nstatic const reglet_aot_export reglet_exports[] = {\n";
  for (const Export& e : exports) {
    g << "  {" << quoted(e.name) << ", " << e.kind << ", " << quoted(e.params) << ", "
      << quoted(e.results) << ", " << (e.mutable_ ? 1 : 0) << ", " << limits_c(e.limits) << ", "
      << e.name.size() << "},\n";
  }
  g << "  {NULL, 0, NULL, NULL, 0, {0, 0, 0}, 0}};\n"
    << "static const reglet_aot_import reglet_imports[] = {\n";
  for (const Import& i : imports) {
    g << "  {" << quoted(i.module) << ", " << quoted(i.field) << ", " << quoted(i.params) << ", "
      << quoted(i.results) << ", " << i.kind << ", " << (i.mutable_ ? 1 : 0) << ", "
      << limits_c(i.limits) << ", " << i.module.size() << ", " << i.field.size() << "},\n";
  }
  g << "  {NULL, NULL, NULL, NULL, 0, 0, {0, 0, 0}, 0, 0}};\n"
    << "static const reglet_aot_global reglet_globals[] = {\n";
  for (size_t i = 0; i < global_fields.size(); ++i) {
    g << "  {offsetof(" << instance_type << ", " << global_fields[i].first << "), "
      << static_cast<int>(global_fields[i].second) << ", " << (own_global_mutable[i] ? 1 : 0)
      << "},\n";
  }
  g << "  {0, 0, 0}};\n\n"
    << "static const reglet_aot_module reglet_module = {\n"
    << "  REGLET_AOT_ABI_VERSION, " << quoted(out.sha256) << ", " << quoted(codegen_id) << ",\n"
    << "  sizeof(" << instance_type << "), _Alignof(" << instance_type << "),\n"
    << "  reglet_bind, reglet_init_module, reglet_instantiate, reglet_free, reglet_memory,"
       " reglet_call, reglet_export_object,\n"
    << "  " << exports.size() << ", reglet_exports, " << imports.size() << ", reglet_imports, "
    << global_fields.size() << ", reglet_globals};\n\n";
  switch (linkage) {
    case Linkage::shared:
      g << "__attribute__((visibility(\"default\"))) const reglet_aot_module* "
        << REGLET_AOT_ENTRY_SYMBOL << "(void) { return &reglet_module; }\n";
      break;
    case Linkage::shared_part:
      g << "__attribute__((visibility(\"default\"))) const reglet_aot_module* " << name
        << "_reglet_aot_module(void) { return &reglet_module; }\n";
      break;
    case Linkage::builtin:
      g << "const reglet_aot_module* " << name << "_reglet_aot_module(void) {"
        << " return &reglet_module; }\n";
      break;
  }
  out.glue_c = g.str();
  return out;
}

}  // namespace reglet::engine::aot
