// The AOT tier as a spec backend: the modules of a script go through the tier's own code generation
// (wasm2c + glue, SIMD lowered) and are compiled together into one shared object
// (engine::aot::load_module_set, cached on disk), then instantiated through the raw ABI of
// aot_abi.h. This backend is the host of every instance: it resolves imports from the `spectest`
// module it defines and from registered instances, hands memories, tables and globals from one
// instance to another as pointers (import_object), and routes calls of imported functions to the
// exporting instance's export (call_import, which nests a call() of that instance; its setjmp nests
// inside the caller's).
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/ir.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <type_traits>
#include <unordered_map>

#include "backend.h"
#include "engine/aot/aot_engine.h"
#include "engine/aot/codegen.h"
#include "engine/aot/rt.h"
#include "engine/aot/watchdog.h"

namespace reglet::spec {
namespace {

using engine::ExecutionControl;
using engine::Trap;
using engine::TrapKind;

class AotSession;
struct Instance;

size_t slots_of(std::string_view letters) {
  size_t n = 0;
  for (char c : letters) n += c == 'V' ? 2 : c == 'r' ? 3 : 1;
  return n;
}

// What a module can import: a function (an instance's export or a spectest function) or a
// memory, table or global (a pointer to its storage, wherever it lives).
struct Extern {
  uint32_t kind = REGLET_AOT_FUNC;
  std::string params, results;  // func: signature; global: type; table: element type
  // Functions.
  struct Instance* instance = nullptr;  // nullptr: a spectest function (does nothing)
  uint32_t export_index = 0;
  // Memories, tables, globals.
  void* object = nullptr;
  bool mutable_ = false;
};

enum class BindingKind : uint8_t {
  none,
  interrupt,
  grow_failed,
  stack_exhausted,
  host,
  wasm,
  object
};

struct Binding {
  BindingKind kind = BindingKind::none;
  Extern target;
};

int guard_tripped(reglet_aot_guard* guard);

// The context generated code gets: it begins with the instance's guard (aot_abi.h).
struct Context {
  reglet_aot_guard guard{0, REGLET_AOT_GUARD_MAGIC, guard_tripped};
  struct Instance* instance = nullptr;
};
static_assert(std::is_standard_layout_v<Context> && offsetof(Context, guard) == 0);

struct Instance {
  Context context;
  AotSession* session = nullptr;
  const reglet_aot_module* desc = nullptr;
  void* storage = nullptr;  // desc->instance_size bytes
  bool instantiated = false;
  std::vector<Binding> imports;
  std::map<std::string, Extern, std::less<>> exports;

  ~Instance() {
    if (instantiated) desc->free_instance(storage);
    std::free(storage);
  }
};

int call_import(void* context, uint32_t index, const uint64_t* args, uint64_t* results);
void* import_object(void* context, uint32_t index);

const reglet_aot_host_api* spec_host_api() {
  static const reglet_aot_host_api api = [] {
    reglet_aot_host_api a = engine::aot::base_host_api();
    a.call_import = call_import;
    a.import_object = import_object;
    return a;
  }();
  return &api;
}

Trap trap_from_code(int code) {
  const auto kind = static_cast<wasm_rt_trap_t>(code);
  if (kind == WASM_RT_TRAP_EXHAUSTION) {
    return Trap{TrapKind::stack_exhausted, "call stack exhausted"};
  }
  if (code == REGLET_AOT_NO_SUCH_EXPORT) return Trap{TrapKind::host_error, "no such export"};
  return Trap{TrapKind::trap, wasm_rt_strerror(kind)};
}

class AotSession final : public Session {
 public:
  explicit AotSession(const engine::aot::AotOptions& options) : options_(options) {
    engine::aot_rt::ensure_initialized();
    add_spectest();
  }

  ~AotSession() override {
    // Instances may hold pointers into each other and into the spectest objects; none runs now.
    instances_.clear();
    failed_.clear();
    wasm_rt_free_memory(&spectest_memory_);
    wasm_rt_free_funcref_table(&spectest_table_);
  }

