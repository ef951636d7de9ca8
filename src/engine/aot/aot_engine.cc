#include "engine/aot/aot_engine.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <type_traits>

#include "engine/aot/codegen.h"
#include "engine/aot/rt.h"
#include "engine/aot/watchdog.h"
#include "engine/prep/prepare.h"

extern char** environ;

namespace reglet::engine::aot {
namespace {

constexpr size_t kMaxIdleSlots = 64;
constexpr int kMaxNestedCalls = 8;
constexpr const char* kOptimisation = "-O2";

// ---------------------------------------------------------------------------------------------
// Static registry (built-in plugins linked into the binary)

std::mutex g_static_mutex;
std::map<std::string, const reglet_aot_module*>& static_modules() {
  static std::map<std::string, const reglet_aot_module*> modules;
  return modules;
}

// ---------------------------------------------------------------------------------------------
// Loaded shared objects, by path, kept for the life of the process: a module's code must stay
// mapped while any instance of it exists, and objects are few.

struct LoadedObject {
  void* handle = nullptr;
  const reglet_aot_module* module = nullptr;
};
std::mutex g_objects_mutex;
std::map<std::string, LoadedObject>& loaded_objects() {
  static std::map<std::string, LoadedObject> objects;
  return objects;
}

Result<const reglet_aot_module*> load_object(const std::filesystem::path& path) {
  std::lock_guard lock(g_objects_mutex);
  auto& objects = loaded_objects();
  if (auto it = objects.find(path.string()); it != objects.end()) return it->second.module;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    return make_error(ErrorCode::invalid_module,
                      "cannot load AOT object " + path.string() + ": " + dlerror());
  }
  auto entry = reinterpret_cast<reglet_aot_entry_fn>(dlsym(handle, REGLET_AOT_ENTRY_SYMBOL));
  const reglet_aot_module* module = entry ? entry() : nullptr;
  if (!module || module->abi_version != REGLET_AOT_ABI_VERSION) {
    dlclose(handle);
    return make_error(ErrorCode::invalid_module,
                      path.string() + " is not an AOT object of this build of reglet (ABI " +
                          std::to_string(REGLET_AOT_ABI_VERSION) + ")");
  }
  objects[path.string()] = {handle, module};
  return module;
}

// ---------------------------------------------------------------------------------------------
// The compiler

std::string compiler_path(const AotOptions& options) {
  if (!options.compiler.empty()) return options.compiler;
  if (const char* cc = std::getenv("CC"); cc && *cc) return cc;
  return "cc";
}

// Runs argv without a shell (in `cwd` if given); returns its exit status and output (stdout and
// stderr).
Result<std::pair<int, std::string>> run(const std::vector<std::string>& argv,
                                        const std::string& cwd = {}) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(ErrorCode::io_error, "pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    return make_error(ErrorCode::not_found,
                      "cannot run " + argv[0] + ": " + std::strerror(spawned));
  }
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0 && output.size() < (1u << 20)) output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : 128, output};
}

std::vector<std::string> compile_flags(const AotOptions& options) {
  const std::string optimisation =
      options.optimisation.empty() ? kOptimisation : options.optimisation;
  // -fno-optimize-sibling-calls: see the glue (codegen.cc).
  return {optimisation,
          "-fPIC",
          "-shared",
          "-fvisibility=hidden",
          "-fno-strict-aliasing",
          "-fno-optimize-sibling-calls",
          "-w",
          "-DNDEBUG",
          "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1"};
}

std::filesystem::path default_cache_dir() {
  if (const char* dir = std::getenv("REGLET_AOT_CACHE"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "reglet" / "aot";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".cache" / "reglet" / "aot";
  }
  return std::filesystem::temp_directory_path() / "reglet-aot";
}

// The cache key: the module and the code generator (compiler, flags, ABI).
std::filesystem::path cache_path(const std::filesystem::path& dir, const std::string& hash,
                                 const std::string& id) {
  return dir / (sha256_hex(hash + "|" + (id.empty() ? "none" : id)).substr(0, 32) + ".so");
}

Status write_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) return make_error(ErrorCode::io_error, "cannot write " + path.string());
  return {};
}

