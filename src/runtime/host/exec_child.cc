#include "runtime/host/exec_child.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace reglet::runtime::host {
namespace {

using Clock = std::chrono::steady_clock;

// Descriptors the child needs until execve are parked at these numbers (after stdin, stdout and
// stderr), close-on-exec, and everything from kFirstClosed on is closed.
constexpr int kReportFd = 3;
constexpr int kExecDirFd = 4;
constexpr int kFirstClosed = 5;
// Where the child first moves its descriptors, so that the dup2s into 0..4 cannot clobber one
// another whatever numbers the parent's descriptors had.
constexpr int kParkingFloor = 10;
// Without close_range (Linux < 5.9) the child closes descriptors one by one up to the limit;
// this bounds that loop when RLIMIT_NOFILE is huge.
constexpr int kMaxCloseLoop = 1 << 16;

// How often the collection loop wakes without any event, to look at cancellation (which has no
// descriptor to poll).
constexpr std::chrono::milliseconds kTick{50};
// Reads per stream per wake-up: a flooding child cannot keep the loop from its deadline checks.
constexpr int kReadsPerWake = 16;
constexpr size_t kReadBuffer = 64 * 1024;

// Everything the child needs, prepared before fork: after fork in a multithreaded process only
// async-signal-safe calls are allowed, so no allocation happens in the child.
struct ChildPlan {
  const char* path = nullptr;
  const char* name = nullptr;  // final component of path, for execveat
  int exec_dir = -1;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int cwd = -1;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1, report = -1;
  pid_t parent = -1;
  int close_limit = 1024;
};

[[noreturn]] void child_fail(int report, int error) {
  // Nothing else can be done in the child if the report cannot be written; the exit status (127)
  // and a missing report then read as an exec failure of unknown cause.
  [[maybe_unused]] const ssize_t ignored = ::write(report, &error, sizeof error);
  ::_exit(127);
}

[[noreturn]] void child_main(const ChildPlan& plan) {
  int report = plan.report;
  // Dispositions back to default (an ignored SIGPIPE or SIGINT of the host must not leak into
  // the command; handlers would be reset by execve anyway, ignored signals would not).
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &default_action, nullptr);  // fails harmlessly for reserved signals
  }
  if (::setpgid(0, 0) != 0) child_fail(report, errno);
  // If the host dies, so does the command (its thread is waiting on it otherwise).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != plan.parent) ::_exit(127);

  // Before the descriptor shuffle below, which may reuse the number of plan.cwd.
  if (plan.cwd >= 0 ? ::fchdir(plan.cwd) != 0 : ::chdir("/") != 0) child_fail(report, errno);

  const int stdin_fd = ::fcntl(plan.stdin_fd, F_DUPFD_CLOEXEC, kParkingFloor);
  const int stdout_fd = ::fcntl(plan.stdout_fd, F_DUPFD_CLOEXEC, kParkingFloor);
  const int stderr_fd = ::fcntl(plan.stderr_fd, F_DUPFD_CLOEXEC, kParkingFloor);
  const int parked_report = ::fcntl(report, F_DUPFD_CLOEXEC, kParkingFloor);
  const int exec_dir =
      plan.exec_dir >= 0 ? ::fcntl(plan.exec_dir, F_DUPFD_CLOEXEC, kParkingFloor) : -1;
  if (stdin_fd < 0 || stdout_fd < 0 || stderr_fd < 0 || parked_report < 0 ||
      (plan.exec_dir >= 0 && exec_dir < 0)) {
    child_fail(report, errno);
  }
  if (::dup3(parked_report, kReportFd, O_CLOEXEC) < 0) child_fail(report, errno);
  report = kReportFd;
  if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
    child_fail(report, errno);
  }
  if (exec_dir >= 0 && ::dup3(exec_dir, kExecDirFd, O_CLOEXEC) < 0) child_fail(report, errno);

  // Whatever else the host process has open (other plugins' sockets, files opened by threads
  // without O_CLOEXEC) is none of the command's business.
  if (::syscall(SYS_close_range, kFirstClosed, ~0U, 0) != 0) {
    for (int fd = kFirstClosed; fd < plan.close_limit; ++fd) ::close(fd);
  }

  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (exec_dir >= 0) {
    // Relative to the pinned directory: the directory executed from is the one checked.
    ::syscall(SYS_execveat, kExecDirFd, plan.name, plan.argv, plan.envp, 0);
    // ENOENT here also means a script (#!): the kernel cannot hand the interpreter a path through
    // a close-on-exec directory descriptor. An interpreter reopens a script by path anyway, so
    // executing it by its (checked, canonical-directory) path loses nothing.
    if (errno != ENOENT) child_fail(report, errno);
  }
  ::execve(plan.path, plan.argv, plan.envp);
  child_fail(report, errno);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

