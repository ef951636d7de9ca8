// The interpreter tier as a spec backend: every module of a script lives in one wabt::interp
// Store (modules of a script import each other's tables, memories and globals, which only works
// inside one store), decoded by interp_support::decode from the PreparedModule as the plugin path
// does, and every export is called on a Thread from interp_support::make_thread (our stacks).
#include <wabt/interp/interp.h>

#include <map>
#include <unordered_map>

#include "backend.h"
#include "engine/interp/wabt_support.h"

namespace reglet::spec {
namespace {

namespace wi = wabt::interp;
using engine::ExecutionControl;
using engine::Trap;
using engine::TrapKind;

class InterpSession final : public Session {
 public:
  InterpSession() : store_(wabt::Features{}) {
    add_spectest();
    add_internal();
    thread_ = engine::interp_support::make_thread(store_);
  }

  InstantiateResult instantiate(const engine::PreparedModule& prepared,
                                ExecutionControl& control) override {
    InstantiateResult out;
    auto desc = engine::interp_support::decode(prepared);
    if (!desc) {
      out.failure = InstantiateResult::Failure::load;
      out.message = desc.error().message;
      return out;
    }
    wi::Module::Ptr module = wi::Module::New(store_, std::move(*desc));

    // Resolve and type-check imports here rather than leave it to Instantiate, so that a link
    // failure is told apart from a trap while initialising.
    wi::RefVec imports;
    for (const wi::ImportType& import : module->import_types()) {
      const wi::Extern::Ptr* found = lookup(import.module, import.name);
      if (!found) {
        out.failure = InstantiateResult::Failure::link;
        out.message = "unknown import " + import.module + "." + import.name;
        return out;
      }
      wi::Trap::Ptr trap;
      if (wabt::Failed((*found)->Match(store_, import, &trap))) {
        out.failure = InstantiateResult::Failure::link;
        out.message = import.module + "." + import.name + ": " +
                      (trap ? trap->message() : std::string("incompatible import type"));
        return out;
      }
      imports.push_back(found->ref());
    }

    begin_call(control);
    wi::Trap::Ptr trap;
    wi::Instance::Ptr instance = wi::Instance::Instantiate(store_, module.ref(), imports, &trap);
    control_ = nullptr;
    // A trap with an instance: the start function's call stack ran out inside a call_indirect,
    // which WABT 1.0.32 reports that way (see interp_support::call).
    if (!instance || trap) {
      out.failure = InstantiateResult::Failure::trap;
      out.message = take_trap(trap).message;
      return out;
    }

    Exports exports;
    const auto& export_types = module->export_types();
    for (size_t i = 0; i < export_types.size(); ++i) {
      exports.emplace(export_types[i].name, store_.UnsafeGet<wi::Extern>(instance->exports()[i]));
    }
    instances_.push_back(std::move(exports));
    depth_globals_.push_back(
        store_.UnsafeGet<wi::Global>(instance->globals()[prepared.depth_global()]));
    out.instance = instances_.size() - 1;
    return out;
  }

  void register_instance(InstanceId instance, const std::string& as) override {
    registry_[as] = instances_.at(instance);
  }

  ActionResult invoke(InstanceId instance, std::string_view name, std::span<const SpecValue> args,
                      ExecutionControl& control) override {
    ActionResult out;
    const wi::Extern::Ptr* found = find_export(instance, name);
    if (!found || !store_.Is<wi::Func>(found->ref())) {
      out.error = "no exported function \"" + std::string(name) + "\"";
      return out;
    }
    wi::Func::Ptr func = store_.UnsafeGet<wi::Func>(found->ref());
    // Each instance counts its call depth (the instrumentation's); a trap may leave it high.
    for (auto& depth : depth_globals_) depth->UnsafeSet(wi::Value::Make(uint32_t{0}));
    const wi::FuncType& type = func->type();
    if (args.size() != type.params.size()) {
      out.error = "wrong number of arguments";
      return out;
    }
    wi::Values params;
    for (size_t i = 0; i < args.size(); ++i) {
      auto value = to_wabt(args[i], type.params[i]);
      if (!value) {
        out.error =
            "argument " + std::to_string(i) + " does not have type " + wi::GetName(type.params[i]);
        return out;
      }
      params.push_back(*value);
    }

    begin_call(control);
    wi::Values results;
    wi::Trap::Ptr trap;
    const wabt::Result result =
        engine::interp_support::call(*func, *thread_, params, results, &trap);
    control_ = nullptr;
    if (wabt::Failed(result)) {
      // A trap leaves the frames it unwound from on the thread.
      engine::interp_support::reset_thread(*thread_);
      out.trap = take_trap(trap);
      return out;
    }
    for (size_t i = 0; i < results.size(); ++i) {
      out.values.push_back(from_wabt(results[i], type.results[i]));
    }
    return out;
  }

