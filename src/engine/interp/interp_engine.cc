// Tier 1: WABT's interpreter behind the engine interface.
//
// WABT keeps every object in a Store that is not thread-safe. Each instance therefore lives in a
// StoreSlot of its own (a Store with the module and the host functions already in it); slots are
// pooled per module, so that many threads can run instances of one module at once and a new
// instance does not pay for decoding or binding again. When the module allows it
// (PreparedModule::resettable), a slot also keeps its last instance, and the next instance is
// that one reset to the pre-initialised image (memory size and bytes, globals): the same state a
// freshly built instance would have, for a fraction of the cost.
#include <wabt/interp/interp.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>

#include "engine/engine.h"
#include "engine/interp/wabt_support.h"
#include "engine/prep/prepare.h"

namespace reglet::engine {
namespace {

namespace wi = wabt::interp;
using namespace interp_support;

// Host functions may call back into the guest (allocate), which may call host functions again;
// bounded so that a plugin cannot recurse through the host and exhaust the native stack.
constexpr int kMaxNestedCalls = 8;
constexpr size_t kMaxIdleSlots = 64;

class InterpInstance;
class InterpModule;

struct StoreSlot {
  wi::Store store;
  wi::Module::Ptr module;
  std::vector<wi::HostFunc::Ptr> host_funcs;
  wi::RefVec imports;
  std::vector<std::unique_ptr<wi::Thread>> threads;  // one per nesting depth, reused
  wi::Instance::Ptr instance;
  wi::Memory* memory = nullptr;  // the instance's memory 0, if any
  InterpInstance* active = nullptr;
  bool needs_collect = false;

  size_t frame_limit = kCallStackFrames;

  wi::Thread& thread(size_t depth) {
    while (threads.size() <= depth) threads.push_back(make_thread(store, frame_limit));
    return *threads[depth];
  }
};

class InterpModule final : public Module, public std::enable_shared_from_this<InterpModule> {
 public:
  InterpModule(wi::ModuleDesc desc, std::vector<HostFunc> host_funcs, bool resettable,
               size_t frame_limit, uint32_t depth_global)
      : desc_(std::move(desc)),
        host_funcs_(std::move(host_funcs)),
        resettable_(resettable),
        frame_limit_(frame_limit),
        depth_global_(depth_global) {
    for (const wi::ExportDesc& export_desc : desc_.exports) {
      ExportInfo info;
      info.name = export_desc.type.name;
      switch (export_desc.type.type->kind) {
        case wabt::ExternalKind::Func:
          info.kind = ExportInfo::Kind::func;
          info.sig = to_sig(*wabt::cast<wi::FuncType>(export_desc.type.type.get()));
          break;
        case wabt::ExternalKind::Table:
          info.kind = ExportInfo::Kind::table;
          break;
        case wabt::ExternalKind::Memory:
          info.kind = ExportInfo::Kind::memory;
          break;
        case wabt::ExternalKind::Global:
          info.kind = ExportInfo::Kind::global;
          break;
        case wabt::ExternalKind::Tag:
          info.kind = ExportInfo::Kind::tag;
          break;
      }
      exports_.push_back(std::move(info));
    }
  }

  const std::vector<ExportInfo>& exports() const override { return exports_; }
  bool supports_images() const override { return resettable_; }
  uint32_t depth_global() const { return depth_global_; }

  std::optional<size_t> export_index(std::string_view name) const {
    for (size_t i = 0; i < exports_.size(); ++i) {
      if (exports_[i].name == name) return i;
    }
    return std::nullopt;
  }

  Result<std::unique_ptr<Instance>> instantiate(void* host_data, const InstanceImage* image,
                                                ExecutionControl& control) override;

  void release(std::unique_ptr<StoreSlot> slot);
  Status apply_image(StoreSlot& slot, const InstanceImage& image);

 private:
  Result<std::unique_ptr<StoreSlot>> new_slot();

  wi::ModuleDesc desc_;
  std::vector<HostFunc> host_funcs_;
  std::vector<ExportInfo> exports_;
  bool resettable_;
  size_t frame_limit_;
  uint32_t depth_global_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<StoreSlot>> idle_slots_;
};

class InterpInstance final : public Instance, public Caller {
 public:
  InterpInstance(std::shared_ptr<InterpModule> module, std::unique_ptr<StoreSlot> slot,
                 void* host_data)
      : module_(std::move(module)), slot_(std::move(slot)), host_data_(host_data) {
    slot_->active = this;
  }

  ~InterpInstance() override {
    slot_->active = nullptr;
    module_->release(std::move(slot_));
  }

