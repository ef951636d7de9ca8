// The project's implementation of wasm2c's runtime interface (wasm-rt.h), for the AOT tier.
//
// Debian's wasm-rt-impl keeps the unwind target and trap state in process globals, so two threads
// running generated code at once would longjmp into each other's frames. Here every piece of
// per-call state is thread-local, and:
//   - linear memories are 8 GiB PROT_NONE reservations with the accessible pages made read-write,
//     so generated code needs no bounds checks (WASM_RT_MEMCHECK_SIGNAL_HANDLER): an access past
//     the end faults, and the SIGSEGV handler turns the fault into a trap by longjmp-ing to the
//     thread's unwind target. Reservations are pooled, so a fresh instance does not pay for an
//     8 GiB mmap and munmap;
//   - the signal handler runs on a per-thread alternate stack, so a native stack overflow in
//     generated code (deep recursion) is caught too and reported as call-stack exhaustion;
//   - a fault that did not happen in guest code on this thread goes to the previous handler
//     (a real crash stays a crash; sanitizers keep their reports);
//   - on x86-64 a failed guard check (reglet_aot_guard) is a `ud2` in guest code with the guard
//     in rax: the SIGILL handler calls the guard's tripped() and resumes after the instruction,
//     or unwinds to the call's setjmp when the call must stop. Any other SIGILL goes to the
//     previous handler.
#include "engine/aot/rt.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace reglet::engine::aot_rt {
namespace {

constexpr uint64_t kPageSize = 64 * 1024;
// u32 address + u32 offset + up to 16 bytes accessed: all of it inside the reservation.
constexpr uint64_t kReservation = (8ull << 30) + kPageSize;
constexpr size_t kMaxPooledRegions = 32;
constexpr size_t kAltStackSize = 64 * 1024;

// Room below the guest's stack limit for the host functions it calls: a quarter of the thread's
// stack, within these bounds.
constexpr uintptr_t kMinHostStackReserve = 128u << 10;
constexpr uintptr_t kMaxHostStackReserve = 1u << 20;

// Trivially destructible, so that an access needs no TLS wrapper (guest calls touch it).
struct ThreadState {
  jmp_buf* unwind = nullptr;
  uintptr_t stack_low = 0;    // lowest usable address of this thread's stack
  uintptr_t stack_limit = 0;  // guest_stack_limit()
  bool prepared = false;
};

constinit thread_local ThreadState t_state;

// The alternate signal stack, released when the thread ends.
struct AltStack {
  void* stack = nullptr;
  ~AltStack() {
    if (stack) {
      stack_t disable{};
      disable.ss_flags = SS_DISABLE;
      sigaltstack(&disable, nullptr);
      munmap(stack, kAltStackSize);
    }
  }
};
thread_local AltStack t_alt_stack;

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;
struct sigaction g_previous_ill;
std::once_flag g_init_once;
std::atomic<bool> g_initialized{false};

// Regions returned by wasm_rt_free_memory, all PROT_NONE and zero (MADV_DONTNEED).
std::mutex g_pool_mutex;
std::vector<uint8_t*> g_pool;

void chain(const struct sigaction& previous, int sig, siginfo_t* info, void* context) {
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) {
      previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  // Default action: reinstall it and return; the faulting instruction runs again and the
  // process dies as it would have without us.
  signal(sig, SIG_DFL);
}

bool near_stack_end(uintptr_t address) {
  // The guard region below the stack, and a little above it (a frame that straddles it).
  return t_state.stack_low != 0 && address + (1u << 20) >= t_state.stack_low &&
         address < t_state.stack_low + (64u << 10);
}

void on_fault(int sig, siginfo_t* info, void* context) {
  if (t_guest_depth > 0 && t_state.unwind) {
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    const int code = near_stack_end(address) ? WASM_RT_TRAP_EXHAUSTION : WASM_RT_TRAP_OOB;
    // SA_NODEFER left the signal unblocked, so leaving the handler this way needs no mask fix.
    longjmp(*t_state.unwind, code);
  }
  chain(sig == SIGBUS ? g_previous_bus : g_previous_segv, sig, info, context);
}

void on_illegal(int sig, siginfo_t* info, void* context) {
#if defined(__x86_64__) && defined(__linux__)
  auto& registers = static_cast<ucontext_t*>(context)->uc_mcontext.gregs;
  const auto* ip = reinterpret_cast<const uint8_t*>(registers[REG_RIP]);
  if (t_guest_depth > 0 && t_state.unwind && ip[0] == 0x0f && ip[1] == 0x0b) {
    // A ud2 that is not a guard check (the compiler's, on a path it proved undefined) leaves
    // garbage in rax; reading the magic through it faults at worst, and the fault handler turns
    // that into a trap too.
    auto* guard = reinterpret_cast<reglet_aot_guard*>(registers[REG_RAX]);
    if (guard && guard->magic == REGLET_AOT_GUARD_MAGIC && guard->tripped) {
      // Synchronous, in generated code: the thread holds nothing the host code might need.
      if (guard->tripped(guard) != 0) longjmp(*t_state.unwind, REGLET_AOT_HOST_TRAP);
      registers[REG_RIP] += 2;  // past the ud2: the check is done
      return;
    }
  }
#endif
  chain(g_previous_ill, sig, info, context);
}

void install_handlers() {
  struct sigaction action {};
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &g_previous_segv);
  sigaction(SIGBUS, &action, &g_previous_bus);
  // On the thread's own stack: a check that found the stack exhausted leaves the host's reserve
  // below the limit, more than the alternate stack has.
  struct sigaction illegal {};
  illegal.sa_sigaction = on_illegal;
  illegal.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&illegal.sa_mask);
  sigaction(SIGILL, &illegal, &g_previous_ill);
  g_initialized = true;
}