  ActionResult get_global(InstanceId instance, std::string_view name) override {
    ActionResult out;
    const wi::Extern::Ptr* found = find_export(instance, name);
    if (!found || !store_.Is<wi::Global>(found->ref())) {
      out.error = "no exported global \"" + std::string(name) + "\"";
      return out;
    }
    wi::Global::Ptr global = store_.UnsafeGet<wi::Global>(found->ref());
    out.values.push_back(from_wabt(global->Get(), global->type().type));
    return out;
  }

 private:
  using Exports = std::map<std::string, wi::Extern::Ptr, std::less<>>;

  void add_spectest() {
    Exports& spectest = registry_["spectest"];
    using VT = wi::ValueType;
    // As spectest-interp defines the host module; the print functions print nothing here.
    const std::pair<const char*, wi::ValueTypes> prints[] = {
        {"print", {}},
        {"print_i32", {VT::I32}},
        {"print_i64", {VT::I64}},
        {"print_f32", {VT::F32}},
        {"print_f64", {VT::F64}},
        {"print_i32_f32", {VT::I32, VT::F32}},
        {"print_f64_f64", {VT::F64, VT::F64}},
    };
    for (const auto& [name, params] : prints) {
      spectest.emplace(name, wi::HostFunc::New(store_, wi::FuncType{params, {}},
                                               [](wi::Thread&, const wi::Values&, wi::Values&,
                                                  wi::Trap::Ptr*) { return wabt::Result::Ok; }));
    }
    spectest.emplace("table",
                     wi::Table::New(store_, wi::TableType{VT::FuncRef, wabt::Limits{10, 20}}));
    spectest.emplace("memory", wi::Memory::New(store_, wi::MemoryType{wabt::Limits{1, 2}}));
    auto global = [&](const char* name, VT type, wi::Value value) {
      spectest.emplace(name,
                       wi::Global::New(store_, wi::GlobalType{type, wi::Mutability::Const}, value));
    };
    global("global_i32", VT::I32, wi::Value::Make(uint32_t{666}));
    global("global_i64", VT::I64, wi::Value::Make(uint64_t{666}));
    global("global_f32", VT::F32, wi::Value::Make(666.0f));
    global("global_f64", VT::F64, wi::Value::Make(666.0));
  }

  // The imports PreparedModule adds; shared by every module of the script.
  void add_internal() {
    Exports& internal = registry_[std::string(engine::kInternalModule)];
    internal.emplace(
        std::string(engine::kInterruptImport),
        wi::HostFunc::New(
            store_, wi::FuncType{{}, {wi::ValueType::I32}},
            [this](wi::Thread&, const wi::Values&, wi::Values& results, wi::Trap::Ptr* out_trap) {
              std::optional<TrapKind> stop = control_ ? control_->should_stop() : std::nullopt;
              if (stop) {
                std::string message =
                    *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled";
                pending_trap_ = Trap{*stop, message};
                *out_trap = wi::Trap::New(store_, message);
                return wabt::Result::Error;
              }
              results[0] = wi::Value::Make(engine::kInterruptBudget);
              return wabt::Result::Ok;
            }));
    internal.emplace(
        std::string(engine::kStackExhaustedImport),
        wi::HostFunc::New(store_, wi::FuncType{{}, {}},
                          [this](wi::Thread&, const wi::Values&, wi::Values&,
                                 wi::Trap::Ptr* out_trap) {
                            pending_trap_ = Trap{TrapKind::stack_exhausted, "call stack exhausted"};
                            *out_trap = wi::Trap::New(store_, "call stack exhausted");
                            return wabt::Result::Error;
                          }));
    internal.emplace(
        std::string(engine::kGrowFailedImport),
        wi::HostFunc::New(store_, wi::FuncType{{wi::ValueType::I32}, {}},
                          [this](wi::Thread&, const wi::Values&, wi::Values&, wi::Trap::Ptr*) {
                            grow_refused_ = true;
                            return wabt::Result::Ok;
                          }));
  }

  void begin_call(ExecutionControl& control) {
    control_ = &control;
    pending_trap_.reset();
    grow_refused_ = false;
  }

  // The trap a call ended with: ours if a host function raised it, else WABT's, classified.
  Trap take_trap(const wi::Trap::Ptr& trap) {
    if (pending_trap_) {
      Trap out = std::move(*pending_trap_);
      pending_trap_.reset();
      return out;
    }
    return engine::interp_support::classify_trap(trap ? trap->message() : "unknown trap",
                                                 grow_refused_);
  }

  const wi::Extern::Ptr* lookup(std::string_view module, std::string_view name) const {
    auto it = registry_.find(module);
    if (it == registry_.end()) return nullptr;
    auto field = it->second.find(name);
    return field == it->second.end() ? nullptr : &field->second;
  }

