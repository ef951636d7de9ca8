#include "engine/aot/codegen.h"

#include <openssl/evp.h>

#include "engine/aot/aot_abi.h"
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

#include <map>
#include <regex>
#include <sstream>
#include <vector>

namespace reglet::engine::aot {
namespace {

char type_letter(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32: return 'i';
    case wabt::Type::I64: return 'j';
    case wabt::Type::F32: return 'f';
    case wabt::Type::F64: return 'd';
    default: return '?';
  }
}

std::string letters(const wabt::TypeVector& types) {
  std::string out;
  for (wabt::Type t : types) out += type_letter(t);
  return out;
}

const char* c_type(char letter) {
  switch (letter) {
    case 'i': return "u32";
    case 'j': return "u64";
    case 'f': return "f32";
    case 'd': return "f64";
    default: return "void";
  }
}

// A C string literal.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\%03o", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Value to raw bits: f32/f64 by memcpy so that NaN payloads survive.
std::string to_bits(char letter, const std::string& expr) {
  switch (letter) {
    case 'i': return "(uint64_t)(" + expr + ")";
    case 'j': return "(uint64_t)(" + expr + ")";
    case 'f': return "reglet_f32_bits(" + expr + ")";
    case 'd': return "reglet_f64_bits(" + expr + ")";
  }
  return "0";
}

std::string from_bits(char letter, const std::string& expr) {
  switch (letter) {
    case 'i': return "(u32)(" + expr + ")";
    case 'j': return "(u64)(" + expr + ")";
    case 'f': return "reglet_bits_f32(" + expr + ")";
    case 'd': return "reglet_bits_f64(" + expr + ")";
  }
  return "0";
}

struct HeaderInfo {
  // C names by (module, field) and by export name, from wasm2c's "/* import: 'm' 'f' */" and
  // "/* export: 'n' */" comments: the header groups imports by module, so order is no guide.
  std::map<std::pair<std::string, std::string>, std::string> import_functions;
  std::map<std::string, std::string> export_functions;
  std::vector<std::pair<std::string, std::string>> fields;  // (type, name) of the instance
  size_t instantiate_contexts = 0;  // import-module parameters of <name>_instantiate
};

Result<HeaderInfo> parse_header(const std::string& header, const std::string& name) {
  HeaderInfo info;
  std::istringstream lines(header);
  std::string line;
  const std::string struct_open = "typedef struct Z_" + name + "_instance_t {";
  const std::string instantiate = "void Z_" + name + "_instantiate(";
  static const std::regex kDeclaration(R"(^[A-Za-z_][A-Za-z0-9_]*\*? ([A-Za-z_][A-Za-z0-9_]*)\()");
  static const std::regex kField(R"(^  ([A-Za-z_][A-Za-z0-9_ ]*\*?) ([A-Za-z_][A-Za-z0-9_]*);$)");
  static const std::regex kImportComment(R"(^/\* import: '(.*)' '(.*)' \*/$)");
  static const std::regex kExportComment(R"(^/\* export: '(.*)' \*/$)");
  bool in_struct = false;
  enum { none, import_next, export_next } pending = none;
  std::pair<std::string, std::string> pending_import;
  std::string pending_export;
  while (std::getline(lines, line)) {
    if (in_struct) {
      if (line.rfind("} Z_", 0) == 0) {
        in_struct = false;
        continue;
      }
      std::smatch match;
      if (std::regex_match(line, match, kField)) info.fields.emplace_back(match[1], match[2]);
      continue;
    }
    if (line == struct_open) {
      in_struct = true;
      continue;
    }
    if (line.rfind(instantiate, 0) == 0) {
      info.instantiate_contexts = static_cast<size_t>(std::count(line.begin(), line.end(), ','));
      continue;
    }
    std::smatch comment;
    if (std::regex_match(line, comment, kImportComment)) {
      pending = import_next;
      pending_import = {comment[1], comment[2]};
      continue;
    }
    if (std::regex_match(line, comment, kExportComment)) {
      pending = export_next;
      pending_export = comment[1];
      continue;
    }
    if (pending != none) {
      std::smatch match;
      if (!std::regex_search(line, match, kDeclaration)) {
        return make_error(ErrorCode::internal, "unexpected declaration in wasm2c header: " + line);
      }
      if (pending == import_next) {
        info.import_functions[pending_import] = match[1];
      } else {
        info.export_functions[pending_export] = match[1];
      }
      pending = none;
    }
  }
  return info;
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

Result<GeneratedC> generate_c(const PreparedModule& prepared, const std::string& name,
                              Linkage linkage, const std::string& codegen_id) {
  GeneratedC out;
  out.name = name;
  const auto& binary = prepared.binary();
  out.sha256 = sha256_hex(
      std::string_view(reinterpret_cast<const char*>(binary.data()), binary.size()));

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
  wabt::GenerateNames(&module);
  (void)wabt::ApplyNames(&module);

  wabt::MemoryStream c_stream, h_stream;
  wabt::WriteCOptions options;
  options.module_name = name;
  if (wabt::Failed(wabt::WriteC(&c_stream, &h_stream, "module.h", &module, options))) {
    return make_error(ErrorCode::internal, "wasm2c could not write C for the module");
  }
  const auto& c_data = c_stream.output_buffer().data;
  const auto& h_data = h_stream.output_buffer().data;
  out.module_c.assign(c_data.begin(), c_data.end());
  out.module_h.assign(h_data.begin(), h_data.end());

  auto header = parse_header(out.module_h, name);
  if (!header) return header.error();

  // Function imports and exports, as the IR lists them (the header follows the same order).
  struct Import {
    std::string module, field, params, results;
  };
  std::vector<Import> imports;
  for (const wabt::Import* import : module.imports) {
    if (import->kind() != wabt::ExternalKind::Func) {
      return make_error(ErrorCode::abi_error,
                        "the AOT tier supports function imports only (" + import->module_name +
                            "." + import->field_name + ")");
    }
    const auto& sig = wabt::cast<wabt::FuncImport>(import)->func.decl.sig;
    imports.push_back({import->module_name, import->field_name, letters(sig.param_types),
                       letters(sig.result_types)});
  }
  struct Export {
    std::string name;
    int kind;
    std::string params, results;
  };
  std::vector<Export> exports;
  for (const wabt::Export* export_ : module.exports) {
    Export e{export_->name, REGLET_AOT_FUNC, "", ""};
    switch (export_->kind) {
      case wabt::ExternalKind::Func: {
        const wabt::Func* func = module.GetFunc(export_->var);
        e.params = letters(func->decl.sig.param_types);
        e.results = letters(func->decl.sig.result_types);
        break;
      }
      case wabt::ExternalKind::Memory: e.kind = REGLET_AOT_MEMORY; break;
      case wabt::ExternalKind::Table: e.kind = REGLET_AOT_TABLE; break;
      default: e.kind = REGLET_AOT_GLOBAL; break;
    }
    exports.push_back(std::move(e));
  }
  std::vector<std::string> import_names, export_names;
  for (const Import& import : imports) {
    auto it = header->import_functions.find({import.module, import.field});
    if (it == header->import_functions.end()) {
      return make_error(ErrorCode::internal, "wasm2c header does not declare import " +
                                                 import.module + "." + import.field);
    }
    import_names.push_back(it->second);
  }
  for (const Export& e : exports) {
    auto it = header->export_functions.find(e.name);
    if (it == header->export_functions.end()) {
      return make_error(ErrorCode::internal, "wasm2c header does not declare export " + e.name);
    }
    export_names.push_back(it->second);
  }

  // Globals: the scalar fields of the instance struct, in module order.
  std::vector<std::pair<std::string, char>> global_fields;
  std::string memory_field;
  for (const auto& [type, field] : header->fields) {
    if (type == "u32") global_fields.emplace_back(field, 'i');
    else if (type == "u64") global_fields.emplace_back(field, 'j');
    else if (type == "f32") global_fields.emplace_back(field, 'f');
    else if (type == "f64") global_fields.emplace_back(field, 'd');
    else if (type == "v128" || type == "wasm_rt_funcref_t" || type == "wasm_rt_externref_t")
      global_fields.emplace_back(field, '\0');
    else if (type == "wasm_rt_memory_t" && memory_field.empty()) memory_field = field;
  }
  if (global_fields.size() != module.globals.size() - module.num_global_imports) {
    return make_error(ErrorCode::internal, "wasm2c instance struct does not list the globals");
  }

  const std::string instance_type = "Z_" + name + "_instance_t";
  std::ostringstream g;
  g << "/* Generated by reglet for module " << out.sha256 << ". */\n"
    << "#include <stddef.h>\n#include <string.h>\n#include \"aot_abi.h\"\n";
  // Import functions get module-specific names, so that several modules can be linked into one
  // binary: every module's header would otherwise declare the same Z_reglet_hostZ_... symbols.
  for (size_t i = 0; i < imports.size(); ++i) {
    g << "#define " << import_names[i] << " " << name << "__import_" << i << "\n";
  }
  g << "#include \"module.c\"\n\n"
    << "static const reglet_aot_host_api* reglet_host;\n"
    << "static inline uint64_t reglet_f32_bits(f32 v) { uint32_t b; memcpy(&b, &v, 4); return b; }\n"
    << "static inline uint64_t reglet_f64_bits(f64 v) { uint64_t b; memcpy(&b, &v, 8); return b; }\n"
    << "static inline f32 reglet_bits_f32(uint64_t v) { uint32_t b = (uint32_t)v; f32 f; "
       "memcpy(&f, &b, 4); return f; }\n"
    << "static inline f64 reglet_bits_f64(uint64_t v) { f64 d; memcpy(&d, &v, 8); return d; }\n\n";

  if (linkage == Linkage::shared) {
    // wasm-rt, forwarded to the host's implementation (rt.cc); slot numbers match aot_engine.cc.
    g << "#include <stdarg.h>\n"
      << "typedef uint32_t (*reglet_register_type_fn)(uint32_t, uint32_t, const int*);\n"
      << "void wasm_rt_trap(wasm_rt_trap_t t) { ((void (*)(wasm_rt_trap_t))reglet_host->rt[0])(t);"
         " abort(); }\n"
      << "bool wasm_rt_is_initialized(void) { return true; }\n"
      << "uint32_t wasm_rt_register_func_type(uint32_t p, uint32_t r, ...) {\n"
      << "  int types[1024]; va_list args; va_start(args, r);\n"
      << "  if (p + r > 1024) abort();\n"
      << "  for (uint32_t i = 0; i < p + r; ++i) types[i] = va_arg(args, int);\n"
      << "  va_end(args);\n"
      << "  return ((reglet_register_type_fn)reglet_host->rt[1])(p, r, types);\n}\n"
      << "void wasm_rt_allocate_memory(wasm_rt_memory_t* m, uint32_t i, uint32_t x) {"
         " ((void (*)(wasm_rt_memory_t*, uint32_t, uint32_t))reglet_host->rt[2])(m, i, x); }\n"
      << "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* m, uint32_t d) {"
         " return ((uint32_t (*)(wasm_rt_memory_t*, uint32_t))reglet_host->rt[3])(m, d); }\n"
      << "void wasm_rt_free_memory(wasm_rt_memory_t* m) {"
         " ((void (*)(wasm_rt_memory_t*))reglet_host->rt[4])(m); }\n"
      << "void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t e, uint32_t x)"
         " { ((void (*)(wasm_rt_funcref_table_t*, uint32_t, uint32_t))reglet_host->rt[5])(t, e, x);"
         " }\n"
      << "void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) {"
         " ((void (*)(wasm_rt_funcref_table_t*))reglet_host->rt[6])(t); }\n"
      << "uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t d,"
         " wasm_rt_funcref_t v) { return ((uint32_t (*)(wasm_rt_funcref_table_t*, uint32_t,"
         " wasm_rt_funcref_t))reglet_host->rt[7])(t, d, v); }\n"
      << "void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t e,"
         " uint32_t x) { ((void (*)(wasm_rt_externref_table_t*, uint32_t, uint32_t))"
         "reglet_host->rt[8])(t, e, x); }\n"
      << "void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) {"
         " ((void (*)(wasm_rt_externref_table_t*))reglet_host->rt[9])(t); }\n"
      << "uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t d,"
         " wasm_rt_externref_t v) { return ((uint32_t (*)(wasm_rt_externref_table_t*, uint32_t,"
         " wasm_rt_externref_t))reglet_host->rt[10])(t, d, v); }\n\n";
  }

  // Imports: raw values to the host, which runs the host function (or the instrumentation's).
  for (size_t i = 0; i < imports.size(); ++i) {
    const Import& import = imports[i];
    const char result = import.results.empty() ? 0 : import.results[0];
    g << (result ? c_type(result) : "void") << " " << name << "__import_" << i
      << "(struct Z_" << import.module << "_instance_t* context";
    for (size_t p = 0; p < import.params.size(); ++p) {
      g << ", " << c_type(import.params[p]) << " a" << p;
    }
    g << ") {\n  uint64_t args[" << std::max<size_t>(import.params.size(), 1)
      << "]; uint64_t results[1] = {0};\n";
    for (size_t p = 0; p < import.params.size(); ++p) {
      g << "  args[" << p << "] = " << to_bits(import.params[p], "a" + std::to_string(p)) << ";\n";
    }
    g << "  if (reglet_host->call_import(context, " << i
      << "u, args, results)) wasm_rt_trap((wasm_rt_trap_t)REGLET_AOT_HOST_TRAP);\n";
    if (result) g << "  return " << from_bits(result, "results[0]") << ";\n";
    g << "}\n";
  }

  // Exports: one trampoline each.
  for (size_t i = 0; i < exports.size(); ++i) {
    const Export& e = exports[i];
    if (e.kind != REGLET_AOT_FUNC || e.params.find('?') != std::string::npos ||
        e.results.find('?') != std::string::npos || e.results.size() > 1) {
      continue;
    }
    g << "static void reglet_export_" << i
      << "(void* instance, const uint64_t* args, uint64_t* results) {\n  ";
    std::string call = export_names[i] + "((" + instance_type + "*)instance";
    for (size_t p = 0; p < e.params.size(); ++p) {
      call += ", " + from_bits(e.params[p], "args[" + std::to_string(p) + "]");
    }
    call += ")";
    if (e.results.empty()) {
      g << call << ";\n  (void)results;\n";
    } else {
      g << "results[0] = " << to_bits(e.results[0], call) << ";\n";
    }
    g << "}\n";
  }

  g << "\nstatic int reglet_call(void* instance, uint32_t index, const uint64_t* args,"
       " uint64_t* results) {\n"
    << "  jmp_buf target;\n  jmp_buf* previous = reglet_host->push_unwind(&target);\n"
    << "  volatile int code = setjmp(target);\n  if (code == 0) {\n    switch (index) {\n";
  for (size_t i = 0; i < exports.size(); ++i) {
    const Export& e = exports[i];
    if (e.kind != REGLET_AOT_FUNC || e.params.find('?') != std::string::npos ||
        e.results.find('?') != std::string::npos || e.results.size() > 1) {
      continue;
    }
    g << "      case " << i << ": reglet_export_" << i << "(instance, args, results); break;\n";
  }
  g << "      default: code = REGLET_AOT_NO_SUCH_EXPORT; break;\n    }\n  }\n"
    << "  reglet_host->pop_unwind(previous);\n  return code;\n}\n\n";

  g << "static int reglet_instantiate(void* instance, void* context) {\n"
    << "  jmp_buf target;\n  jmp_buf* previous = reglet_host->push_unwind(&target);\n"
    << "  volatile int code = setjmp(target);\n  if (code == 0) {\n"
    << "    Z_" << name << "_instantiate((" << instance_type << "*)instance";
  for (size_t i = 0; i < header->instantiate_contexts; ++i) g << ", context";
  g << ");\n  }\n  reglet_host->pop_unwind(previous);\n  return code;\n}\n\n"
    << "static void reglet_free(void* instance) { Z_" << name << "_free((" << instance_type
    << "*)instance); }\n"
    << "static void reglet_init_module(void) { Z_" << name << "_init_module(); }\n"
    << "static void reglet_bind(const reglet_aot_host_api* api) { reglet_host = api; }\n"
    << "static void* reglet_memory(void* instance) { ";
  if (memory_field.empty()) {
    g << "(void)instance; return NULL; }\n";
  } else {
    g << "return &((" << instance_type << "*)instance)->" << memory_field << "; }\n";
  }

  g << "\nstatic const reglet_aot_export reglet_exports[] = {\n";
  for (const Export& e : exports) {
    g << "  {" << quoted(e.name) << ", " << e.kind << ", " << quoted(e.params) << ", "
      << quoted(e.results) << "},\n";
  }
  g << "  {NULL, 0, NULL, NULL}};\n"
    << "static const reglet_aot_import reglet_imports[] = {\n";
  for (const Import& i : imports) {
    g << "  {" << quoted(i.module) << ", " << quoted(i.field) << ", " << quoted(i.params) << ", "
      << quoted(i.results) << "},\n";
  }
  g << "  {NULL, NULL, NULL, NULL}};\n"
    << "static const reglet_aot_global reglet_globals[] = {\n";
  for (size_t i = 0; i < global_fields.size(); ++i) {
    const bool mutable_ = module.globals[module.num_global_imports + i]->mutable_;
    g << "  {offsetof(" << instance_type << ", " << global_fields[i].first << "), "
      << static_cast<int>(global_fields[i].second) << ", " << (mutable_ ? 1 : 0) << "},\n";
  }
  g << "  {0, 0, 0}};\n\n"
    << "static const reglet_aot_module reglet_module = {\n"
    << "  REGLET_AOT_ABI_VERSION, " << quoted(out.sha256) << ", " << quoted(codegen_id) << ",\n"
    << "  sizeof(" << instance_type << "), _Alignof(" << instance_type << "),\n"
    << "  reglet_bind, reglet_init_module, reglet_instantiate, reglet_free, reglet_memory,"
       " reglet_call,\n"
    << "  " << exports.size() << ", reglet_exports, " << imports.size() << ", reglet_imports, "
    << global_fields.size() << ", reglet_globals};\n\n";
  if (linkage == Linkage::shared) {
    g << "__attribute__((visibility(\"default\"))) const reglet_aot_module* "
      << "reglet_aot_module_v1(void) { return &reglet_module; }\n";
  } else {
    g << "const reglet_aot_module* " << name << "_reglet_aot_module(void) {"
      << " return &reglet_module; }\n";
  }
  out.glue_c = g.str();
  return out;
}

}  // namespace reglet::engine::aot