  void prefetch(const std::vector<const engine::PreparedModule*>& modules) override {
    auto loaded = engine::aot::load_module_set(modules, options_, spec_host_api());
    for (size_t i = 0; i < modules.size(); ++i) {
      loaded_.emplace(engine::aot::prepared_sha256(*modules[i]), std::move(loaded[i]));
    }
  }

  InstantiateResult instantiate(const engine::PreparedModule& prepared,
                                ExecutionControl& control) override {
    InstantiateResult out;
    const std::string hash = engine::aot::prepared_sha256(prepared);
    auto it = loaded_.find(hash);
    if (it == loaded_.end()) {
      prefetch({&prepared});
      it = loaded_.find(hash);
    }
    if (!it->second) {
      // Linking comes first: a module that names an import nobody provides is unlinkable, even
      // if the code generator could not have compiled it either.
      if (auto missing = unresolved_import(prepared)) {
        out.failure = InstantiateResult::Failure::link;
        out.message = *missing;
        return out;
      }
      out.failure = InstantiateResult::Failure::load;
      out.message = it->second.error().message;
      return out;
    }
    const reglet_aot_module* desc = *it->second;

    auto instance = std::make_unique<Instance>();
    instance->context.instance = instance.get();
    instance->session = this;
    instance->desc = desc;
    // Resolve and check every import before anything runs, as the interpreter backend does.
    for (uint32_t i = 0; i < desc->import_count; ++i) {
      const reglet_aot_import& import = desc->imports[i];
      Binding binding;
      const std::string_view module(import.module, import.module_size);
      const std::string_view field(import.name, import.name_size);
      if (module == engine::kInternalModule) {
        const std::string_view name = field;
        binding.kind = name == engine::kInterruptImport    ? BindingKind::interrupt
                       : name == engine::kGrowFailedImport ? BindingKind::grow_failed
                                                           : BindingKind::stack_exhausted;
        instance->imports.push_back(std::move(binding));
        continue;
      }
      const Extern* found = lookup(module, field);
      if (!found) {
        out.failure = InstantiateResult::Failure::link;
        out.message = "unknown import " + std::string(module) + "." + std::string(field);
        return out;
      }
      if (auto mismatch = check_import(import, *found)) {
        out.failure = InstantiateResult::Failure::link;
        out.message = std::string(module) + "." + std::string(field) + ": " + *mismatch;
        return out;
      }
      binding.target = *found;
      binding.kind = import.kind != REGLET_AOT_FUNC ? BindingKind::object
                     : found->instance              ? BindingKind::wasm
                                                    : BindingKind::host;
      instance->imports.push_back(std::move(binding));
    }

    const size_t align = std::max<size_t>(desc->instance_align, alignof(std::max_align_t));
    const size_t size = (desc->instance_size + align - 1) / align * align;
    instance->storage = std::aligned_alloc(align, size);
    if (!instance->storage) {
      out.failure = InstantiateResult::Failure::load;
      out.message = "out of memory";
      return out;
    }
    std::memset(instance->storage, 0, size);

    begin_call(control);
    instance->instantiated = true;
    engine::aot_rt::store_limit(instance->context.guard, engine::aot_rt::guest_stack_limit());
    std::optional<engine::aot_rt::GuardWatch> watch(std::in_place, instance->context.guard,
                                                    control);
    const int code = desc->instantiate(instance->storage, &instance->context);
    watch.reset();
    control_ = nullptr;
    if (code != 0) {
      out.failure = InstantiateResult::Failure::trap;
      out.message = take_trap(code).message;
      // Segments written before the trap may point into this instance (a table shared with
      // another instance): it stays alive with the session.
      failed_.push_back(std::move(instance));
      return out;
    }

    for (uint32_t i = 0; i < desc->export_count; ++i) {
      const reglet_aot_export& e = desc->exports[i];
      Extern x;
      x.kind = e.kind;
      x.params = e.params;
      x.results = e.results;
      x.mutable_ = e.mutable_;
      if (e.kind == REGLET_AOT_FUNC) {
        x.instance = instance.get();
        x.export_index = i;
      } else {
        x.object = desc->export_object(instance->storage, i);
        // The limits an importer is checked against: the declaring module's, which a module
        // re-exporting an import does not know; the first module to export the object does.
        limits_.emplace(x.object, e.limits);
      }
      instance->exports.emplace(std::string(e.name, e.name_size), std::move(x));
    }
    instances_.push_back(std::move(instance));
    out.instance = instances_.size() - 1;
    return out;
  }