// A temporary directory for the compiler's inputs, removed with everything in it.
class WorkDir {
 public:
  static Result<WorkDir> create() {
    char pattern[] = "/tmp/reglet-aot-XXXXXX";
    if (!mkdtemp(pattern)) return make_error(ErrorCode::io_error, "cannot create a temp dir");
    return WorkDir(pattern);
  }
  WorkDir(WorkDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;
  WorkDir& operator=(WorkDir&&) = delete;
  ~WorkDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit WorkDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// Generates C for `prepared` and compiles it into `output` (atomically: a temporary file renamed
// into place, so that concurrent runs never load a half-written object).
Status build_object(const PreparedModule& prepared, const std::filesystem::path& output,
                    const AotOptions& options, const std::string& id) {
  const std::string name = "m" + sha256_hex(id).substr(0, 8);
  auto generated = generate_c(prepared, name, Linkage::shared, id);
  if (!generated) return generated.error();
  std::error_code ec;
  std::filesystem::create_directories(output.parent_path(), ec);
  auto work_dir = WorkDir::create();
  if (!work_dir) return work_dir.error();
  const std::filesystem::path& work = work_dir->path();
  for (auto [file, text] :
       {std::pair{"module.c", std::string_view(generated->module_c)},
        std::pair{"module.h", std::string_view(generated->module_h)},
        std::pair{"glue.c", std::string_view(generated->glue_c)},
        std::pair{"aot_abi.h", aot_abi_header()}, std::pair{"wasm-rt.h", wasm_rt_header()}}) {
    if (Status s = write_file(work / file, text); !s) return s;
  }
  const std::filesystem::path temp_output = output.string() + ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv = {compiler_path(options)};
  for (const auto& flag : compile_flags(options)) argv.push_back(flag);
  argv.push_back("-I" + work.string());
  argv.push_back("-o");
  argv.push_back(temp_output.string());
  argv.push_back((work / "glue.c").string());
  auto result = run(argv);
  if (!result) return result.error();
  if (result->first != 0) {
    std::filesystem::remove(temp_output, ec);
    return make_error(ErrorCode::internal, "the C compiler failed on the generated code: " +
                                               result->second.substr(0, 2000));
  }
  std::filesystem::rename(temp_output, output, ec);
  if (ec)
    return make_error(ErrorCode::io_error, "cannot store " + output.string() + ": " + ec.message());
  return {};
}

// ---------------------------------------------------------------------------------------------
// The host API given to generated code

class AotInstance;
class AotModule;

int host_guard_tripped(reglet_aot_guard* guard);

// One instance struct (and its host context) reused across instances when images allow it. The
// context given to generated code is the slot itself, which begins with the instance's guard (as
// aot_abi.h requires).
// An import with a direct (i64) -> i64 host function, as host_call_import's fast path reads it.
struct DirectImport {
  DirectI64Fn fn = nullptr;  // nullptr: not a direct one, take the general path
  const void* data = nullptr;
};

struct Slot {
  reglet_aot_guard guard{0, REGLET_AOT_GUARD_MAGIC, host_guard_tripped};  // first: see above
  const DirectImport* direct = nullptr;  // the module's, by import index
  size_t direct_count = 0;
  AotModule* module = nullptr;
  void* instance = nullptr;  // instance_size bytes, aligned
  bool live = false;         // instantiate() has run and free_instance() has not
  AotInstance* active = nullptr;
  ~Slot();
};
static_assert(std::is_standard_layout_v<Slot> && offsetof(Slot, guard) == 0);

int host_call_import(void* context, uint32_t index, const uint64_t* args, uint64_t* results);
jmp_buf* host_push_unwind(jmp_buf* target) {
  return aot_rt::push_unwind(target);
}
void host_pop_unwind(jmp_buf* previous) {
  aot_rt::pop_unwind(previous);
}
// Plugins import functions only (PreparedModule::prepare refuses anything else).
void* host_import_object(void*, uint32_t) {
  return nullptr;
}
const reglet_aot_host_api& host_api() {
  static const reglet_aot_host_api api = [] {
    reglet_aot_host_api a = base_host_api();
    a.call_import = host_call_import;
    a.import_object = host_import_object;
    return a;
  }();
  return api;
}

}  // namespace

reglet_aot_host_api base_host_api() {
  reglet_aot_host_api a{};
  a.abi_version = REGLET_AOT_ABI_VERSION;
  a.push_unwind = host_push_unwind;
  a.pop_unwind = host_pop_unwind;
  a.rt[0] = reinterpret_cast<void*>(&wasm_rt_trap);
  a.rt[1] = reinterpret_cast<void*>(&aot_rt::register_func_type_array);
  a.rt[2] = reinterpret_cast<void*>(&wasm_rt_allocate_memory);
  a.rt[3] = reinterpret_cast<void*>(&wasm_rt_grow_memory);
  a.rt[4] = reinterpret_cast<void*>(&wasm_rt_free_memory);
  a.rt[5] = reinterpret_cast<void*>(&wasm_rt_allocate_funcref_table);
  a.rt[6] = reinterpret_cast<void*>(&wasm_rt_free_funcref_table);
  a.rt[7] = reinterpret_cast<void*>(&wasm_rt_grow_funcref_table);
  a.rt[8] = reinterpret_cast<void*>(&wasm_rt_allocate_externref_table);
  a.rt[9] = reinterpret_cast<void*>(&wasm_rt_free_externref_table);
  a.rt[10] = reinterpret_cast<void*>(&wasm_rt_grow_externref_table);
  return a;
}

namespace {

std::optional<ValType> letter_type(char letter) {
  switch (letter) {
    case 'i':
      return ValType::i32;
    case 'j':
      return ValType::i64;
    case 'f':
      return ValType::f32;
    case 'd':
      return ValType::f64;
    default:
      return std::nullopt;
  }
}

std::optional<FuncSig> sig_of(const char* params, const char* results) {
  FuncSig sig;
  for (const char* p = params; *p; ++p) {
    auto t = letter_type(*p);
    if (!t) return std::nullopt;
    sig.params.push_back(*t);
  }
  for (const char* r = results; *r; ++r) {
    auto t = letter_type(*r);
    if (!t) return std::nullopt;
    sig.results.push_back(*t);
  }
  return sig;
}

Trap trap_from_code(int code, bool grow_refused) {
  const auto kind = static_cast<wasm_rt_trap_t>(code);
  if (kind == WASM_RT_TRAP_EXHAUSTION)
    return Trap{TrapKind::stack_exhausted, "call stack exhausted"};
  std::string message;
  switch (kind) {
    // The interpreter's wording, so that both tiers report the same trap the same way.
    case WASM_RT_TRAP_OOB:
      message = "out of bounds memory access";
      break;
    case WASM_RT_TRAP_INT_OVERFLOW:
      message = "integer overflow";
      break;
    case WASM_RT_TRAP_DIV_BY_ZERO:
      message = "integer divide by zero";
      break;
    case WASM_RT_TRAP_INVALID_CONVERSION:
      message = "invalid conversion to integer";
      break;
    case WASM_RT_TRAP_UNREACHABLE:
      message = "unreachable executed";
      break;
    case WASM_RT_TRAP_CALL_INDIRECT:
      message = "indirect call signature mismatch";
      break;
    default:
      message = wasm_rt_strerror(kind);
      break;
  }
  if (grow_refused) {
    return Trap{TrapKind::memory_limit,
                message + " (after memory.grow was refused at the memory limit)"};
  }
  return Trap{TrapKind::trap, message};
}

// ---------------------------------------------------------------------------------------------

class AotModule final : public Module, public std::enable_shared_from_this<AotModule> {
 public:
  AotModule(const reglet_aot_module* desc, std::vector<HostFunc> host_funcs,
            const PreparedModule& prepared)
      : desc_(desc), host_funcs_(std::move(host_funcs)), resettable_(prepared.resettable()) {
    for (uint32_t i = 0; i < desc_->export_count; ++i) {
      const reglet_aot_export& e = desc_->exports[i];
      ExportInfo info;
      info.name.assign(e.name, e.name_size);
      switch (e.kind) {
        case REGLET_AOT_FUNC: {
          info.kind = ExportInfo::Kind::func;
          auto sig = sig_of(e.params, e.results);
          if (sig) info.sig = *sig;
          callable_.push_back(sig.has_value() && sig->results.size() <= 1);
          break;
        }
        case REGLET_AOT_MEMORY:
          info.kind = ExportInfo::Kind::memory;
          callable_.push_back(false);
          break;
        case REGLET_AOT_TABLE:
          info.kind = ExportInfo::Kind::table;
          callable_.push_back(false);
          break;
        default:
          info.kind = ExportInfo::Kind::global;
          callable_.push_back(false);
          break;
      }
      exports_.push_back(std::move(info));
    }
    // Imports: the module's own ones map onto host_funcs in order; the internal ones to us.
    size_t next = 0;
    for (uint32_t i = 0; i < desc_->import_count; ++i) {
      const reglet_aot_import& import = desc_->imports[i];
      ImportBinding binding;
      if (import.kind != REGLET_AOT_FUNC) {
        // Never bound: check() refuses the module.
      } else if (std::string_view(import.module, import.module_size) == kInternalModule) {
        if (std::string_view(import.name, import.name_size) == kInterruptImport) {
          binding.kind = ImportKind::interrupt;
        } else if (std::string_view(import.name, import.name_size) == kGrowFailedImport) {
          binding.kind = ImportKind::grow_failed;
        } else {
          binding.kind = ImportKind::stack_exhausted;
        }
      } else {
        if (next < host_funcs_.size()) binding.bind(host_funcs_[next]);
        ++next;
      }
      imports_.push_back(binding);
      import_count_ = imports_.size();
      direct_imports_.push_back(binding.direct);
    }
  }