  // Instance
  Outcome<std::vector<Value>> call(std::string_view name, std::span<const Value> args,
                                   ExecutionControl& control) override {
    control_ = &control;
    auto outcome = invoke(name, args);
    control_ = nullptr;
    return outcome;
  }

  std::span<uint8_t> memory() override {
    if (!slot_->memory) return {};
    return {slot_->memory->UnsafeData(), static_cast<size_t>(slot_->memory->ByteSize())};
  }

  InstanceImage capture() override {
    InstanceImage image;
    auto bytes = memory();
    image.memory.assign(bytes.begin(), bytes.end());
    for (wi::Ref ref : slot_->instance->globals()) {
      auto global = slot_->store.UnsafeGet<wi::Global>(ref);
      image.globals.push_back(from_wabt(global->Get(), global->type().type));
    }
    return image;
  }

  bool memory_grow_refused() const override { return grow_refused_; }

  // Caller
  Outcome<std::vector<Value>> call(std::string_view name, std::span<const Value> args) override {
    if (!control_) return Trap{TrapKind::host_error, "no call in progress", 0, ErrorCode::internal};
    return invoke(name, args);
  }
  ExecutionControl& control() override { return *control_; }
  void* host_data() override { return host_data_; }

  // Called from the WABT host functions bound in the slot.
  wabt::Result dispatch(const HostFunc& func, const wi::Values& params, wi::Values& results,
                        wi::Trap::Ptr* out_trap) {
    // A loop whose every iteration calls an import has no check of its own (prepare.h): its
    // budget is counted here, like the instrumentation's, and the control asked as often.
    if (--host_budget_ == 0) [[unlikely]] {
      host_budget_ = kInterruptBudget;
      if (auto stop = control_->should_stop()) {
        return raise(Trap{*stop, *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled"},
                     out_trap);
      }
    }
    if (func.direct) [[likely]] {  // (i64) -> i64, checked when the module was compiled
      uint64_t result = 0;
      std::optional<Trap> trap = call_host_function([&] {
        return func.direct(*this, func.direct_data.get(), params[0].Get<uint64_t>(), result);
      });
      if (trap) [[unlikely]] {
        return raise(std::move(*trap), out_trap);
      }
      results[0] = wi::Value::Make(result);
      return wabt::Result::Ok;
    }
    const size_t param_count = func.sig.params.size();
    const size_t result_count = func.sig.results.size();
    if (param_count != params.size() || result_count != results.size() ||
        !HostCallScratch::fits(param_count, result_count)) [[unlikely]] {
      return raise(
          Trap{TrapKind::host_error, "host function signature too large", 0, ErrorCode::internal},
          out_trap);
    }
    HostCallScratch scratch;
    Value* const args = scratch.params();
    Value* const outs = scratch.results();
    for (size_t i = 0; i < param_count; ++i) {
      new (&args[i]) Value(from_wabt(params[i], func.sig.params[i]));
    }
    for (size_t i = 0; i < result_count; ++i) new (&outs[i]) Value{func.sig.results[i], 0};
    std::optional<Trap> trap = call_host_function([&] {
      return func.callback(*this, std::span<const Value>(args, param_count),
                           std::span<Value>(outs, result_count));
    });
    if (trap) [[unlikely]] {
      return raise(std::move(*trap), out_trap);
    }
    for (size_t i = 0; i < result_count; ++i) results[i] = to_wabt(outs[i]);
    return wabt::Result::Ok;
  }

  wabt::Result interrupt(wi::Values& results, wi::Trap::Ptr* out_trap) {
    if (auto stop = control_->should_stop()) {
      return raise(Trap{*stop, *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled"},
                   out_trap);
    }
    results[0] = wi::Value::Make(kInterruptBudget);
    return wabt::Result::Ok;
  }

  void note_grow_refused() { grow_refused_ = true; }

  wabt::Result stack_exhausted(wi::Trap::Ptr* out_trap) {
    return raise(Trap{TrapKind::stack_exhausted, "call stack exhausted"}, out_trap);
  }

  // Builds the WABT instance (running data/elem initialisation and the start function under
  // `control`) unless the slot's previous one is being reused, then applies the image.
  Status start(const InstanceImage* image, ExecutionControl& control, bool reuse) {
    StoreSlot& slot = *slot_;
    if (!reuse) {
      control_ = &control;
      wi::Trap::Ptr trap;
      slot.instance =
          wi::Instance::Instantiate(slot.store, slot.module->self(), slot.imports, &trap);
      control_ = nullptr;
      // A trap recorded while the start function ran is a failure even when WABT returned an
      // instance (see interp_support::call).
      if (!slot.instance || trap) {
        slot.instance.reset();
        slot.needs_collect = true;
        Trap failure = pending_trap_
                           ? std::move(*pending_trap_)
                           : classify_trap(trap ? trap->message() : "unknown trap", grow_refused_);
        pending_trap_.reset();
        Error error = failure.to_error();
        error.message = "instantiation failed: " + error.message;
        return error;
      }
      const wi::RefVec& memories = slot.instance->memories();
      slot.memory =
          memories.empty() ? nullptr : slot.store.UnsafeGet<wi::Memory>(memories[0]).get();
    }
    if (image) return module_->apply_image(slot, *image);
    return {};
  }

 private:
  wabt::Result raise(Trap trap, wi::Trap::Ptr* out_trap) {
    *out_trap = wi::Trap::New(slot_->store, trap.message);
    pending_trap_ = std::move(trap);
    return wabt::Result::Error;
  }

  Outcome<std::vector<Value>> invoke(std::string_view name, std::span<const Value> args) {
    auto index = module_->export_index(name);
    if (!index || module_->exports()[*index].kind != ExportInfo::Kind::func) {
      return Trap{TrapKind::host_error, "missing export: " + std::string(name), 0,
                  ErrorCode::abi_error};
    }
    const FuncSig& sig = module_->exports()[*index].sig;
    if (args.size() != sig.params.size()) {
      return Trap{TrapKind::host_error,
                  "export " + std::string(name) + " has signature " + sig.to_string(), 0,
                  ErrorCode::abi_error};
    }
    if (depth_ >= kMaxNestedCalls) {
      return Trap{TrapKind::stack_exhausted, "host and guest calls nested too deeply"};
    }
    if (auto stop = control_->should_stop()) {
      return Trap{*stop, *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled"};
    }
    if (depth_ == 0) {
      // A trap may have left frames counted; a top-level call starts at depth 0.
      auto depth =
          slot_->store.UnsafeGet<wi::Global>(slot_->instance->globals()[module_->depth_global()]);
      depth->UnsafeSet(wi::Value::Make(uint32_t{0}));
    }
    auto func = slot_->store.UnsafeGet<wi::Func>(slot_->instance->exports()[*index]);
    wi::Values params;
    params.reserve(args.size());
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i].type != sig.params[i]) {
        return Trap{TrapKind::host_error,
                    "export " + std::string(name) + " has signature " + sig.to_string(), 0,
                    ErrorCode::abi_error};
      }
      params.push_back(to_wabt(args[i]));
    }
    wi::Values results;
    wi::Trap::Ptr trap;
    wi::Thread& thread = slot_->thread(static_cast<size_t>(depth_));
    ++depth_;
    wabt::Result result = interp_support::call(*func, thread, params, results, &trap);
    --depth_;
    if (wabt::Failed(result)) {
      reset_thread(thread);
      slot_->needs_collect = true;
      if (pending_trap_) {
        Trap out = std::move(*pending_trap_);
        pending_trap_.reset();
        return out;
      }
      return classify_trap(trap ? trap->message() : "unknown trap", grow_refused_);
    }
    std::vector<Value> out;
    out.reserve(results.size());
    for (size_t i = 0; i < results.size(); ++i) {
      out.push_back(from_wabt(results[i], func->type().results[i]));
    }
    return out;
  }

