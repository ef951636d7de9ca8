#include "engine/aot/watchdog.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace reglet::engine::aot_rt {
namespace {

using Clock = ExecutionControl::Clock;

// After the last call ends the thread keeps polling this long before it sleeps for good, so that
// a run of short calls does not wake it (a futex system call) once per call.
constexpr std::chrono::milliseconds kLinger{100};

class Watchdog {
 public:
  // Never destroyed: the thread runs for the life of the process, and calls may still end while
  // static objects are destroyed.
  static Watchdog& get() {
    static Watchdog* watchdog = new Watchdog;
    return *watchdog;
  }

  bool add(GuardWatch::Entry* entry) {
    std::lock_guard lock(mutex_);
    if (!started_) {
      try {
        std::thread([this] { run(); }).detach();
        started_ = true;
      } catch (const std::system_error&) {
        return false;
      }
    }
    entries_.push_back(entry);
    // Asleep for good, or asleep past this call's deadline: wake up to reschedule.
    if (next_wake_ == Clock::time_point::max() || entry->control->deadline() < next_wake_) {
      wake_.notify_one();
    }
    return true;
  }

  void remove(GuardWatch::Entry* entry) {
    std::lock_guard lock(mutex_);
    auto it = std::find(entries_.begin(), entries_.end(), entry);
    if (it == entries_.end()) return;
    *it = entries_.back();
    entries_.pop_back();
    if (entries_.empty()) idle_since_ = Clock::now();
  }

 private:
  Watchdog() = default;

  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      const Clock::time_point now = Clock::now();
      Clock::time_point next = Clock::time_point::max();
      if (!entries_.empty() || now - idle_since_ < kLinger) next = now + kCancelPoll;
      for (GuardWatch::Entry* entry : entries_) {
        if (entry->control->should_stop()) {
          // Again on every round until the call ends: the guest may have restored the limit.
          store_limit(*entry->guard, REGLET_AOT_GUARD_TRIPPED);
        } else {
          next = std::min(next, entry->control->deadline());
        }
      }
      next_wake_ = next;
      if (next == Clock::time_point::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, next);
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<GuardWatch::Entry*> entries_;
  Clock::time_point next_wake_ = Clock::time_point::max();
  Clock::time_point idle_since_{};
  bool started_ = false;
};

}  // namespace

GuardWatch::GuardWatch(reglet_aot_guard& guard, const ExecutionControl& control)
    : entry_{&guard, &control}, watched_(Watchdog::get().add(&entry_)) {}

GuardWatch::~GuardWatch() {
  if (watched_) Watchdog::get().remove(&entry_);
}

}  // namespace reglet::engine::aot_rt