  Status check() const {
    for (uint32_t i = 0; i < imports_.size(); ++i) {
      const ImportBinding& import = imports_[i];
      if (import.kind != ImportKind::host) continue;
      if (!import.func) {
        return make_error(ErrorCode::internal, "AOT object imports more than the module");
      }

      // dispatch() reads and writes as many slots as the host function's signature has.
      const reglet_aot_import& declared = desc_->imports[i];
      if (sig_of(declared.params, declared.results) != import.func->sig) {
        return make_error(ErrorCode::abi_error,
                          "host function for import " +
                              std::string(declared.module, declared.module_size) + "." +
                              std::string(declared.name, declared.name_size) + " has signature " +
                              import.func->sig.to_string());
      }
    }
    return {};
  }

  const std::vector<ExportInfo>& exports() const override { return exports_; }
  bool supports_images() const override { return resettable_; }

  Result<std::unique_ptr<Instance>> instantiate(void* host_data, const InstanceImage* image,
                                                ExecutionControl& control) override;
  void release(std::unique_ptr<Slot> slot);

  std::optional<size_t> export_index(std::string_view name) const {
    for (size_t i = 0; i < exports_.size(); ++i) {
      if (exports_[i].name == name) return i;
    }
    return std::nullopt;
  }
  bool callable(size_t index) const { return callable_[index]; }

  const reglet_aot_module* desc() const { return desc_; }

  int dispatch(AotInstance& instance, uint32_t index, const uint64_t* args, uint64_t* results);

 private:
  enum class ImportKind : uint8_t { host, interrupt, grow_failed, stack_exhausted };
  // Everything dispatch() needs of an import, in one place (a host call must not chase the
  // HostFunc's vectors): the types, and which argument slots hold 32-bit values whose upper half
  // is not the guest's.
  struct ImportBinding {
    ImportKind kind = ImportKind::host;
    bool fits = false;  // in a HostCallScratch
    uint8_t params = 0, results = 0;
    const HostFunc* func = nullptr;
    DirectImport direct;  // the fast form of func, when it has one
    std::array<ValType, HostCallScratch::kMaxParams> param_types{};
    std::array<uint64_t, HostCallScratch::kMaxParams> param_masks{};
    std::array<ValType, HostCallScratch::kMaxResults> result_types{};

    void bind(const HostFunc& host) {
      func = &host;
      if (host.direct && host.sig == FuncSig{{ValType::i64}, {ValType::i64}}) {
        direct = {host.direct, host.direct_data.get()};
      }
      fits = HostCallScratch::fits(host.sig.params.size(), host.sig.results.size());
      if (!fits) return;
      params = static_cast<uint8_t>(host.sig.params.size());
      results = static_cast<uint8_t>(host.sig.results.size());
      for (size_t i = 0; i < params; ++i) {
        const ValType t = host.sig.params[i];
        param_types[i] = t;
        param_masks[i] = (t == ValType::i32 || t == ValType::f32) ? 0xffffffffu : ~uint64_t{0};
      }
      for (size_t i = 0; i < results; ++i) result_types[i] = host.sig.results[i];
    }
  };
  int dispatch_internal(const ImportBinding& binding, AotInstance& instance, uint64_t* results);
  int dispatch_general(const ImportBinding& binding, AotInstance& instance, const uint64_t* args,
                       uint64_t* results);

  const reglet_aot_module* desc_;
  std::vector<HostFunc> host_funcs_;
  std::vector<ImportBinding> imports_;
  size_t import_count_ = 0;  // imports_.size(), without a division by the element size
  std::vector<DirectImport> direct_imports_;  // parallel to imports_; every Slot points here
  std::vector<ExportInfo> exports_;
  std::vector<bool> callable_;
  bool resettable_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> idle_;
};

Slot::~Slot() {
  if (live) module->desc()->free_instance(instance);
  std::free(instance);
}

class AotInstance final : public Instance, public Caller {
 public:
  AotInstance(std::shared_ptr<AotModule> module, std::unique_ptr<Slot> slot, void* host_data)
      : module_(std::move(module)), slot_(std::move(slot)), host_data_(host_data) {
    slot_->active = this;
  }
  ~AotInstance() override {
    slot_->active = nullptr;
    module_->release(std::move(slot_));
  }