  void register_instance(InstanceId instance, const std::string& as) override {
    registry_[as] = instances_.at(instance)->exports;
  }

  ActionResult invoke(InstanceId id, std::string_view name, std::span<const SpecValue> args,
                      ExecutionControl& control) override {
    ActionResult out;
    const Extern* found = find_export(id, name);
    if (!found || found->kind != REGLET_AOT_FUNC) {
      out.error = "no exported function \"" + std::string(name) + "\"";
      return out;
    }
    if (args.size() != found->params.size()) {
      out.error = "wrong number of arguments";
      return out;
    }
    if (slots_of(found->params) > REGLET_AOT_MAX_SLOTS ||
        slots_of(found->results) > REGLET_AOT_MAX_SLOTS) {
      out.error = "signature too large";
      return out;
    }
    uint64_t in[REGLET_AOT_MAX_SLOTS] = {};
    uint64_t results[REGLET_AOT_MAX_SLOTS] = {};
    size_t k = 0;
    for (size_t i = 0; i < args.size(); ++i) {
      if (!to_slots(args[i], found->params[i], in, k)) {
        out.error = "argument " + std::to_string(i) + " does not have type " +
                    std::string(1, found->params[i]);
        return out;
      }
    }
    // Every instance the call may reach gets this thread's stack limit; the watchdog watches the
    // one called (a deadline here is a safety net: the testsuite has no endless loops).
    const uintptr_t limit = engine::aot_rt::guest_stack_limit();
    for (const auto& other : instances_) engine::aot_rt::store_limit(other->context.guard, limit);
    for (const auto& other : failed_) engine::aot_rt::store_limit(other->context.guard, limit);
    begin_call(control);
    Instance& instance = *found->instance;
    std::optional<engine::aot_rt::GuardWatch> watch(std::in_place, instance.context.guard, control);
    const int code = instance.desc->call(instance.storage, found->export_index, in, results);
    watch.reset();
    control_ = nullptr;
    if (code != 0) {
      out.trap = take_trap(code);
      return out;
    }
    k = 0;
    for (char letter : found->results) out.values.push_back(from_slots(letter, results, k));
    return out;
  }

  ActionResult get_global(InstanceId id, std::string_view name) override {
    ActionResult out;
    const Extern* found = find_export(id, name);
    if (!found || found->kind != REGLET_AOT_GLOBAL) {
      out.error = "no exported global \"" + std::string(name) + "\"";
      return out;
    }
    uint64_t slots[3] = {};
    const char type = found->params[0];
    switch (type) {
      case 'i':
      case 'f':
        std::memcpy(&slots[0], found->object, 4);
        break;
      case 'j':
      case 'd':
        std::memcpy(&slots[0], found->object, 8);
        break;
      case 'e':
        slots[0] = reinterpret_cast<uintptr_t>(*static_cast<void**>(found->object));
        break;
      case 'r': {
        const auto* ref = static_cast<const wasm_rt_funcref_t*>(found->object);
        slots[0] = ref->func_type;
        slots[1] = reinterpret_cast<uintptr_t>(ref->func);
        slots[2] = reinterpret_cast<uintptr_t>(ref->module_instance);
        break;
      }
      default:
        out.error = "global of an unsupported type";
        return out;
    }
    size_t k = 0;
    out.values.push_back(from_slots(type, slots, k));
    return out;
  }

