// Deadlines and cancellation for generated code, which has no budget counter to run down (see
// reglet_aot_guard in aot_abi.h): one process-wide thread watches the ExecutionControl of every
// running AOT call and trips the call's guard when the control says stop. The guest then notices
// at its next function entry or loop header, a load and a compare away.
//
// The thread sleeps until the nearest deadline, polling for cancellation (a flag another thread
// sets, never announced) every kCancelPoll while calls run, and not at all when none does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "engine/aot/aot_abi.h"
#include "engine/engine.h"

namespace reglet::engine::aot_rt {

inline constexpr std::chrono::milliseconds kCancelPoll{2};

// While it lives, `guard` is tripped (set to REGLET_AOT_GUARD_TRIPPED) once `control` says stop.
// Construct it after setting the guard's limit; `guard` and `control` must outlive it. Once it is
// destroyed the guard is not touched any more.
class GuardWatch {
 public:
  GuardWatch(reglet_aot_guard& guard, const ExecutionControl& control);
  ~GuardWatch();
  GuardWatch(const GuardWatch&) = delete;
  GuardWatch& operator=(const GuardWatch&) = delete;

  // False when the watchdog thread could not be started: then nobody trips the guard, and the
  // caller must keep it tripped itself (every check then asks the control: slow, but the call
  // still stops).
  bool watched() const { return watched_; }

  struct Entry {
    reglet_aot_guard* guard;
    const ExecutionControl* control;
  };

 private:
  Entry entry_;
  bool watched_;
};

// Relaxed atomic access to a guard shared with generated code and the watchdog.
inline uintptr_t load_limit(reglet_aot_guard& guard) {
  return std::atomic_ref<uintptr_t>(guard.limit).load(std::memory_order_relaxed);
}
inline void store_limit(reglet_aot_guard& guard, uintptr_t limit) {
  std::atomic_ref<uintptr_t>(guard.limit).store(limit, std::memory_order_relaxed);
}

}  // namespace reglet::engine::aot_rt