  Outcome<std::vector<Value>> call(std::string_view name, std::span<const Value> args,
                                   ExecutionControl& control) override {
    control_ = &control;
    auto outcome = invoke(name, args);
    control_ = nullptr;
    return outcome;
  }

  std::span<uint8_t> memory() override {
    auto* memory = static_cast<wasm_rt_memory_t*>(module_->desc()->memory(slot_->instance));
    if (!memory || !memory->data) return {};
    return {memory->data, memory->size};
  }

  InstanceImage capture() override {
    InstanceImage image;
    auto bytes = memory();
    image.memory.assign(bytes.begin(), bytes.end());
    const reglet_aot_module* desc = module_->desc();
    auto* base = static_cast<uint8_t*>(slot_->instance);
    for (uint32_t i = 0; i < desc->global_count; ++i) {
      const reglet_aot_global& g = desc->globals[i];
      Value value;
      switch (g.type) {
        case 'i':
          value.type = ValType::i32;
          break;
        case 'j':
          value.type = ValType::i64;
          break;
        case 'f':
          value.type = ValType::f32;
          break;
        case 'd':
          value.type = ValType::f64;
          break;
        default:
          image.globals.push_back(Value{});
          continue;
      }
      const size_t size = (g.type == 'i' || g.type == 'f') ? 4 : 8;
      std::memcpy(&value.bits, base + g.offset, size);
      image.globals.push_back(value);
    }
    return image;
  }

  bool memory_grow_refused() const override { return grow_refused_; }

  Outcome<std::vector<Value>> call(std::string_view name, std::span<const Value> args) override {
    if (!control_) return Trap{TrapKind::host_error, "no call in progress", 0, ErrorCode::internal};
    return invoke(name, args);
  }
  ExecutionControl& control() override { return *control_; }
  void* host_data() override { return host_data_; }

  // Instantiates the module into the slot (unless it is being reused), then applies the image.
  Status start(const InstanceImage* image, ExecutionControl& control, bool reuse) {
    const reglet_aot_module* desc = module_->desc();
    if (!reuse) {
      control_ = &control;
      std::optional<aot_rt::GuardWatch> watch;
      arm(watch);
      const int code = desc->instantiate(slot_->instance, slot_.get());
      watch.reset();
      control_ = nullptr;
      slot_->live = true;
      if (code != 0) {
        Trap failure = take_trap(code);
        Error error = failure.to_error();
        error.message = "instantiation failed: " + error.message;
        return error;
      }
    }
    if (image) return apply(*image);
    return {};
  }

  Status apply(const InstanceImage& image) {
    auto* memory = static_cast<wasm_rt_memory_t*>(module_->desc()->memory(slot_->instance));
    if (memory) {
      const auto pages = static_cast<uint32_t>(image.memory.size() / kWasmPageSize);
      if (memory->pages != pages && !aot_rt::resize_memory(memory, pages)) {
        return make_error(ErrorCode::memory_limit, "cannot map the plugin's memory");
      }
      std::memcpy(memory->data, image.memory.data(), image.memory.size());
    }
    const reglet_aot_module* desc = module_->desc();
    if (image.globals.size() != desc->global_count) {
      return make_error(ErrorCode::internal, "image does not match the module's globals");
    }
    auto* base = static_cast<uint8_t*>(slot_->instance);
    for (uint32_t i = 0; i < desc->global_count; ++i) {
      const reglet_aot_global& g = desc->globals[i];
      if (!g.mutable_ || g.type == 0) continue;
      const size_t size = (g.type == 'i' || g.type == 'f') ? 4 : 8;
      std::memcpy(base + g.offset, &image.globals[i].bits, size);
    }
    return {};
  }

