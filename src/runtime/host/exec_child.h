// Child processes of exec_run: spawning without a shell, in a new process group, with a clean
// descriptor table and signal state; collecting bounded output under a deadline; and making sure
// that no process of the group and no zombie outlives the call.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "reglet/error.h"
#include "runtime/util/unique_fd.h"

namespace reglet::runtime::host {

// What to run. `path` is the checked executable (absolute, canonical directory, final name as
// requested); `exec_dir` is an O_PATH descriptor of its directory, opened without following
// symlinks, so that the directory executed from is the one that was checked.
struct SpawnSpec {
  std::string path;
  int exec_dir = -1;
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"
  int cwd = -1;                   // directory to run in (an O_PATH descriptor), or -1 for "/"
};

// A child process, leader of its own process group. The destructor kills the whole group
// (SIGKILL) and reaps the child, so that every way out of a handler — an error, a timeout, an
// exception — leaves neither a running process of the group nor a zombie behind.
class Child {
 public:
  Child() = default;
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Forks and executes `spec` with the given standard descriptors. An exec failure is reported
  // through `report` (the write end of a close-on-exec pipe: the errno as an int), after which the
  // child exits with 127.
  static Result<Child> spawn(const SpawnSpec& spec, int stdin_fd, int stdout_fd, int stderr_fd,
                             int report);

  pid_t pid() const { return pid_; }
  bool reaped() const { return reaped_; }
  // A pidfd (Linux 5.3+) that becomes readable when the child exits; -1 when unavailable.
  int pidfd() const { return pidfd_.get(); }

  // Whether the child has exited, without reaping it: the zombie keeps its pid (which is also the
  // group's id) from being reused while the rest of the group is being killed.
  bool has_exited();
  // SIGKILL to the whole process group, and to the child itself in case it left the group.
  // Nothing once the child is reaped (its pid may belong to someone else by then).
  void kill_group();
  // Waits for the child and returns its wait status (-1 when it was reaped by someone else, e.g.
  // with SIGCHLD ignored).
  int reap();

 private:
  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = -1;
  UniqueFd pidfd_;
};

struct RunLimits {
  // Deadline and cancellation of the guest call.
  const engine::ExecutionControl* control = nullptr;
  // The command's own deadline (timeout_ms); time_point::max() when it has none.
  std::chrono::steady_clock::time_point own_deadline = std::chrono::steady_clock::time_point::max();
  // Bytes kept per stream; the rest is read and discarded, so that the child never blocks on a
  // full pipe.
  size_t max_output_bytes = 1u << 20;
  // After the child exits (and its group is killed), how long pipes held open by a process that
  // escaped the group (setsid) may delay the result.
  std::chrono::milliseconds linger{200};
};

struct RunOutcome {
  enum class End {
    exited,        // exited or was killed by a signal on its own; see exit_code / signal
    timed_out,     // the own deadline passed; the group was killed
    call_timeout,  // the guest call's deadline passed; the group was killed
    cancelled,     // the guest call was cancelled; the group was killed
  };
  End end = End::exited;
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, if any
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
  std::chrono::milliseconds duration{0};
  pid_t pid = -1;  // for tests: the (now reaped) child, also the id of its process group
};

// Runs `spec` to completion under `limits`: stdin from `stdin_data` (a sealed memfd; /dev/null
// when empty), stdout and stderr through pipes read with poll(). Returns an error only when the
// process could not be started (including an exec failure such as ENOEXEC); every way a started
// process ends is a RunOutcome, after the child is reaped.
Result<RunOutcome> run_process(const SpawnSpec& spec, std::string_view stdin_data,
                               const RunLimits& limits);

}  // namespace reglet::runtime::host