  // From the host API, on the guest's thread.
  int dispatch(Instance& instance, uint32_t index, const uint64_t* args, uint64_t* results) {
    if (index >= instance.imports.size()) return stop(Trap{TrapKind::trap, "bad import index"});
    const Binding& binding = instance.imports[index];
    switch (binding.kind) {
      case BindingKind::interrupt:
        if (auto why = control_ ? control_->should_stop() : std::nullopt) {
          return stop(Trap{*why, *why == TrapKind::timeout ? "deadline exceeded" : "cancelled"});
        }
        results[0] = engine::kInterruptBudget;
        return 0;
      case BindingKind::grow_failed:
        return 0;
      case BindingKind::stack_exhausted:
        return stop(Trap{TrapKind::stack_exhausted, "call stack exhausted"});
      case BindingKind::host:
        return 0;  // spectest's print functions print nothing here
      case BindingKind::wasm: {
        const Instance& target = *binding.target.instance;
        const int code =
            target.desc->call(target.storage, binding.target.export_index, args, results);
        if (code == 0) return 0;
        // A trap of the callee's own, or one a host function of its recorded (kept as is).
        if (!pending_) pending_ = trap_from_code(code);
        return 1;
      }
      default:
        return stop(Trap{TrapKind::trap, "import not bound to a function"});
    }
  }

  // A check found the stack pointer below the instance's guard limit (aot_abi.h).
  int guard_tripped(Instance& instance) {
    if (auto why = control_ ? control_->should_stop() : std::nullopt) {
      return stop(Trap{*why, *why == TrapKind::timeout ? "deadline exceeded" : "cancelled"});
    }
    if (engine::aot_rt::load_limit(instance.context.guard) == REGLET_AOT_GUARD_TRIPPED) {
      engine::aot_rt::store_limit(instance.context.guard, engine::aot_rt::guest_stack_limit());
      return 0;
    }
    return stop(Trap{TrapKind::stack_exhausted, "call stack exhausted"});
  }

  void* object(Instance& instance, uint32_t index) {
    if (index >= instance.imports.size() || instance.imports[index].kind != BindingKind::object) {
      pending_ = Trap{TrapKind::trap, "import not bound to an object"};
      return nullptr;
    }
    return instance.imports[index].target.object;
  }

 private:
  int stop(Trap trap) {
    pending_ = std::move(trap);
    return 1;
  }

  void begin_call(ExecutionControl& control) {
    control_ = &control;
    pending_.reset();
  }

  Trap take_trap(int code) {
    if (code == REGLET_AOT_HOST_TRAP && pending_) {
      Trap out = std::move(*pending_);
      pending_.reset();
      return out;
    }
    pending_.reset();
    return trap_from_code(code);
  }

  // The first import of `prepared` that names nothing registered (or something of another kind).
  std::optional<std::string> unresolved_import(const engine::PreparedModule& prepared) const {
    wabt::Module module;
    wabt::Errors errors;
    const wabt::ReadBinaryOptions options(wabt::Features(), nullptr, false, true, false);
    const auto& binary = prepared.binary();
    if (wabt::Failed(wabt::ReadBinaryIr("module.wasm", binary.data(), binary.size(), options,
                                        &errors, &module))) {
      return std::nullopt;
    }
    for (const wabt::Import* import : module.imports) {
      if (import->module_name == engine::kInternalModule) continue;
      const Extern* found = lookup(import->module_name, import->field_name);
      uint32_t kind = REGLET_AOT_FUNC;
      switch (import->kind()) {
        case wabt::ExternalKind::Memory:
          kind = REGLET_AOT_MEMORY;
          break;
        case wabt::ExternalKind::Table:
          kind = REGLET_AOT_TABLE;
          break;
        case wabt::ExternalKind::Global:
          kind = REGLET_AOT_GLOBAL;
          break;
        default:
          break;
      }
      if (!found || found->kind != kind) {
        return "unknown import " + import->module_name + "." + import->field_name;
      }
    }
    return std::nullopt;
  }