  // From the host API (call_import), on the guest's thread. Generated code calls the guard
  // instead (codegen.cc lowers the budget checks); this stays for an object that does not.
  int interrupt(uint64_t* results) {
    if (auto stop = control_->should_stop()) {
      pending_ = Trap{*stop, *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled"};
      return 1;
    }
    results[0] = kInterruptBudget;
    return 0;
  }

  // From the host API (guard_tripped), on the guest's thread: a check found the stack pointer
  // below the guard's limit. Either the watchdog tripped it, or the guest's stack reached the
  // limit. Deadline and cancellation never un-happen, so a trip whose control no longer says stop
  // is one that raced with something else; the watchdog trips again while the reason holds.
  int guard_tripped() {
    if (auto stop = control_ ? control_->should_stop() : std::nullopt) {
      pending_ = Trap{*stop, *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled"};
      return 1;
    }
    if (aot_rt::load_limit(slot_->guard) == REGLET_AOT_GUARD_TRIPPED) {
      if (watched_) aot_rt::store_limit(slot_->guard, stack_limit_);
      return 0;
    }
    pending_ = Trap{TrapKind::stack_exhausted, "call stack exhausted"};
    return 1;
  }
  void note_grow_refused() { grow_refused_ = true; }
  int stop_with(Trap trap) {
    pending_ = std::move(trap);
    return 1;
  }

 private:
  // Before a top-level call: the guard's limit for this thread, and the watchdog on the guard.
  void arm(std::optional<aot_rt::GuardWatch>& watch) {
    stack_limit_ = aot_rt::guest_stack_limit();
    aot_rt::store_limit(slot_->guard, stack_limit_);
    watch.emplace(slot_->guard, *control_);
    watched_ = watch->watched();
    // Nobody will trip it: tripped for good, every check asks the control.
    if (!watched_) aot_rt::store_limit(slot_->guard, REGLET_AOT_GUARD_TRIPPED);
  }

  Trap take_trap(int code) {
    if (code == REGLET_AOT_HOST_TRAP && pending_) {
      Trap out = std::move(*pending_);
      pending_.reset();
      return out;
    }
    pending_.reset();
    return trap_from_code(code, grow_refused_);
  }

  Outcome<std::vector<Value>> invoke(std::string_view name, std::span<const Value> args) {
    auto index = module_->export_index(name);
    if (!index || module_->exports()[*index].kind != ExportInfo::Kind::func) {
      return Trap{TrapKind::host_error, "missing export: " + std::string(name), 0,
                  ErrorCode::abi_error};
    }
    const FuncSig& sig = module_->exports()[*index].sig;
    if (!module_->callable(*index) || args.size() != sig.params.size()) {
      return Trap{TrapKind::host_error,
                  "export " + std::string(name) + " has signature " + sig.to_string(), 0,
                  ErrorCode::abi_error};
    }
    uint64_t raw_args[16];
    uint64_t raw_results[1] = {0};
    if (args.size() > std::size(raw_args)) {
      return Trap{TrapKind::host_error, "too many arguments", 0, ErrorCode::abi_error};
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i].type != sig.params[i]) {
        return Trap{TrapKind::host_error,
                    "export " + std::string(name) + " has signature " + sig.to_string(), 0,
                    ErrorCode::abi_error};
      }
      raw_args[i] = args[i].bits;
    }
    if (depth_ >= kMaxNestedCalls) {
      return Trap{TrapKind::stack_exhausted, "host and guest calls nested too deeply"};
    }
    if (auto stop = control_->should_stop()) {
      return Trap{*stop, *stop == TrapKind::timeout ? "deadline exceeded" : "cancelled"};
    }
    std::optional<aot_rt::GuardWatch> watch;
    if (depth_ == 0) arm(watch);
    ++depth_;
    const int code = module_->desc()->call(slot_->instance, static_cast<uint32_t>(*index), raw_args,
                                           raw_results);
    --depth_;
    if (code != 0) return take_trap(code);
    std::vector<Value> out;
    if (!sig.results.empty()) {
      uint64_t bits = raw_results[0];
      if (sig.results[0] == ValType::i32 || sig.results[0] == ValType::f32) bits &= 0xffffffffu;
      out.push_back(Value{sig.results[0], bits});
    }
    return out;
  }

  std::shared_ptr<AotModule> module_;
  std::unique_ptr<Slot> slot_;
  void* host_data_;
  ExecutionControl* control_ = nullptr;
  std::optional<Trap> pending_;
  int depth_ = 0;
  bool grow_refused_ = false;
  uintptr_t stack_limit_ = 0;
  bool watched_ = true;
};

// A direct host function's call: 0, or non-zero with the trap recorded on the instance.
[[gnu::always_inline]] inline int call_direct(AotInstance& instance, const DirectImport& import,
                                              const uint64_t* args, uint64_t* results) {
  std::optional<Trap> trap =
      call_host_function([&] { return import.fn(instance, import.data, args[0], results[0]); });
  if (trap) [[unlikely]] {
    return instance.stop_with(std::move(*trap));
  }
  return 0;
}

int AotModule::dispatch_internal(const ImportBinding& binding, AotInstance& instance,
                                 uint64_t* results) {
  switch (binding.kind) {
    case ImportKind::interrupt:
      return instance.interrupt(results);
    case ImportKind::grow_failed:
      instance.note_grow_refused();
      return 0;
    case ImportKind::stack_exhausted:
      return instance.stop_with(Trap{TrapKind::stack_exhausted, "call stack exhausted"});
    case ImportKind::host:
      break;
  }
  return instance.stop_with(
      Trap{TrapKind::host_error, "host function signature too large", 0, ErrorCode::internal});
}

// Inlined into host_call_import, its one caller: a host call is a few nanoseconds.
[[gnu::always_inline]] inline int AotModule::dispatch(AotInstance& instance, uint32_t index,
                                                      const uint64_t* args, uint64_t* results) {
  if (index >= import_count_) [[unlikely]] {
    return instance.stop_with(Trap{TrapKind::trap, "bad import"});
  }
  const ImportBinding& binding = imports_[index];
  if (binding.direct.fn != nullptr) [[likely]] {
    return call_direct(instance, binding.direct, args, results);
  }
  return dispatch_general(binding, instance, args, results);
}

// Out of line, so that its scratch space does not enlarge the frame of every direct call.
[[gnu::noinline]] int AotModule::dispatch_general(const ImportBinding& binding,
                                                  AotInstance& instance, const uint64_t* args,
                                                  uint64_t* results) {
  if (binding.kind != ImportKind::host || !binding.fits) [[unlikely]] {
    return dispatch_internal(binding, instance, results);
  }
  HostCallScratch scratch;
  Value* const in = scratch.params();
  Value* const out = scratch.results();
  for (size_t i = 0; i < binding.params; ++i) {
    new (&in[i]) Value{binding.param_types[i], args[i] & binding.param_masks[i]};
  }
  for (size_t i = 0; i < binding.results; ++i) new (&out[i]) Value{binding.result_types[i], 0};
  // Initialised from the call itself (no empty optional assigned to afterwards).
  std::optional<Trap> trap = call_host_function([&] {
    return binding.func->callback(instance, std::span<const Value>(in, binding.params),
                                  std::span<Value>(out, binding.results));
  });
  if (trap) [[unlikely]] {
    return instance.stop_with(std::move(*trap));
  }
  for (size_t i = 0; i < binding.results; ++i) results[i] = out[i].bits;
  return 0;
}

// Every import but a direct host function with the guard untripped (the common case, below).
[[gnu::noinline]] int host_call_import_general(Slot* slot, uint32_t index, const uint64_t* args,
                                               uint64_t* results) {
  AotInstance& instance = *slot->active;
  aot_rt::enter_host();
  // A loop whose every iteration calls an import has no check of its own (prepare.h): this is it.
  int stop = 0;
  if (aot_rt::load_limit(slot->guard) == REGLET_AOT_GUARD_TRIPPED) [[unlikely]] {
    stop = instance.guard_tripped();
  }
  if (stop == 0) stop = slot->module->dispatch(instance, index, args, results);
  aot_rt::leave_host();
  return stop;
}

// A direct host function (every reglet_host one) while the guard is untripped: the function is
// called with nothing else in between, so that a host call costs a few nanoseconds. A tripped
// guard (a loop whose every iteration calls an import has no check of its own, prepare.h) and
// every other import take the general path.
int host_call_import(void* context, uint32_t index, const uint64_t* args, uint64_t* results) {
  auto* slot = static_cast<Slot*>(context);
  if (index < slot->direct_count) [[likely]] {
    const DirectImport& import = slot->direct[index];
    if (import.fn != nullptr &&
        aot_rt::load_limit(slot->guard) != REGLET_AOT_GUARD_TRIPPED) [[likely]] {
      aot_rt::enter_host();
      const int stop = call_direct(*slot->active, import, args, results);
      aot_rt::leave_host();
      return stop;
    }
  }
  return host_call_import_general(slot, index, args, results);
}

int host_guard_tripped(reglet_aot_guard* guard) {
  auto* slot = reinterpret_cast<Slot*>(guard);  // the guard is the slot's first member
  aot_rt::enter_host();
  const int stop = slot->active->guard_tripped();
  aot_rt::leave_host();
  return stop;
}

Result<std::unique_ptr<Instance>> AotModule::instantiate(void* host_data,
                                                         const InstanceImage* image,
                                                         ExecutionControl& control) {
  std::unique_ptr<Slot> slot;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      slot = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!slot) {
    slot = std::make_unique<Slot>();
    slot->module = this;
    slot->direct = direct_imports_.data();
    slot->direct_count = direct_imports_.size();
    const size_t align = std::max<size_t>(desc_->instance_align, alignof(std::max_align_t));
    const size_t size = (desc_->instance_size + align - 1) / align * align;
    slot->instance = std::aligned_alloc(align, size);
    if (!slot->instance) return make_error(ErrorCode::memory_limit, "out of memory");
    std::memset(slot->instance, 0, size);
  }
  const bool reuse = image && resettable_ && slot->live;
  if (!reuse && slot->live) {
    desc_->free_instance(slot->instance);
    slot->live = false;
    std::memset(slot->instance, 0, desc_->instance_size);
  }
  auto instance = std::make_unique<AotInstance>(shared_from_this(), std::move(slot), host_data);
  if (Status status = instance->start(image, control, reuse); !status) {
    return std::move(status).error();
  }
  return std::unique_ptr<Instance>(std::move(instance));
}

void AotModule::release(std::unique_ptr<Slot> slot) {
  if (!resettable_ && slot->live) {
    desc_->free_instance(slot->instance);
    slot->live = false;
    std::memset(slot->instance, 0, desc_->instance_size);
  }
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleSlots) idle_.push_back(std::move(slot));
}