Error os_error(std::string what, int error) {
  return make_error(ErrorCode::io_error, std::move(what) + ": " + std::strerror(error));
}

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe(bool nonblocking_read) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return os_error("cannot create a pipe", errno);
  Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  // Only the host's end is non-blocking: the flag belongs to the open file description, and the
  // command must see an ordinary blocking pipe.
  if (nonblocking_read) {
    const int flags = ::fcntl(pipe.read.get(), F_GETFL);
    if (flags < 0 || ::fcntl(pipe.read.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
      return os_error("cannot configure a pipe", errno);
    }
  }
  return pipe;
}

// stdin as a sealed in-memory file: no writer thread, no SIGPIPE when the command does not read
// it, and the command cannot change it.
Result<UniqueFd> make_stdin(std::string_view data) {
  if (data.empty()) {
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null) return os_error("cannot open /dev/null", errno);
    return null;
  }
  UniqueFd memory(static_cast<int>(
      ::syscall(SYS_memfd_create, "reglet-exec-stdin", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  if (!memory) return os_error("cannot create the stdin buffer", errno);
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(memory.get(), data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot fill the stdin buffer", errno);
    }
    written += static_cast<size_t>(n);
  }
  if (::lseek(memory.get(), 0, SEEK_SET) != 0) return os_error("cannot rewind stdin", errno);
  // Best effort: without seals the command could only scribble on its own input.
  ::fcntl(memory.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  return memory;
}

// One output stream of the child.
struct Stream {
  UniqueFd fd;
  std::string data;
  bool truncated = false;

  // Reads what is available (bounded per call); closes the descriptor at end of file.
  void drain(size_t max_bytes, std::vector<char>& buffer) {
    for (int i = 0; i < kReadsPerWake && fd; ++i) {
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) fd.reset();  // an unreadable pipe is as good as closed
        return;
      }
      if (n == 0) {
        fd.reset();
        return;
      }
      const size_t room = max_bytes - std::min(max_bytes, data.size());
      const size_t kept = std::min(room, static_cast<size_t>(n));
      data.append(buffer.data(), kept);
      if (kept < static_cast<size_t>(n)) truncated = true;
    }
  }
};

int poll_timeout_ms(Clock::duration wait) {
  if (wait <= Clock::duration::zero()) return 0;
  // Rounded up: waking a little before the deadline would only spin.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::min<int64_t>(ms, kTick.count()));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Child

Child::~Child() {
  if (!reaped_) {
    kill_group();
    reap();
  }
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      reaped_(std::exchange(other.reaped_, true)),
      status_(other.status_),
      pidfd_(std::move(other.pidfd_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    if (!reaped_) {
      kill_group();
      reap();
    }
    pid_ = std::exchange(other.pid_, -1);
    reaped_ = std::exchange(other.reaped_, true);
    status_ = other.status_;
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

Result<Child> Child::spawn(const SpawnSpec& spec, int stdin_fd, int stdout_fd, int stderr_fd,
                           int report) {
  if (spec.path.empty() || spec.path.front() != '/' || spec.argv.empty()) {
    return make_error(ErrorCode::internal, "spawn: path must be absolute and argv non-empty");
  }
  std::vector<char*> argv = c_strings(spec.argv);
  std::vector<char*> envp = c_strings(spec.env);
  ChildPlan plan;
  plan.path = spec.path.c_str();
  plan.name = spec.path.c_str() + spec.path.rfind('/') + 1;
  plan.exec_dir = spec.exec_dir;
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = spec.cwd;
  plan.stdin_fd = stdin_fd;
  plan.stdout_fd = stdout_fd;
  plan.stderr_fd = stderr_fd;
  plan.report = report;
  plan.parent = ::getpid();
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    plan.close_limit = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, kMaxCloseLoop));
  } else {
    plan.close_limit = kMaxCloseLoop;
  }

  // All signals blocked across fork, so that no handler of the host runs in the child before it
  // has reset the dispositions; the child unblocks them just before execve.
  sigset_t all, previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::fork();
  if (pid == 0) child_main(plan);
  const int fork_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return os_error("cannot start a process", fork_error);

  Child child;
  child.pid_ = pid;
  child.reaped_ = false;
  // Also done by the child; doing it here too means the group exists before spawn returns, so
  // that kill_group reaches it even if the child has not run yet. EACCES (the child already
  // exec'd) and ESRCH are harmless.
  ::setpgid(pid, pid);
  child.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return child;
}

bool Child::has_exited() {
  if (reaped_) return true;
  siginfo_t info{};
  while (true) {
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
      return info.si_pid != 0;
    }
    if (errno == EINTR) continue;
    // ECHILD: someone else reaped it (SIGCHLD ignored by the host process).
    reaped_ = true;
    status_ = -1;
    return true;
  }
}

