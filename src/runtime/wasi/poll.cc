// poll_oneoff: clock subscriptions sleep (never past the call's deadline, and waking up for a
// cancellation); fd subscriptions are ready at once, because every descriptor here is a
// regular file, a directory or a stdio stream that never blocks.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <thread>

#include "runtime/wasi/state.h"

namespace reglet::runtime::wasi {
namespace {

using Clock = engine::ExecutionControl::Clock;

// Sleeping happens in slices this long at most, so that a cancellation is seen promptly.
constexpr auto kSleepSlice = std::chrono::milliseconds(5);
// A relative timeout longer than this is as good as forever (and still ends at the deadline);
// clamping keeps the time_point arithmetic from overflowing.
constexpr uint64_t kMaxTimeoutNs = 100ull * 365 * 24 * 3600 * 1'000'000'000ull;

struct Subscription {
  uint64_t userdata = 0;
  EventType type = EventType::clock;
  Errno error = Errno::success;
  bool ready = false;        // fd subscriptions and errors: reported without waiting
  Clock::time_point wake{};  // clock subscriptions
  uint64_t nbytes = 0;
  uint16_t flags = 0;
};

Clock::time_point wake_time(Clock::time_point now, uint64_t ns) {
  return now + std::chrono::nanoseconds(static_cast<int64_t>(std::min(ns, kMaxTimeoutNs)));
}

void read_clock(const GuestMemory& memory, uint64_t base, Clock::time_point now,
                Subscription& sub) {
  const uint32_t id = *memory.load<uint32_t>(base + layout::sub_clock_id);
  const uint64_t timeout = *memory.load<uint64_t>(base + layout::sub_clock_timeout);
  const uint16_t flags = *memory.load<uint16_t>(base + layout::sub_clock_flags);
  clockid_t clock;
  if (id == static_cast<uint32_t>(ClockId::realtime)) {
    clock = CLOCK_REALTIME;
  } else if (id == static_cast<uint32_t>(ClockId::monotonic)) {
    clock = CLOCK_MONOTONIC;
  } else {
    // CPU-time clocks do not advance while we sleep; waiting on one has no meaning here.
    sub.error = Errno::notsup;
    sub.ready = true;
    return;
  }
  if ((flags & kSubscriptionClockAbstime) == 0) {
    sub.wake = wake_time(now, timeout);
    return;
  }
  struct timespec current {};
  ::clock_gettime(clock, &current);
  const uint64_t current_ns = static_cast<uint64_t>(current.tv_sec) * 1'000'000'000ull +
                              static_cast<uint64_t>(current.tv_nsec);
  sub.wake = timeout <= current_ns ? now : wake_time(now, timeout - current_ns);
}

void read_fd(Call& call, uint32_t fd, Subscription& sub) {
  sub.ready = true;
  Descriptor* descriptor = nullptr;
  if (Errno error = call.lookup(fd, rights::poll_fd_readwrite, descriptor);
      error != Errno::success) {
    sub.error = error;
    return;
  }
  switch (descriptor->kind) {
    case DescriptorKind::stdin_stream:
      if (sub.type == EventType::fd_read)
        sub.flags = kEventFdReadwriteHangup;  // always at EOF
      else
        sub.error = Errno::badf;
      return;
    case DescriptorKind::stdout_stream:
    case DescriptorKind::stderr_stream:
      if (sub.type == EventType::fd_write)
        sub.nbytes = kMaxStreamBytes;
      else
        sub.error = Errno::badf;
      return;
    case DescriptorKind::directory:
      sub.error = Errno::badf;
      return;
    case DescriptorKind::file:
      break;
  }
  if (sub.type == EventType::fd_write) {
    sub.nbytes = kMaxIoBytes;
    return;
  }
  struct stat info {};
  const off_t position = ::lseek(descriptor->host.get(), 0, SEEK_CUR);
  if (::fstat(descriptor->host.get(), &info) == 0 && S_ISREG(info.st_mode) && position >= 0 &&
      info.st_size > position) {
    sub.nbytes = static_cast<uint64_t>(info.st_size - position);
  }
}

}  // namespace

Errno poll_oneoff(Call& call) {
  const uint32_t in = call.u32(0);
  const uint32_t out = call.u32(1);
  const uint32_t count = call.u32(2);
  const uint32_t nevents_ptr = call.u32(3);
  const GuestMemory& memory = call.memory();
  if (count == 0) return Errno::inval;  // as specified: nothing to wait for would wait forever
  if (!memory.contains(in, uint64_t{count} * layout::subscription_size) ||
      !memory.contains(out, uint64_t{count} * layout::event_size) ||
      !memory.contains(nevents_ptr, 4)) {
    return Errno::fault;
  }
  if (count > kMaxSubscriptions) return Errno::inval;

  const Clock::time_point start = Clock::now();
  std::vector<Subscription> subs(count);
  bool any_ready = false;
  std::optional<Clock::time_point> earliest;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t base = in + uint64_t{i} * layout::subscription_size;
    Subscription& sub = subs[i];
    sub.userdata = *memory.load<uint64_t>(base);
    const uint8_t tag = *memory.load<uint8_t>(base + layout::sub_tag);
    switch (tag) {
      case static_cast<uint8_t>(EventType::clock):
        sub.type = EventType::clock;
        read_clock(memory, base, start, sub);
        if (!sub.ready) earliest = earliest ? std::min(*earliest, sub.wake) : sub.wake;
        break;
      case static_cast<uint8_t>(EventType::fd_read):
      case static_cast<uint8_t>(EventType::fd_write):
        sub.type = static_cast<EventType>(tag);
        read_fd(call, *memory.load<uint32_t>(base + layout::sub_fd), sub);
        break;
      default:
        return Errno::inval;
    }
    any_ready = any_ready || sub.ready;
  }

  // Nothing ready yet: sleep until the earliest clock, in slices, watching the call's control.
  // Never past its deadline: when that comes first, the guest call ends with a timeout.
  if (!any_ready && earliest && Clock::now() < *earliest) {
    engine::ExecutionControl& control = call.caller().control();
    while (true) {
      if (auto stop = control.should_stop()) {
        call.trap = engine::Trap{
            *stop, *stop == engine::TrapKind::timeout ? "deadline exceeded" : "cancelled"};
        return Errno::success;
      }
      const Clock::time_point now = Clock::now();
      if (now >= *earliest) break;
      auto slice = std::min<Clock::duration>(*earliest - now, kSleepSlice);
      if (control.deadline() > now)
        slice = std::min<Clock::duration>(slice, control.deadline() - now);
      std::this_thread::sleep_for(slice);
    }
  }

  const Clock::time_point now = Clock::now();
  uint32_t events = 0;
  for (const Subscription& sub : subs) {
    const bool fired = sub.ready || (sub.type == EventType::clock && sub.wake <= now);
    if (!fired) continue;
    std::array<uint8_t, layout::event_size> event{};
    std::memcpy(event.data(), &sub.userdata, 8);
    const auto error = static_cast<uint16_t>(sub.error);
    std::memcpy(event.data() + layout::event_error, &error, 2);
    event[layout::event_type] = static_cast<uint8_t>(sub.type);
    if (sub.type != EventType::clock) {
      std::memcpy(event.data() + layout::event_nbytes, &sub.nbytes, 8);
      std::memcpy(event.data() + layout::event_flags, &sub.flags, 2);
    }
    memory.write(out + uint64_t{events} * layout::event_size,
                 std::span<const uint8_t>(event.data(), event.size()));
    ++events;
  }
  call.store<uint32_t>(nevents_ptr, events);
  return Errno::success;
}

}  // namespace reglet::runtime::wasi