// ---------------------------------------------------------------------------------------------

class AotEngine final : public Engine {
 public:
  explicit AotEngine(AotOptions options) : options_(std::move(options)) {
    if (options_.cache_dir.empty()) options_.cache_dir = default_cache_dir();
  }

  std::string_view name() const override { return "aot"; }

  Result<std::shared_ptr<Module>> compile(const PreparedModule& prepared,
                                          std::vector<HostFunc> host_funcs) override {
    if (Status status = check_host_functions(prepared.imports(), host_funcs); !status) {
      return status.error();
    }
    auto desc = find_or_build(prepared);
    if (!desc) return desc.error();
    aot_rt::ensure_initialized();
    {
      std::lock_guard lock(init_mutex_);
      if (initialized_.insert(*desc).second) {
        (*desc)->bind(&host_api());
        (*desc)->init_module();
      }
    }
    auto module = std::make_shared<AotModule>(*desc, std::move(host_funcs), prepared);
    if (Status status = module->check(); !status) return status.error();
    return std::shared_ptr<Module>(std::move(module));
  }

 private:
  Result<const reglet_aot_module*> find_or_build(const PreparedModule& prepared) {
    const std::string hash = prepared_sha256(prepared);
    {
      std::lock_guard lock(g_static_mutex);
      if (auto it = static_modules().find(hash); it != static_modules().end()) return it->second;
    }
    for (const auto& path : options_.objects) {
      auto loaded = load_object(path);
      if (!loaded) return loaded.error();
      if ((*loaded)->module_sha256 == hash) return *loaded;
    }
    const std::string id = codegen_id(options_);
    const std::filesystem::path cached = cache_path(options_.cache_dir, hash, id);
    std::error_code ec;
    if (!id.empty() && std::filesystem::exists(cached, ec)) {
      auto loaded = load_object(cached);
      if (loaded && (*loaded)->module_sha256 == hash) return *loaded;
    }
    if (id.empty() || !options_.compile) {
      return make_error(ErrorCode::not_found,
                        "no AOT object for this plugin and no C compiler to make one");
    }
    std::lock_guard lock(build_mutex_);  // one compilation at a time per engine
    if (!std::filesystem::exists(cached, ec)) {
      if (Status s = build_object(prepared, cached, options_, id); !s) return s.error();
    }
    auto loaded = load_object(cached);
    if (!loaded) return loaded.error();
    if ((*loaded)->module_sha256 != hash) {
      return make_error(ErrorCode::invalid_module,
                        "AOT object " + cached.string() + " was made from another module");
    }
    return *loaded;
  }

  AotOptions options_;
  std::mutex init_mutex_, build_mutex_;
  std::set<const reglet_aot_module*> initialized_;
};

}  // namespace

void register_static_module(const reglet_aot_module* module) {
  std::lock_guard lock(g_static_mutex);
  static_modules()[module->module_sha256] = module;
}