void Child::kill_group() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
}

int Child::reap() {
  if (reaped_) return status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno == EINTR) continue;
    status = -1;  // ECHILD: reaped elsewhere
    break;
  }
  reaped_ = true;
  status_ = status;
  pidfd_.reset();
  return status_;
}

// ---------------------------------------------------------------------------------------------
// run_process

Result<RunOutcome> run_process(const SpawnSpec& spec, std::string_view stdin_data,
                               const RunLimits& limits) {
  auto input = make_stdin(stdin_data);
  if (!input.ok()) return input.error();
  auto out_pipe = make_pipe(true);
  if (!out_pipe.ok()) return out_pipe.error();
  auto err_pipe = make_pipe(true);
  if (!err_pipe.ok()) return err_pipe.error();
  auto report_pipe = make_pipe(true);
  if (!report_pipe.ok()) return report_pipe.error();

  const Clock::time_point start = Clock::now();
  auto spawned = Child::spawn(spec, input->get(), out_pipe->write.get(), err_pipe->write.get(),
                              report_pipe->write.get());
  if (!spawned.ok()) return spawned.error();
  Child child = std::move(*spawned);
  // The host keeps only the read ends: end of file then means every writer is gone.
  input->reset();
  out_pipe->write.reset();
  err_pipe->write.reset();
  report_pipe->write.reset();

  Stream out, err, report;
  out.fd = std::move(out_pipe->read);
  err.fd = std::move(err_pipe->read);
  report.fd = std::move(report_pipe->read);
  std::vector<char> buffer(kReadBuffer);
  RunOutcome outcome;
  outcome.pid = child.pid();
  const auto call_deadline = limits.control ? limits.control->deadline() : Clock::time_point::max();
  bool exited = false;
  Clock::time_point linger_until = Clock::time_point::max();

  while (true) {
    if (!exited && child.has_exited()) {
      exited = true;
      // The command is done; whatever it left running in its group goes with it.
      child.kill_group();
      // The result is known now; the call's deadline only shortens the wait for the pipes.
      linger_until = std::min(Clock::now() + limits.linger, call_deadline);
    }
    if (exited && !out.fd && !err.fd && !report.fd) break;
    const auto now = Clock::now();
    if (exited && now >= linger_until) break;  // pipes held by a process that left the group
    if (!exited && limits.control) {
      if (auto reason = limits.control->should_stop()) {
        outcome.end = *reason == engine::TrapKind::cancelled ? RunOutcome::End::cancelled
                                                             : RunOutcome::End::call_timeout;
        break;
      }
    }
    if (!exited && now >= limits.own_deadline) {
      outcome.end = RunOutcome::End::timed_out;
      break;
    }

    Clock::time_point wake = std::min({now + kTick, call_deadline, limits.own_deadline});
    if (exited) wake = std::min(wake, linger_until);
    std::array<pollfd, 4> fds{};
    std::array<Stream*, 4> streams{};
    nfds_t count = 0;
    for (Stream* stream : {&out, &err, &report}) {
      if (!stream->fd) continue;
      fds[count] = {stream->fd.get(), POLLIN, 0};
      streams[count++] = stream;
    }
    if (!exited && child.pidfd() >= 0) {
      fds[count++] = {child.pidfd(), POLLIN, 0};
    } else if (!exited && count == 0) {
      // Nothing can wake us when the child exits (no pidfd, pipes closed): look again soon.
      wake = std::min(wake, now + std::chrono::milliseconds(5));
    }
    const int ready = ::poll(fds.data(), count, poll_timeout_ms(wake - now));
    if (ready < 0 && errno != EINTR) return os_error("poll failed", errno);
    for (nfds_t i = 0; i < count && ready > 0; ++i) {
      if (streams[i] != nullptr && fds[i].revents != 0) {
        streams[i]->drain(streams[i] == &report ? sizeof(int) : limits.max_output_bytes, buffer);
      }
    }
  }

  // Timed out, cancelled, or lingering ended: the group goes, and the child is reaped here rather
  // than by the destructor, for its status.
  child.kill_group();
  const int status = child.reap();
  outcome.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);

  // An exec failure reports its errno before the child exits, so it is in the pipe by now.
  report.drain(sizeof(int), buffer);
  if (report.data.size() == sizeof(int)) {
    int error = 0;
    std::memcpy(&error, report.data.data(), sizeof error);
    return make_error(ErrorCode::io_error,
                      "cannot execute '" + spec.path + "': " + std::strerror(error));
  }

  if (status != -1 && WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (status != -1 && WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  outcome.out = std::move(out.data);
  outcome.err = std::move(err.data);
  outcome.out_truncated = out.truncated;
  outcome.err_truncated = err.truncated;
  return outcome;
}

}  // namespace reglet::runtime::host