void prepare_thread() {
  if (t_state.prepared) return;
  t_state.prepared = true;
  void* stack = mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stack != MAP_FAILED) {
    stack_t alt{};
    alt.ss_sp = stack;
    alt.ss_size = kAltStackSize;
    if (sigaltstack(&alt, nullptr) == 0) {
      t_alt_stack.stack = stack;
    } else {
      munmap(stack, kAltStackSize);
    }
  }
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* address = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &address, &size) == 0) {
      t_state.stack_low = reinterpret_cast<uintptr_t>(address);
      const uintptr_t reserve =
          std::clamp<uintptr_t>(size / 4, kMinHostStackReserve, kMaxHostStackReserve);
      if (size > reserve) t_state.stack_limit = t_state.stack_low + reserve;
    }
    pthread_attr_destroy(&attr);
  }
}

uint8_t* take_region() {
  {
    std::lock_guard lock(g_pool_mutex);
    if (!g_pool.empty()) {
      uint8_t* region = g_pool.back();
      g_pool.pop_back();
      return region;
    }
  }
  void* region = mmap(nullptr, kReservation, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return region == MAP_FAILED ? nullptr : static_cast<uint8_t*>(region);
}

void give_region(uint8_t* region, uint64_t used) {
  if (used > 0) {
    madvise(region, used, MADV_DONTNEED);
    mprotect(region, used, PROT_NONE);
  }
  std::lock_guard lock(g_pool_mutex);
  if (g_pool.size() < kMaxPooledRegions) {
    g_pool.push_back(region);
  } else {
    munmap(region, kReservation);
  }
}

struct FuncType {
  std::vector<wasm_rt_type_t> params, results;
  bool operator==(const FuncType&) const = default;
};
std::mutex g_types_mutex;
std::vector<FuncType> g_types;

}  // namespace

uint32_t register_func_type_array(uint32_t params, uint32_t results, const int* types) {
  FuncType type;
  for (uint32_t i = 0; i < params; ++i) type.params.push_back(static_cast<wasm_rt_type_t>(types[i]));
  for (uint32_t i = 0; i < results; ++i) {
    type.results.push_back(static_cast<wasm_rt_type_t>(types[params + i]));
  }
  std::lock_guard lock(g_types_mutex);
  for (size_t i = 0; i < g_types.size(); ++i) {
    if (g_types[i] == type) return static_cast<uint32_t>(i);
  }
  g_types.push_back(std::move(type));
  return static_cast<uint32_t>(g_types.size() - 1);
}

void ensure_initialized() { std::call_once(g_init_once, install_handlers); }

constinit thread_local int t_guest_depth = 0;

jmp_buf* push_unwind(jmp_buf* target) {
  prepare_thread();
  jmp_buf* previous = t_state.unwind;
  t_state.unwind = target;
  ++t_guest_depth;
  return previous;
}

void pop_unwind(jmp_buf* previous) {
  t_state.unwind = previous;
  --t_guest_depth;
}

uintptr_t guest_stack_limit() {
  prepare_thread();
  return t_state.stack_limit;
}

bool resize_memory(wasm_rt_memory_t* memory, uint32_t pages) {
  const uint64_t old_size = memory->size;
  const uint64_t new_size = uint64_t{pages} * kPageSize;
  if (new_size > old_size) {
    if (mprotect(memory->data + old_size, new_size - old_size, PROT_READ | PROT_WRITE) != 0) {
      return false;
    }
  } else if (new_size < old_size) {
    madvise(memory->data + new_size, old_size - new_size, MADV_DONTNEED);
    mprotect(memory->data + new_size, old_size - new_size, PROT_NONE);
  }
  memory->pages = pages;
  memory->size = static_cast<uint32_t>(new_size == (4ull << 30) ? UINT32_MAX : new_size);
  return true;
}

}  // namespace reglet::engine::aot_rt

using namespace reglet::engine::aot_rt;