std::string codegen_id(const AotOptions& options) {
  static std::mutex mutex;
  static std::map<std::string, std::string> ids;
  const std::string compiler = compiler_path(options);
  const std::string key = compiler + "|" + options.optimisation;
  std::lock_guard lock(mutex);
  if (auto it = ids.find(key); it != ids.end()) return it->second;
  std::string id;
  auto version = run({compiler, "--version"});
  if (version && version->first == 0) {
    std::string first_line = version->second.substr(0, version->second.find('\n'));
    id = "reglet-aot/" + std::to_string(REGLET_AOT_ABI_VERSION) + "." +
         std::to_string(kCodegenRevision) + ";" + first_line + ";";
    for (const auto& flag : compile_flags(options)) id += flag + " ";
  }
  ids[key] = id;
  return id;
}

Status compile_to_file(const PreparedModule& prepared, const std::filesystem::path& output,
                       const AotOptions& options) {
  const std::string id = codegen_id(options);
  if (id.empty()) {
    return make_error(ErrorCode::not_found, "no C compiler (" + compiler_path(options) + ") found");
  }
  return build_object(prepared, output, options, id);
}

std::filesystem::path cached_object_path(const PreparedModule& prepared,
                                         const AotOptions& options) {
  const auto dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  return cache_path(dir, prepared_sha256(prepared), codegen_id(options));
}

bool has_object(const PreparedModule& prepared, const AotOptions& options) {
  const std::string hash = prepared_sha256(prepared);
  {
    std::lock_guard lock(g_static_mutex);
    if (static_modules().count(hash)) return true;
  }
  for (const auto& path : options.objects) {
    auto loaded = load_object(path);
    if (loaded && (*loaded)->module_sha256 == hash) return true;
  }
  const std::string id = codegen_id(options);
  if (id.empty()) return false;
  const auto dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  std::error_code ec;
  return std::filesystem::exists(cache_path(dir, hash, id), ec);
}

std::unique_ptr<Engine> make_aot_engine(AotOptions options) {
  return std::make_unique<AotEngine>(std::move(options));
}

// ---------------------------------------------------------------------------------------------
// Test-only: sets of modules in one shared object

namespace {

struct LoadedSet {
  void* handle = nullptr;
  std::map<std::string, std::string> errors;  // module hash -> why it is not in the object
};
std::mutex g_sets_mutex;
std::map<std::string, LoadedSet>& loaded_sets() {
  static std::map<std::string, LoadedSet> sets;
  return sets;
}
std::set<const reglet_aot_module*>& bound_set_modules() {
  static std::set<const reglet_aot_module*> modules;
  return modules;
}

std::string part_name(const std::string& hash) {
  return "m" + hash.substr(0, 16);
}

// The errors file next to a set's object: "hash<TAB>message" lines, newlines in messages escaped.
std::string encode_errors(const std::map<std::string, std::string>& errors) {
  std::string out;
  for (const auto& [hash, message] : errors) {
    out += hash + "\t";
    for (char c : message) out += c == '\n' ? std::string("\\n") : std::string(1, c);
    out += "\n";
  }
  return out;
}

std::map<std::string, std::string> decode_errors(const std::filesystem::path& path) {
  std::map<std::string, std::string> errors;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    std::string message = line.substr(tab + 1);
    for (size_t at = message.find("\\n"); at != std::string::npos; at = message.find("\\n", at)) {
      message.replace(at, 2, "\n");
    }
    errors[line.substr(0, tab)] = message;
  }
  return errors;
}