  // Type checks of import matching, as the interpreter's (WABT's) Match does. nullopt: it fits.
  std::optional<std::string> check_import(const reglet_aot_import& import, const Extern& found) {
    if (import.kind != found.kind) return "incompatible import type (another kind)";
    switch (import.kind) {
      case REGLET_AOT_FUNC:
        if (found.params != import.params || found.results != import.results) {
          return "incompatible import type (signature)";
        }
        return std::nullopt;
      case REGLET_AOT_GLOBAL:
        if (found.params != import.params || found.mutable_ != (import.mutable_ != 0)) {
          return "incompatible import type (global type)";
        }
        return std::nullopt;
      case REGLET_AOT_TABLE:
        if (found.params != import.params) return "incompatible import type (element type)";
        [[fallthrough]];
      case REGLET_AOT_MEMORY: {
        uint64_t current = 0;
        if (import.kind == REGLET_AOT_MEMORY) {
          current = static_cast<const wasm_rt_memory_t*>(found.object)->pages;
        } else if (found.params == "e") {
          current = static_cast<const wasm_rt_externref_table_t*>(found.object)->size;
        } else {
          current = static_cast<const wasm_rt_funcref_table_t*>(found.object)->size;
        }
        const auto limits = limits_.find(found.object);
        const bool has_max = limits != limits_.end() && limits->second.has_max;
        const uint64_t max = limits != limits_.end() ? limits->second.max : 0;
        if (current < import.limits.initial) return "incompatible import type (too small)";
        if (import.limits.has_max && (!has_max || max > import.limits.max)) {
          return "incompatible import type (maximum)";
        }
        return std::nullopt;
      }
    }
    return "unknown import kind";
  }

  void add_spectest() {
    auto& spectest = registry_["spectest"];
    const std::pair<const char*, const char*> prints[] = {
        {"print", ""},      {"print_i32", "i"},      {"print_i64", "j"},      {"print_f32", "f"},
        {"print_f64", "d"}, {"print_i32_f32", "if"}, {"print_f64_f64", "dd"},
    };
    for (const auto& [name, params] : prints) {
      Extern x;
      x.params = params;
      spectest.emplace(name, std::move(x));
    }
    wasm_rt_allocate_memory(&spectest_memory_, 1, 2);
    wasm_rt_allocate_funcref_table(&spectest_table_, 10, 20);
    Extern memory;
    memory.kind = REGLET_AOT_MEMORY;
    memory.object = &spectest_memory_;
    limits_.emplace(memory.object, reglet_aot_limits{1, 2, 1});
    spectest.emplace("memory", std::move(memory));
    Extern table;
    table.kind = REGLET_AOT_TABLE;
    table.params = "r";
    table.object = &spectest_table_;
    limits_.emplace(table.object, reglet_aot_limits{10, 20, 1});
    spectest.emplace("table", std::move(table));
    spectest_i32_ = 666;
    spectest_i64_ = 666;
    const float f = 666.0f;
    const double d = 666.0;
    std::memcpy(&spectest_f32_, &f, 4);
    std::memcpy(&spectest_f64_, &d, 8);
    for (auto [name, type, object] :
         {std::tuple{"global_i32", "i", static_cast<void*>(&spectest_i32_)},
          std::tuple{"global_i64", "j", static_cast<void*>(&spectest_i64_)},
          std::tuple{"global_f32", "f", static_cast<void*>(&spectest_f32_)},
          std::tuple{"global_f64", "d", static_cast<void*>(&spectest_f64_)}}) {
      Extern global;
      global.kind = REGLET_AOT_GLOBAL;
      global.params = type;
      global.object = object;
      spectest.emplace(name, std::move(global));
    }
  }

  const Extern* lookup(std::string_view module, std::string_view name) const {
    auto it = registry_.find(module);
    if (it == registry_.end()) return nullptr;
    auto field = it->second.find(name);
    return field == it->second.end() ? nullptr : &field->second;
  }

  const Extern* find_export(InstanceId id, std::string_view name) const {
    if (id >= instances_.size()) return nullptr;
    auto it = instances_[id]->exports.find(name);
    return it == instances_[id]->exports.end() ? nullptr : &it->second;
  }

