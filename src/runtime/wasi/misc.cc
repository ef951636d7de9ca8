// args, environ, clocks, random, sched_yield, proc_exit.
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "runtime/wasi/state.h"

namespace reglet::runtime::wasi {
namespace {

// A list of NUL-terminated strings as args_get/environ_get lay it out: an array of pointers at
// `array`, the strings one after another at `buffer`.
Errno write_string_list(Call& call, const std::vector<std::string>& strings, uint32_t array,
                        uint32_t buffer) {
  uint64_t total = 0;
  for (const std::string& s : strings) total += s.size() + 1;
  if (!call.memory().contains(array, strings.size() * 4ull) ||
      !call.memory().contains(buffer, total)) {
    return Errno::fault;
  }
  uint64_t offset = buffer;
  for (size_t i = 0; i < strings.size(); ++i) {
    call.store<uint32_t>(array + 4ull * i, static_cast<uint32_t>(offset));
    call.memory().write(offset, strings[i]);
    call.store<uint8_t>(offset + strings[i].size(), 0);
    offset += strings[i].size() + 1;
  }
  return Errno::success;
}

Errno write_list_sizes(Call& call, const std::vector<std::string>& strings, uint32_t count_ptr,
                       uint32_t size_ptr) {
  uint64_t total = 0;
  for (const std::string& s : strings) total += s.size() + 1;
  if (total > UINT32_MAX) return Errno::overflow;
  if (!call.memory().contains(count_ptr, 4) || !call.memory().contains(size_ptr, 4)) {
    return Errno::fault;
  }
  call.store<uint32_t>(count_ptr, static_cast<uint32_t>(strings.size()));
  call.store<uint32_t>(size_ptr, static_cast<uint32_t>(total));
  return Errno::success;
}

std::vector<std::string> arguments(Call& call) {
  return {call.context().plugin()};
}

bool host_clock(uint32_t id, clockid_t& out) {
  switch (static_cast<ClockId>(id)) {
    case ClockId::realtime:
      out = CLOCK_REALTIME;
      return true;
    case ClockId::monotonic:
      out = CLOCK_MONOTONIC;
      return true;
    case ClockId::process_cputime:
      out = CLOCK_PROCESS_CPUTIME_ID;
      return true;
    case ClockId::thread_cputime:
      out = CLOCK_THREAD_CPUTIME_ID;
      return true;
  }
  return false;
}

uint64_t to_ns(const struct timespec& time) {
  return static_cast<uint64_t>(time.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(time.tv_nsec);
}

}  // namespace

Errno args_sizes_get(Call& call) {
  return write_list_sizes(call, arguments(call), call.u32(0), call.u32(1));
}

Errno args_get(Call& call) {
  return write_string_list(call, arguments(call), call.u32(0), call.u32(1));
}

Errno environ_sizes_get(Call& call) {
  return write_list_sizes(call, call.state().visible_environment(), call.u32(0), call.u32(1));
}

Errno environ_get(Call& call) {
  return write_string_list(call, call.state().visible_environment(), call.u32(0), call.u32(1));
}

Errno clock_res_get(Call& call) {
  clockid_t clock;
  if (!host_clock(call.u32(0), clock)) return Errno::inval;
  struct timespec resolution {};
  if (::clock_getres(clock, &resolution) != 0) return from_host_errno(errno);
  return call.store<uint64_t>(call.u32(1), std::max<uint64_t>(to_ns(resolution), 1))
             ? Errno::success
             : Errno::fault;
}

Errno clock_time_get(Call& call) {
  clockid_t clock;
  if (!host_clock(call.u32(0), clock)) return Errno::inval;
  // The precision argument (u64 at 1) is a hint; every clock is read at full resolution.
  struct timespec now {};
  if (::clock_gettime(clock, &now) != 0) return from_host_errno(errno);
  return call.store<uint64_t>(call.u32(2), to_ns(now)) ? Errno::success : Errno::fault;
}

Errno random_get(Call& call) {
  auto buffer = call.memory().bytes(call.u32(0), call.u32(1));
  if (!buffer) return Errno::fault;
  // Bounded by guest memory (the instance's cap); filled in chunks so that a huge request still
  // gives way to the call's deadline or a cancellation.
  size_t filled = 0;
  while (filled < buffer->size()) {
    if (filled > 0) {
      if (auto stop = call.caller().control().should_stop()) {
        call.trap = engine::Trap{
            *stop, *stop == engine::TrapKind::timeout ? "deadline exceeded" : "cancelled"};
        return Errno::success;
      }
    }
    const size_t chunk = std::min<size_t>(buffer->size() - filled, kRandomChunk);
    const ssize_t got = ::getrandom(buffer->data() + filled, chunk, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return from_host_errno(errno);
    }
    filled += static_cast<size_t>(got);
  }
  return Errno::success;
}

Errno sched_yield(Call&) {
  std::this_thread::yield();
  return Errno::success;
}

Errno proc_exit(Call& call) {
  const auto code = static_cast<int32_t>(call.u32(0));
  call.trap = engine::Trap{engine::TrapKind::exit, "proc_exit(" + std::to_string(code) + ")", code};
  return Errno::success;
}

}  // namespace reglet::runtime::wasi