extern "C" {

void wasm_rt_init(void) { ensure_initialized(); }
bool wasm_rt_is_initialized(void) { return g_initialized.load(); }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t code) {
  if (!t_state.unwind) {
    std::fprintf(stderr, "reglet: wasm trap %d outside a guest call\n", static_cast<int>(code));
    std::abort();
  }
  longjmp(*t_state.unwind, code == WASM_RT_TRAP_NONE ? REGLET_AOT_HOST_TRAP : code);
}

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return "no error";
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "indirect call failed";
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
  }
  return "unknown trap";
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  std::vector<int> types;
  va_list args;
  va_start(args, results);
  for (uint32_t i = 0; i < params + results; ++i) types.push_back(va_arg(args, int));
  va_end(args);
  return register_func_type_array(params, results, types.data());
}

// Exceptions are not among the enabled features; a module using them does not validate.
uint32_t wasm_rt_register_tag(uint32_t) { return 0; }
void wasm_rt_load_exception(uint32_t, uint32_t, const void*) {}
void wasm_rt_throw(void) { wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION); }
WASM_RT_UNWIND_TARGET* wasm_rt_get_unwind_target(void) { return t_state.unwind; }
void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET* target) { t_state.unwind = target; }
uint32_t wasm_rt_exception_tag(void) { return 0; }
uint32_t wasm_rt_exception_size(void) { return 0; }
void* wasm_rt_exception(void) { return nullptr; }

void wasm_rt_allocate_memory(wasm_rt_memory_t* memory, uint32_t initial_pages,
                             uint32_t max_pages) {
  ensure_initialized();
  uint8_t* region = take_region();
  if (!region) wasm_rt_trap(WASM_RT_TRAP_OOB);
  memory->data = region;
  memory->pages = 0;
  memory->size = 0;
  memory->max_pages = max_pages;
  if (!resize_memory(memory, initial_pages)) {
    give_region(region, 0);
    memory->data = nullptr;
    wasm_rt_trap(WASM_RT_TRAP_OOB);
  }
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* memory, uint32_t delta) {
  const uint32_t old_pages = memory->pages;
  const uint64_t new_pages = uint64_t{old_pages} + delta;
  if (new_pages > memory->max_pages || new_pages > 65536) return UINT32_MAX;
  if (delta == 0) return old_pages;
  if (!resize_memory(memory, static_cast<uint32_t>(new_pages))) return UINT32_MAX;
  return old_pages;
}

void wasm_rt_free_memory(wasm_rt_memory_t* memory) {
  if (!memory->data) return;
  give_region(memory->data, uint64_t{memory->pages} * kPageSize);
  memory->data = nullptr;
  memory->pages = 0;
  memory->size = 0;
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* table, uint32_t elements,
                                    uint32_t max_elements) {
  table->size = elements;
  table->max_size = max_elements;
  table->data = static_cast<wasm_rt_funcref_t*>(
      std::calloc(elements ? elements : 1, sizeof(wasm_rt_funcref_t)));
  if (!table->data) wasm_rt_trap(WASM_RT_TRAP_OOB);
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* table) {
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}

void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* table, uint32_t elements,
                                      uint32_t max_elements) {
  table->size = elements;
  table->max_size = max_elements;
  table->data = static_cast<wasm_rt_externref_t*>(
      std::calloc(elements ? elements : 1, sizeof(wasm_rt_externref_t)));
  if (!table->data) wasm_rt_trap(WASM_RT_TRAP_OOB);
}

void wasm_rt_free_externref_table(wasm_rt_externref_table_t* table) {
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}

uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* table, uint32_t delta,
                                    wasm_rt_funcref_t init) {
  const uint32_t old_size = table->size;
  const uint64_t new_size = uint64_t{old_size} + delta;
  if (new_size > table->max_size || new_size > UINT32_MAX) return UINT32_MAX;
  if (delta == 0) return old_size;
  auto* data = static_cast<wasm_rt_funcref_t*>(
      std::realloc(table->data, new_size * sizeof(wasm_rt_funcref_t)));
  if (!data) return UINT32_MAX;
  for (uint64_t i = old_size; i < new_size; ++i) data[i] = init;
  table->data = data;
  table->size = static_cast<uint32_t>(new_size);
  return old_size;
}

uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* table, uint32_t delta,
                                      wasm_rt_externref_t init) {
  const uint32_t old_size = table->size;
  const uint64_t new_size = uint64_t{old_size} + delta;
  if (new_size > table->max_size || new_size > UINT32_MAX) return UINT32_MAX;
  if (delta == 0) return old_size;
  auto* data = static_cast<wasm_rt_externref_t*>(
      std::realloc(table->data, new_size * sizeof(wasm_rt_externref_t)));
  if (!data) return UINT32_MAX;
  for (uint64_t i = old_size; i < new_size; ++i) data[i] = init;
  table->data = data;
  table->size = static_cast<uint32_t>(new_size);
  return old_size;
}

}  // extern "C"