  std::shared_ptr<InterpModule> module_;
  std::unique_ptr<StoreSlot> slot_;
  void* host_data_;
  ExecutionControl* control_ = nullptr;
  std::optional<Trap> pending_trap_;
  int depth_ = 0;
  uint32_t host_budget_ = kInterruptBudget;
  bool grow_refused_ = false;
};

Result<std::unique_ptr<StoreSlot>> InterpModule::new_slot() {
  auto slot = std::make_unique<StoreSlot>();
  slot->frame_limit = frame_limit_;
  StoreSlot* raw = slot.get();
  slot->module = wi::Module::New(slot->store, desc_);
  size_t next_host_func = 0;
  for (const wi::ImportType& import : slot->module->import_types()) {
    auto* type = wabt::dyn_cast<wi::FuncType>(import.type.get());
    if (!type) {
      return make_error(ErrorCode::abi_error,
                        "import " + import.module + "." + import.name + " is not a function");
    }
    wi::HostFunc::Callback callback;
    if (import.module == kInternalModule && import.name == kInterruptImport) {
      callback = [raw](wi::Thread&, const wi::Values&, wi::Values& results,
                       wi::Trap::Ptr* out_trap) {
        return raw->active->interrupt(results, out_trap);
      };
    } else if (import.module == kInternalModule && import.name == kStackExhaustedImport) {
      callback = [raw](wi::Thread&, const wi::Values&, wi::Values&, wi::Trap::Ptr* out_trap) {
        return raw->active->stack_exhausted(out_trap);
      };
    } else if (import.module == kInternalModule && import.name == kGrowFailedImport) {
      callback = [raw](wi::Thread&, const wi::Values&, wi::Values&, wi::Trap::Ptr*) {
        raw->active->note_grow_refused();
        return wabt::Result::Ok;
      };
    } else {
      if (next_host_func >= host_funcs_.size()) {
        return make_error(ErrorCode::abi_error,
                          "no host function for import " + import.module + "." + import.name);
      }
      const HostFunc* func = &host_funcs_[next_host_func++];
      if (to_sig(*type) != func->sig) {
        return make_error(ErrorCode::abi_error, "host function for import " + import.module + "." +
                                                    import.name + " has signature " +
                                                    func->sig.to_string());
      }
      callback = [raw, func](wi::Thread&, const wi::Values& params, wi::Values& results,
                             wi::Trap::Ptr* out_trap) {
        return raw->active->dispatch(*func, params, results, out_trap);
      };
    }
    auto host_func = wi::HostFunc::New(slot->store, *type, std::move(callback));
    slot->imports.push_back(host_func->self());
    slot->host_funcs.push_back(std::move(host_func));
  }
  return slot;
}

Status InterpModule::apply_image(StoreSlot& slot, const InstanceImage& image) {
  if (slot.memory) {
    const uint64_t pages = image.memory.size() / kWasmPageSize;
    if (slot.memory->PageSize() != pages) RegletWabtAccess::resize_memory(*slot.memory, pages);
    std::memcpy(slot.memory->UnsafeData(), image.memory.data(), image.memory.size());
  }
  const wi::RefVec& globals = slot.instance->globals();
  if (globals.size() != image.globals.size()) {
    return make_error(ErrorCode::internal, "image does not match the module's globals");
  }
  for (size_t i = 0; i < globals.size(); ++i) {
    auto global = slot.store.UnsafeGet<wi::Global>(globals[i]);
    if (global->type().mut == wi::Mutability::Var) global->UnsafeSet(to_wabt(image.globals[i]));
  }
  return {};
}

Result<std::unique_ptr<Instance>> InterpModule::instantiate(void* host_data,
                                                            const InstanceImage* image,
                                                            ExecutionControl& control) {
  std::unique_ptr<StoreSlot> slot;
  {
    std::lock_guard lock(mutex_);
    if (!idle_slots_.empty()) {
      slot = std::move(idle_slots_.back());
      idle_slots_.pop_back();
    }
  }
  if (!slot) {
    auto created = new_slot();
    if (!created) return std::move(created).error();
    slot = std::move(*created);
  }

  const bool reuse = image && resettable_ && slot->instance;
  if (!reuse && slot->instance) {
    slot->instance.reset();
    slot->memory = nullptr;
    slot->needs_collect = true;
  }
  auto instance = std::make_unique<InterpInstance>(shared_from_this(), std::move(slot), host_data);
  if (Status status = instance->start(image, control, reuse); !status) {
    return std::move(status).error();
  }
  return std::unique_ptr<Instance>(std::move(instance));
}

void InterpModule::release(std::unique_ptr<StoreSlot> slot) {
  if (!resettable_) {
    slot->instance.reset();
    slot->memory = nullptr;
    slot->needs_collect = true;
  }
  if (slot->needs_collect) {
    slot->store.Collect();
    slot->needs_collect = false;
  }
  std::lock_guard lock(mutex_);
  if (idle_slots_.size() < kMaxIdleSlots) idle_slots_.push_back(std::move(slot));
}

class InterpEngine final : public Engine {
 public:
  std::string_view name() const override { return "interp"; }

  Result<std::shared_ptr<Module>> compile(const PreparedModule& prepared,
                                          std::vector<HostFunc> host_funcs) override {
    if (Status status = check_host_functions(prepared.imports(), host_funcs); !status) {
      return status.error();
    }
    auto desc = decode(prepared);
    if (!desc) return std::move(desc).error();
    return std::shared_ptr<Module>(std::make_shared<InterpModule>(
        std::move(*desc), std::move(host_funcs), prepared.resettable(),
        prepared.call_depth_limit() + kCallDepthMargin, prepared.depth_global()));
  }
};

}  // namespace

std::unique_ptr<Engine> make_interp_engine() {
  return std::make_unique<InterpEngine>();
}

}  // namespace reglet::engine