// Generates and compiles every distinct module of the set (one translation unit each, in batches,
// as many compilers at once as there are cores) and links what compiled into `output`. Modules that
// could not be generated or compiled are listed in `errors`.
Status build_set(const std::vector<const PreparedModule*>& distinct,
                 const std::vector<std::string>& hashes, const std::filesystem::path& output,
                 const AotOptions& options, const std::string& id,
                 std::map<std::string, std::string>& errors) {
  std::error_code ec;
  std::filesystem::create_directories(output.parent_path(), ec);
  auto work_dir = WorkDir::create();
  if (!work_dir) return work_dir.error();
  const std::filesystem::path& work = work_dir->path();
  for (auto [file, text] :
       {std::pair{"aot_abi.h", aot_abi_header()}, std::pair{"wasm-rt.h", wasm_rt_header()}}) {
    if (Status s = write_file(work / file, text); !s) return s;
  }
  std::vector<std::string> flags;
  for (const auto& flag : compile_flags(options)) {
    if (flag != "-shared") flags.push_back(flag);
  }
  flags.push_back("-I" + work.string());
  flags.push_back("-c");
  auto compile = [&](const std::vector<std::string>& sources) -> std::optional<std::string> {
    std::vector<std::string> argv = {compiler_path(options)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), sources.begin(), sources.end());
    auto result = run(argv, work.string());
    if (!result) return result.error().message;
    if (result->first != 0) {
      return "the C compiler failed on the generated code: " + result->second.substr(0, 2000);
    }
    return std::nullopt;
  };

  // wasm-rt for the set: the same for every set made with this codegen id, so compiled once per
  // cache directory.
  const std::string runtime = runtime_part_c();
  const std::filesystem::path rt_object =
      output.parent_path() / ("rt-" + sha256_hex(id + "|" + runtime).substr(0, 32) + ".o");
  if (!std::filesystem::exists(rt_object, ec)) {
    if (Status s = write_file(work / "rt.c", runtime); !s) return s;
    if (auto failed = compile({"rt.c"})) return make_error(ErrorCode::internal, *failed);
    std::filesystem::rename(work / "rt.o", rt_object, ec);
    if (ec) return make_error(ErrorCode::io_error, "cannot store " + rt_object.string());
  }

  // wasm2c warns on stderr about what it handles anyway (an import declared twice); the
  // testsuite does that hundreds of times. Nothing else runs while the set is generated.
  struct QuietStderr {
    int saved = dup(2);
    QuietStderr() {
      const int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0) {
        dup2(null, 2);
        close(null);
      }
    }
    ~QuietStderr() {
      if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
      }
    }
  };
  auto quiet = std::make_unique<QuietStderr>();
  struct Job {
    std::string source, hash;  // source: within the work directory
    std::string error;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < distinct.size(); ++i) {
    const std::string name = part_name(hashes[i]);
    auto generated = generate_c(*distinct[i], name, Linkage::shared_part, id);
    if (!generated) {
      errors[hashes[i]] = generated.error().message;
      continue;
    }
    for (auto [file, text] : {std::pair{name + ".c", std::string_view(generated->module_c)},
                              std::pair{name + ".h", std::string_view(generated->module_h)},
                              std::pair{name + "_glue.c", std::string_view(generated->glue_c)}}) {
      if (Status s = write_file(work / file, text); !s) return s;
    }
    jobs.push_back({name + "_glue.c", hashes[i], ""});
  }
  quiet.reset();

  // Several translation units per compiler process (the driver's own start-up costs about a
  // quarter of a small module's compilation), as many processes at once as there are cores. A
  // batch that fails is retried one file at a time, to tell which module the compiler refused.
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t batch = std::clamp<size_t>((jobs.size() + cores - 1) / cores, 1, 8);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t first = next.fetch_add(batch); first < jobs.size(); first = next.fetch_add(batch)) {
      const size_t last = std::min(jobs.size(), first + batch);
      std::vector<std::string> sources;
      for (size_t j = first; j < last; ++j) sources.push_back(jobs[j].source);
      if (!compile(sources)) continue;
      for (size_t j = first; j < last; ++j) {
        if (auto failed = compile({jobs[j].source})) jobs[j].error = *failed;
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(cores, jobs.size()); ++t) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();

  const std::filesystem::path temp_output = output.string() + ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv = {compiler_path(options), "-shared", "-o", temp_output.string(),
                                   rt_object.string()};
  for (const Job& job : jobs) {
    if (job.error.empty()) {
      argv.push_back((work / job.source).replace_extension(".o").string());
    } else {
      errors[job.hash] = job.error;
    }
  }
  argv.push_back("-lm");
  auto linked = run(argv);
  if (!linked) return linked.error();
  if (linked->first != 0) {
    std::filesystem::remove(temp_output, ec);
    return make_error(ErrorCode::internal,
                      "linking the modules failed: " + linked->second.substr(0, 2000));
  }
  if (Status s = write_file(output.string() + ".errors", encode_errors(errors)); !s) return s;
  std::filesystem::rename(temp_output, output, ec);
  if (ec) {
    return make_error(ErrorCode::io_error, "cannot store " + output.string() + ": " + ec.message());
  }
  return {};
}

}  // namespace

std::vector<Result<const reglet_aot_module*>> load_module_set(
    const std::vector<const PreparedModule*>& modules, const AotOptions& options,
    const reglet_aot_host_api* api) {
  std::vector<Result<const reglet_aot_module*>> out;
  const std::string id = codegen_id(options);
  if (id.empty()) {
    for (size_t i = 0; i < modules.size(); ++i) {
      out.push_back(
          make_error(ErrorCode::not_found, "no C compiler (" + compiler_path(options) + ") found"));
    }
    return out;
  }
  std::vector<std::string> hashes;
  std::vector<const PreparedModule*> distinct;
  std::vector<std::string> distinct_hashes;
  std::string key = id + "|set";
  for (const PreparedModule* module : modules) {
    hashes.push_back(prepared_sha256(*module));
    if (std::find(distinct_hashes.begin(), distinct_hashes.end(), hashes.back()) ==
        distinct_hashes.end()) {
      distinct_hashes.push_back(hashes.back());
      distinct.push_back(module);
      key += "|" + hashes.back();
    }
  }
  const auto dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  const std::filesystem::path path = dir / ("set-" + sha256_hex(key).substr(0, 32) + ".so");

  std::lock_guard lock(g_sets_mutex);
  auto& sets = loaded_sets();
  auto it = sets.find(path.string());
  if (it == sets.end()) {
    LoadedSet set;
    std::error_code ec;
    Status built;
    if (!std::filesystem::exists(path, ec) || !options.compile) {
      if (options.compile)
        built = build_set(distinct, distinct_hashes, path, options, id, set.errors);
      else
        built = make_error(ErrorCode::not_found, "no AOT object for this set of modules");
    } else {
      set.errors = decode_errors(path.string() + ".errors");
    }
    if (built) {
      set.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!set.handle)
        built = make_error(ErrorCode::invalid_module,
                           std::string("cannot load ") + path.string() + ": " + dlerror());
    }
    if (!built) {
      for (size_t i = 0; i < modules.size(); ++i) out.push_back(built.error());
      return out;
    }
    it = sets.emplace(path.string(), std::move(set)).first;
  }
  aot_rt::ensure_initialized();
  for (size_t i = 0; i < modules.size(); ++i) {
    if (auto error = it->second.errors.find(hashes[i]); error != it->second.errors.end()) {
      out.push_back(make_error(ErrorCode::invalid_module, error->second));
      continue;
    }
    const std::string symbol = part_name(hashes[i]) + "_reglet_aot_module";
    auto entry = reinterpret_cast<reglet_aot_entry_fn>(dlsym(it->second.handle, symbol.c_str()));
    const reglet_aot_module* desc = entry ? entry() : nullptr;
    if (!desc || desc->abi_version != REGLET_AOT_ABI_VERSION || desc->module_sha256 != hashes[i]) {
      out.push_back(
          make_error(ErrorCode::invalid_module, path.string() + " lacks module " + hashes[i]));
      continue;
    }
    if (bound_set_modules().insert(desc).second) {
      desc->bind(api);
      desc->init_module();
    }
    out.push_back(desc);
  }
  return out;
}

}  // namespace reglet::engine::aot