  // `ref.extern N` crosses as the pointer N + 1 (never dereferenced; null stays null).
  static bool to_slots(const SpecValue& value, char letter, uint64_t* slots, size_t& k) {
    switch (letter) {
      case 'i':
        if (value.type != SpecType::i32) return false;
        slots[k++] = value.u32();
        return true;
      case 'f':
        if (value.type != SpecType::f32) return false;
        slots[k++] = value.u32();
        return true;
      case 'j':
        if (value.type != SpecType::i64) return false;
        slots[k++] = value.u64();
        return true;
      case 'd':
        if (value.type != SpecType::f64) return false;
        slots[k++] = value.u64();
        return true;
      case 'V':
        if (value.type != SpecType::v128) return false;
        slots[k++] = value.lane<uint64_t>(0);
        slots[k++] = value.lane<uint64_t>(1);
        return true;
      case 'e':
        if (value.type != SpecType::externref) return false;
        slots[k++] = value.is_null ? 0 : value.extern_id + 1;
        return true;
      case 'r':
        // The testsuite only passes null function references in.
        if (value.type != SpecType::funcref || !value.is_null) return false;
        slots[k++] = 0;
        slots[k++] = 0;
        slots[k++] = 0;
        return true;
    }
    return false;
  }

  static SpecValue from_slots(char letter, const uint64_t* slots, size_t& k) {
    switch (letter) {
      case 'i':
        return SpecValue::number(SpecType::i32, slots[k++] & 0xffffffffu);
      case 'f':
        return SpecValue::number(SpecType::f32, slots[k++] & 0xffffffffu);
      case 'j':
        return SpecValue::number(SpecType::i64, slots[k++]);
      case 'd':
        return SpecValue::number(SpecType::f64, slots[k++]);
      case 'V': {
        SpecValue out;
        out.type = SpecType::v128;
        out.set_lane<uint64_t>(0, slots[k++]);
        out.set_lane<uint64_t>(1, slots[k++]);
        return out;
      }
      case 'e': {
        SpecValue out = SpecValue::null_ref(SpecType::externref);
        const uint64_t bits = slots[k++];
        out.is_null = bits == 0;
        out.extern_id = bits - 1;
        return out;
      }
      case 'r': {
        SpecValue out = SpecValue::null_ref(SpecType::funcref);
        out.is_null = slots[k + 1] == 0;
        k += 3;
        return out;
      }
    }
    return SpecValue{};
  }

  engine::aot::AotOptions options_;
  std::map<std::string, Result<const reglet_aot_module*>> loaded_;  // by module hash
  std::map<std::string, std::map<std::string, Extern, std::less<>>, std::less<>> registry_;
  std::unordered_map<const void*, reglet_aot_limits> limits_;  // of memories and tables
  wasm_rt_memory_t spectest_memory_{};
  wasm_rt_funcref_table_t spectest_table_{};
  uint32_t spectest_i32_ = 0;
  uint64_t spectest_i64_ = 0;
  uint32_t spectest_f32_ = 0;
  uint64_t spectest_f64_ = 0;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::vector<std::unique_ptr<Instance>> failed_;
  ExecutionControl* control_ = nullptr;  // of the call in progress
  std::optional<Trap> pending_;          // why the call in progress stopped, when we stopped it
};

int call_import(void* context, uint32_t index, const uint64_t* args, uint64_t* results) {
  auto& instance = *static_cast<Context*>(context)->instance;
  engine::aot_rt::enter_host();
  const int stop = instance.session->dispatch(instance, index, args, results);
  engine::aot_rt::leave_host();
  return stop;
}

void* import_object(void* context, uint32_t index) {
  auto& instance = *static_cast<Context*>(context)->instance;
  return instance.session->object(instance, index);
}

int guard_tripped(reglet_aot_guard* guard) {
  auto& instance = *reinterpret_cast<Context*>(guard)->instance;  // the guard is its first member
  engine::aot_rt::enter_host();
  const int stop = instance.session->guard_tripped(instance);
  engine::aot_rt::leave_host();
  return stop;
}

class AotBackend final : public Backend {
 public:
  AotBackend(std::string cache_dir, std::string optimisation) {
    options_.cache_dir = std::move(cache_dir);
    options_.optimisation = std::move(optimisation);
  }
  std::string_view name() const override { return "aot"; }
  std::unique_ptr<Session> new_session() override { return std::make_unique<AotSession>(options_); }

 private:
  engine::aot::AotOptions options_;
};

}  // namespace

std::unique_ptr<Backend> make_aot_backend(std::string cache_dir, std::string optimisation) {
  return std::make_unique<AotBackend>(std::move(cache_dir), std::move(optimisation));
}

}  // namespace reglet::spec