  const wi::Extern::Ptr* find_export(InstanceId instance, std::string_view name) const {
    if (instance >= instances_.size()) return nullptr;
    auto it = instances_[instance].find(name);
    return it == instances_[instance].end() ? nullptr : &it->second;
  }

  // `ref.extern N` is a Foreign object of the store, one per N, so that it survives a round
  // trip through tables and globals and compares by identity.
  wi::Ref extern_ref(uint64_t id) {
    auto it = externs_.find(id);
    if (it == externs_.end()) {
      it = externs_.emplace(id, wi::Foreign::New(store_, nullptr)).first;
      extern_ids_.emplace(it->second.ref().index, id);
    }
    return it->second.ref();
  }

  std::optional<wi::Value> to_wabt(const SpecValue& value, wi::ValueType type) {
    switch (type) {
      case wi::ValueType::I32:
        if (value.type != SpecType::i32) return std::nullopt;
        return wi::Value::Make(value.u32());
      case wi::ValueType::I64:
        if (value.type != SpecType::i64) return std::nullopt;
        return wi::Value::Make(value.u64());
      case wi::ValueType::F32:
        if (value.type != SpecType::f32) return std::nullopt;
        return wi::Value::Make(value.lane<float>(0));
      case wi::ValueType::F64:
        if (value.type != SpecType::f64) return std::nullopt;
        return wi::Value::Make(value.lane<double>(0));
      case wi::ValueType::V128: {
        if (value.type != SpecType::v128) return std::nullopt;
        v128 bits;
        std::memcpy(bits.v, value.bytes.data(), sizeof bits.v);
        return wi::Value::Make(bits);
      }
      case wi::ValueType::FuncRef:
        // The testsuite only passes null function references in.
        if (value.type != SpecType::funcref || !value.is_null) return std::nullopt;
        return wi::Value::Make(wi::Ref::Null);
      case wi::ValueType::ExternRef:
        if (value.type != SpecType::externref) return std::nullopt;
        return wi::Value::Make(value.is_null ? wi::Ref::Null : extern_ref(value.extern_id));
      default:
        return std::nullopt;
    }
  }

  SpecValue from_wabt(const wi::Value& value, wi::ValueType type) const {
    switch (type) {
      case wi::ValueType::I32:
        return SpecValue::number(SpecType::i32, value.Get<uint32_t>());
      case wi::ValueType::I64:
        return SpecValue::number(SpecType::i64, value.Get<uint64_t>());
      case wi::ValueType::F32: {
        SpecValue out = SpecValue::number(SpecType::f32, 0);
        out.set_lane<float>(0, value.Get<float>());
        return out;
      }
      case wi::ValueType::F64: {
        SpecValue out = SpecValue::number(SpecType::f64, 0);
        out.set_lane<double>(0, value.Get<double>());
        return out;
      }
      case wi::ValueType::V128: {
        SpecValue out;
        out.type = SpecType::v128;
        const v128 bits = value.Get<v128>();
        std::memcpy(out.bytes.data(), bits.v, sizeof bits.v);
        return out;
      }
      case wi::ValueType::FuncRef:
      case wi::ValueType::ExternRef: {
        const wi::Ref ref = value.Get<wi::Ref>();
        SpecValue out = SpecValue::null_ref(type == wi::ValueType::FuncRef ? SpecType::funcref
                                                                           : SpecType::externref);
        out.is_null = ref == wi::Ref::Null;
        if (!out.is_null && type == wi::ValueType::ExternRef) {
          auto it = extern_ids_.find(ref.index);
          // Not one of ours (a function stored as externref cannot happen in valid code).
          out.extern_id = it == extern_ids_.end() ? ~uint64_t{0} : it->second;
        }
        return out;
      }
      default:
        return SpecValue{};
    }
  }

  // Declared first: destroyed last, after every RefPtr and the thread that point into it.
  wi::Store store_;
  std::map<std::string, Exports, std::less<>> registry_;
  std::vector<Exports> instances_;
  std::vector<wi::Global::Ptr> depth_globals_;
  std::map<uint64_t, wi::Foreign::Ptr> externs_;
  std::unordered_map<size_t, uint64_t> extern_ids_;
  std::unique_ptr<wi::Thread> thread_;
  ExecutionControl* control_ = nullptr;  // of the call in progress
  std::optional<Trap> pending_trap_;     // raised by one of our host functions
  bool grow_refused_ = false;
};

class InterpBackend final : public Backend {
 public:
  std::string_view name() const override { return "interp"; }
  std::unique_ptr<Session> new_session() override { return std::make_unique<InterpSession>(); }
};

}  // namespace

std::unique_ptr<Backend> make_interp_backend() {
  return std::make_unique<InterpBackend>();
}

}  // namespace reglet::spec
