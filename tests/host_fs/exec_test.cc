// exec_run, called directly with a fake Caller, and the child-process helpers under it.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "host_fs/host_test_support.h"
#include "runtime/host/exec_child.h"
#include "runtime/host/fs_support.h"

namespace reglet::test {
namespace {

using nlohmann::json;
using runtime::host::base64_decode;
using runtime::host::base64_encode;
using runtime::host::exec_run;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Waits (bounded) for a file a child writes, and returns its content as a pid.
pid_t read_pid_file(const std::string& path) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(path);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// Restores an environment variable of the test process on destruction.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class ExecRun : public HostTest {
 protected:
  void SetUp() override {
    dir.mkdir("bin");
    dir.mkdir("work");
  }
  void make_executable(const std::string& relative, const std::string& content) {
    dir.write(relative, content);
    ASSERT_EQ(::chmod((dir / relative).c_str(), 0755), 0);
  }
  Result<json> sh(const std::string& script, json extra = json::object(),
                  std::chrono::milliseconds call_timeout = std::chrono::seconds(30)) {
    json request = {{"command", "/bin/sh"}, {"args", {"-c", script}}};
    for (auto& [key, value] : extra.items()) request[key] = value;
    return call(exec_run, request, call_timeout);
  }
};

TEST_F(ExecRun, RunsAGrantedProgram) {
  sandbox.grant("exec:/bin/echo");
  auto result = call(exec_run, {{"command", "/bin/echo"}, {"args", {"hello", "world"}}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const json& r = *result;
  EXPECT_EQ(r["exit_code"], 0);
  EXPECT_EQ(r["stdout"], "hello world\n");
  EXPECT_EQ(r["stderr"], "");
  EXPECT_EQ(r["timed_out"], false);
  EXPECT_EQ(r["truncated"], false);
  EXPECT_GE(r["duration_ms"].get<int64_t>(), 0);
  EXPECT_FALSE(r.contains("signal"));
  EXPECT_FALSE(r.contains("stdout_b64"));
  // /bin links to /usr/bin here; either way the resolved path is what was checked.
  auto resolved = resolve_executable("/bin/echo");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(sandbox.audited("exec:" + *resolved, "allow"), 1u);
}

TEST_F(ExecRun, ShellNeedsItsOwnGrant) {
  sandbox.grant("exec:/bin/echo");
  auto shell = resolve_executable("/bin/sh");
  ASSERT_TRUE(shell.ok());
  EXPECT_TRUE(IsError(sh("echo hi"), ErrorCode::capability_denied, "exec:" + *shell));
  EXPECT_EQ(sandbox.audited("exec:" + *shell, "deny"), 1u);

  sandbox.grant("exec:/bin/sh");
  auto result = sh("echo hi");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["stdout"], "hi\n");
}

TEST_F(ExecRun, ExitCodesStderrAndSignals) {
  sandbox.grant("exec:/bin/sh");
  auto failed = sh("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ((*failed)["exit_code"], 3);
  EXPECT_EQ((*failed)["stdout"], "out\n");
  EXPECT_EQ((*failed)["stderr"], "err\n");

  auto killed = sh("kill -TERM $$");
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ((*killed)["exit_code"], -1);
  EXPECT_EQ((*killed)["signal"], SIGTERM);
  EXPECT_EQ((*killed)["timed_out"], false);
}

TEST_F(ExecRun, BareNamesUseTheFixedSearchPathNeverPath) {
  // A fake uname first in the host's PATH must not be what runs.
  make_executable("bin/uname", "#!/bin/sh\necho fake-uname\n");
  ScopedEnv path("PATH", dir / "bin");
  auto real = resolve_executable("uname");
  ASSERT_TRUE(real.ok());
  EXPECT_NE(*real, dir / "bin/uname");

  EXPECT_TRUE(IsError(call(exec_run, {{"command", "uname"}}), ErrorCode::capability_denied,
                      "exec:" + *real));
  sandbox.grant("exec:uname");
  auto result = call(exec_run, {{"command", "uname"}, {"args", {"-s"}}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["stdout"], "Linux\n");
  EXPECT_EQ(sandbox.audited("exec:" + *real, "allow"), 1u);
  // Granting the fake one by its path does not change what the bare name means.
  sandbox.grant("exec:" + (dir / "bin/uname"));
  EXPECT_EQ((*call(exec_run, {{"command", "uname"}}))["stdout"], "Linux\n");
}

TEST_F(ExecRun, OneNameOfAMultiCallBinaryDoesNotGrantAnother) {
  auto echo = resolve_executable("/bin/echo");
  ASSERT_TRUE(echo.ok());
  dir.symlink(*echo, "bin/allowed");
  dir.symlink(*echo, "bin/other");
  sandbox.grant("exec:" + (dir / "bin/allowed"));
  sandbox.grant("exec:" + *echo);  // the binary itself, under its own name

  auto allowed = call(exec_run, {{"command", dir / "bin/allowed"}, {"args", {"ok"}}});
  ASSERT_TRUE(allowed.ok()) << allowed.error().to_string();
  EXPECT_EQ((*allowed)["stdout"], "ok\n");
  EXPECT_TRUE(IsError(call(exec_run, {{"command", dir / "bin/other"}}),
                      ErrorCode::capability_denied, "exec:" + (dir / "bin/other")));
}

TEST_F(ExecRun, Argv0IsTheNameAsked) {
  auto shell = resolve_executable("/bin/sh");
  ASSERT_TRUE(shell.ok());
  dir.symlink(*shell, "bin/myshell");
  sandbox.grant("exec:" + (dir / "bin/myshell"));
  auto result = call(exec_run, {{"command", dir / "bin/myshell"}, {"args", {"-c", "echo $0"}}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["stdout"], (dir / "bin/myshell") + "\n");
}

TEST_F(ExecRun, SymlinkedDirectoryIsResolvedForTheCheck) {
  auto echo = resolve_executable("/bin/echo");
  ASSERT_TRUE(echo.ok());
  dir.symlink(*echo, "bin/tool");
  dir.symlink(dir / "bin", "work/linked-bin");
  sandbox.grant("exec:" + (dir / "bin/tool"));
  auto result = call(exec_run, {{"command", dir / "work/linked-bin/tool"}, {"args", {"x"}}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(sandbox.audited("exec:" + (dir / "bin/tool"), "allow"), 1u);
  // And a granted-looking path through a link to somewhere else is checked where it lands.
  sandbox.grant("exec:" + (dir / "work/**"));
  dir.symlink(dir / "bin", "work/escape");
  dir.symlink(*echo, "bin/ungranted");
  EXPECT_TRUE(IsError(call(exec_run, {{"command", dir / "work/escape/ungranted"}}),
                      ErrorCode::capability_denied, "exec:" + (dir / "bin/ungranted")));
}

TEST_F(ExecRun, ScriptsWithAnInterpreterRun) {
  make_executable("bin/script", "#!/bin/sh\necho script ran with \"$1\"\n");
  sandbox.grant("exec:" + (dir / "bin/script"));
  auto result = call(exec_run, {{"command", dir / "bin/script"}, {"args", {"arg"}}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["stdout"], "script ran with arg\n");
}

TEST_F(ExecRun, UnexecutableFilesAreIoErrors) {
  make_executable("bin/garbage", "\x01\x02\x03 not a program");
  sandbox.grant("exec:" + (dir / "bin/**"));
  EXPECT_TRUE(IsError(call(exec_run, {{"command", dir / "bin/garbage"}}), ErrorCode::io_error,
                      "cannot execute"));
  dir.write("bin/not-executable", "#!/bin/sh\n");
  EXPECT_TRUE(IsError(call(exec_run, {{"command", dir / "bin/not-executable"}}),
                      ErrorCode::invalid_argument, "not executable"));
}

TEST_F(ExecRun, MissingCommands) {
  EXPECT_TRUE(IsError(call(exec_run, {{"command", "reglet-no-such-program"}}), ErrorCode::not_found,
                      "not found"));
  // Outside the grants, an absolute path is denied without telling whether it exists.
  auto absent = call(exec_run, {{"command", dir / "bin/absent"}});
  EXPECT_TRUE(IsError(absent, ErrorCode::capability_denied, "is not granted"));
  make_executable("bin/present", "#!/bin/sh\n");
  auto present = call(exec_run, {{"command", dir / "bin/present"}});
  ASSERT_FALSE(present.ok());
  EXPECT_EQ(present.error().message,
            std::string(absent.error().message)
                .replace(absent.error().message.find("absent"), 6, "present"));
  // Inside them, the truth.
  sandbox.grant("exec:" + (dir / "bin/**"));
  EXPECT_TRUE(IsError(call(exec_run, {{"command", dir / "bin/absent"}}), ErrorCode::not_found));
}

TEST_F(ExecRun, EnvironmentIsEmptyUnlessGrantedVariablesArePassed) {
  ScopedEnv host_secret("REGLET_HOSTFS_SECRET", "host-only");
  sandbox.grant("exec:/usr/bin/env");
  auto empty = call(exec_run, {{"command", "/usr/bin/env"}});
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_EQ((*empty)["stdout"], "");

  EXPECT_TRUE(IsError(call(exec_run, {{"command", "/usr/bin/env"}, {"env", {{"GREETING", "hi"}}}}),
                      ErrorCode::capability_denied, "env:GREETING"));
  EXPECT_EQ(sandbox.audited("env:GREETING", "deny"), 1u);
  // The value, possibly a credential, is not written to the audit log.
  for (const auto& entry : sandbox.audit()) {
    EXPECT_EQ(entry.dump().find("\"hi\""), std::string::npos) << entry.dump();
  }

  sandbox.grant("env:GREETING");
  auto passed = call(exec_run, {{"command", "/usr/bin/env"}, {"env", {{"GREETING", "hi"}}}});
  ASSERT_TRUE(passed.ok());
  EXPECT_EQ((*passed)["stdout"], "GREETING=hi\n");
  // One ungranted variable among granted ones still denies the call.
  EXPECT_TRUE(IsError(call(exec_run, {{"command", "/usr/bin/env"},
                                      {"env", {{"GREETING", "hi"}, {"PATH", "/tmp"}}}}),
                      ErrorCode::capability_denied, "env:PATH"));
}

TEST_F(ExecRun, WorkingDirectoryNeedsReadGrant) {
  sandbox.grant("exec:/bin/pwd");
  auto root = call(exec_run, {{"command", "/bin/pwd"}, {"args", {"-P"}}});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ((*root)["stdout"], "/\n");  // never the host's working directory

  EXPECT_TRUE(IsError(call(exec_run, {{"command", "/bin/pwd"}, {"dir", dir / "work"}}),
                      ErrorCode::capability_denied, "fs:read:" + (dir / "work")));
  sandbox.grant("fs:read:" + (dir / "work"));
  auto in_dir = call(exec_run, {{"command", "/bin/pwd"}, {"args", {"-P"}}, {"dir", dir / "work"}});
  ASSERT_TRUE(in_dir.ok()) << in_dir.error().to_string();
  EXPECT_EQ((*in_dir)["stdout"], (dir / "work") + "\n");

  dir.write("work/file", "");
  sandbox.grant("fs:read:" + (dir / "work/**"));
  EXPECT_TRUE(IsError(call(exec_run, {{"command", "/bin/pwd"}, {"dir", dir / "work/file"}}),
                      ErrorCode::invalid_argument, "not a directory"));
  EXPECT_TRUE(IsError(call(exec_run, {{"command", "/bin/pwd"}, {"dir", dir / "work/missing"}}),
                      ErrorCode::not_found));
  // A link out of the granted directory is checked where it lands.
  dir.symlink(dir / "bin", "work/out");
  EXPECT_TRUE(IsError(call(exec_run, {{"command", "/bin/pwd"}, {"dir", dir / "work/out"}}),
                      ErrorCode::capability_denied, "fs:read:" + (dir / "bin")));
}

TEST_F(ExecRun, StdinFromTheRequestOrDevNull) {
  sandbox.grant("exec:/bin/cat");
  auto fed =
      call(exec_run, {{"command", "/bin/cat"}, {"stdin_b64", base64_encode("line 1\nline 2\n")}});
  ASSERT_TRUE(fed.ok()) << fed.error().to_string();
  EXPECT_EQ((*fed)["stdout"], "line 1\nline 2\n");
  const auto start = Clock::now();
  auto none = call(exec_run, {{"command", "/bin/cat"}});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)["stdout"], "");
  EXPECT_LT(since(start), std::chrono::seconds(5));
}

TEST_F(ExecRun, NonUtf8OutputAlsoComesAsBase64) {
  sandbox.grant("exec:/bin/sh");
  auto result = sh("printf 'ok\\377\\376'");
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(result->contains("stdout_b64"));
  EXPECT_EQ(*base64_decode((*result)["stdout_b64"].get<std::string>()), "ok\xff\xfe");
  EXPECT_FALSE(result->contains("stderr_b64"));
}

TEST_F(ExecRun, HangingChildTimesOutAndIsGone) {
  sandbox.grant("exec:/bin/sh");
  const std::string pid_file = dir / "work/pid";
  const auto start = Clock::now();
  auto result = sh("echo $$ > " + pid_file + "; exec /bin/sleep 100", {{"timeout_ms", 200}});
  const auto elapsed = since(start);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["timed_out"], true);
  EXPECT_EQ((*result)["exit_code"], -1);
  EXPECT_EQ((*result)["signal"], SIGKILL);
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000)) << elapsed.count() << " ms";
  const pid_t pid = read_pid_file(pid_file);
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(group_alive(pid));
  // Reaped by the host, not left as a zombie.
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(ExecRun, CallDeadlineIsATimeoutErrorAndKillsTheGroup) {
  sandbox.grant("exec:/bin/sh");
  const std::string pid_file = dir / "work/pid";
  const auto start = Clock::now();
  auto result = sh("echo $$ > " + pid_file + "; /bin/sleep 100 & wait", {{"timeout_ms", 60000}},
                   std::chrono::milliseconds(300));
  const auto elapsed = since(start);
  EXPECT_TRUE(IsError(result, ErrorCode::timeout, "deadline"));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500)) << elapsed.count() << " ms";
  const pid_t pid = read_pid_file(pid_file);
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(group_alive(pid));
}

TEST_F(ExecRun, CancellationStopsTheCommand) {
  sandbox.grant("exec:/bin/sleep");
  auto context = sandbox.make_context();
  FakeCaller caller(*context);
  std::thread canceller([&caller] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    caller.control().cancel();
  });
  const auto start = Clock::now();
  auto result = exec_run(*context, caller, {{"command", "/bin/sleep"}, {"args", {"100"}}});
  canceller.join();
  EXPECT_TRUE(IsError(result, ErrorCode::cancelled));
  EXPECT_LT(since(start), std::chrono::milliseconds(1500));
}

// VmHWM/VmRSS of this process in KiB (0 when /proc does not say).
long memory_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field) + 1);
  }
  return 0;
}

TEST_F(ExecRun, FloodIsTruncatedAndDrained) {
  sandbox.grant("exec:/bin/sh");
  // Reset the peak, so that VmHWM afterwards is the peak of this call.
  const bool peak_reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
  const long baseline = memory_kib("VmRSS:");
  const auto start = Clock::now();
  auto result = sh("/usr/bin/yes | /usr/bin/head -c 50000000; echo done >&2");
  if (peak_reset && baseline > 0) {
    // 50 MB went through; what is kept is 1 MiB (plus its copies in the response).
    EXPECT_LT(memory_kib("VmHWM:") - baseline, 24 * 1024) << "peak grew by more than 24 MiB";
  }
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["exit_code"], 0);  // drained to the end, not killed
  EXPECT_EQ((*result)["truncated"], true);
  EXPECT_EQ((*result)["stdout_truncated"], true);
  EXPECT_EQ((*result)["stderr_truncated"], false);
  EXPECT_EQ((*result)["stdout"].get<std::string>().size(), 1u << 20);
  EXPECT_EQ((*result)["stderr"], "done\n");
  EXPECT_LT(since(start), std::chrono::seconds(20));
}

TEST_F(ExecRun, EndlessFloodStopsAtTheTimeout) {
  sandbox.grant("exec:/usr/bin/yes");
  auto result = call(exec_run, {{"command", "/usr/bin/yes"}, {"timeout_ms", 300}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["timed_out"], true);
  EXPECT_EQ((*result)["truncated"], true);
  EXPECT_EQ((*result)["stdout"].get<std::string>().size(), 1u << 20);
}

TEST_F(ExecRun, BackgroundGrandchildHoldingThePipeDoesNotDelayTheResult) {
  sandbox.grant("exec:/bin/sh");
  const auto start = Clock::now();
  auto result = sh("/bin/sleep 100 & echo $!");
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_LT(since(start), std::chrono::seconds(2));
  EXPECT_EQ((*result)["exit_code"], 0);
  const pid_t grandchild = std::atoi((*result)["stdout"].get<std::string>().c_str());
  ASSERT_GT(grandchild, 0);
  // Killed with the group; it is the init process's to reap, so allow it a moment.
  for (int i = 0; i < 100 && process_alive(grandchild); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(process_alive(grandchild));
}

TEST_F(ExecRun, GrandchildThatLeftTheGroupDoesNotHangTheCall) {
  if (::access("/usr/bin/setsid", X_OK) != 0) GTEST_SKIP() << "no setsid";
  sandbox.grant("exec:/bin/sh");
  const std::string pid_file = dir / "work/escaped";
  const auto start = Clock::now();
  // The outer shell waits until the escape has happened (the pid file is written after setsid),
  // so that the group kill at its exit cannot catch the process before it left.
  auto result = sh("/usr/bin/setsid /bin/sh -c 'echo $$ > " + pid_file +
                   "; exec /bin/sleep 100' </dev/null & while [ ! -s " + pid_file +
                   " ]; do /bin/sleep 0.01; done; echo started");
  const auto elapsed = since(start);
  const pid_t escaped = read_pid_file(pid_file);
  const bool escaped_alive = escaped > 0 && process_alive(escaped);
  if (escaped > 0) ::kill(escaped, SIGKILL);  // the host cannot; the test cleans up
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["stdout"], "started\n");
  EXPECT_TRUE(escaped_alive) << "the grandchild did not leave the group; nothing was tested";
  // The escaped process still holds stdout: the result waits the linger time (200 ms), no longer.
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::seconds(2)) << elapsed.count() << " ms";
}

TEST_F(ExecRun, ChildThatClosesItsOutputIsStillWaitedFor) {
  sandbox.grant("exec:/bin/sh");
  const auto start = Clock::now();
  auto result = sh("exec >&- 2>&-; /bin/sleep 0.3; exit 4");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)["exit_code"], 4);
  EXPECT_GE(since(start), std::chrono::milliseconds(300));
}

TEST_F(ExecRun, HostDescriptorsAreNotInherited) {
  sandbox.grant("exec:/bin/sh");
  // A descriptor the host opened without O_CLOEXEC.
  const int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 0);
  auto result = sh("ls /proc/self/fd");
  ::close(leaked);
  ASSERT_TRUE(result.ok());
  // 0, 1, 2, and the descriptor ls itself opens to list the directory.
  std::string listing = (*result)["stdout"];
  EXPECT_EQ(listing, "0\n1\n2\n3\n");
}

TEST_F(ExecRun, BadArguments) {
  sandbox.grant("exec:/bin/echo");
  auto bad = [this](json request) { return call(exec_run, request); };
  EXPECT_TRUE(IsError(bad(json::object()), ErrorCode::invalid_argument, "'command' is required"));
  EXPECT_TRUE(IsError(bad({{"command", 1}}), ErrorCode::invalid_argument, "must be a string"));
  EXPECT_TRUE(IsError(bad({{"command", ""}}), ErrorCode::invalid_argument, "empty"));
  EXPECT_TRUE(IsError(bad({{"command", "bin/echo"}}), ErrorCode::invalid_argument, "relative"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/"}}), ErrorCode::invalid_argument, "directory"));
  EXPECT_TRUE(IsError(bad({{"command", std::string("/bin/echo\0x", 11)}}),
                      ErrorCode::invalid_argument, "NUL"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"args", "hello"}}),
                      ErrorCode::invalid_argument, "'args' must be an array"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"args", {"a", 2}}}),
                      ErrorCode::invalid_argument, "'args[1]' must be a string"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"args", {std::string("a\0b", 3)}}}),
                      ErrorCode::invalid_argument, "NUL"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"env", json::array()}}),
                      ErrorCode::invalid_argument, "'env' must be an object"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"env", {{"A", 1}}}}),
                      ErrorCode::invalid_argument, "'env.A' must be a string"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"env", {{"A=B", "x"}}}}),
                      ErrorCode::invalid_argument, "'='"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"env", {{"", "x"}}}}),
                      ErrorCode::invalid_argument, "empty"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"dir", "work"}}), ErrorCode::invalid_argument,
                      "absolute"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"stdin_b64", "%%"}}),
                      ErrorCode::invalid_argument, "base64"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"timeout_ms", -5}}),
                      ErrorCode::invalid_argument, "'timeout_ms'"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"timeout_ms", "100"}}),
                      ErrorCode::invalid_argument, "'timeout_ms'"));
  EXPECT_TRUE(IsError(bad({{"command", "/bin/echo"}, {"context", 5}}), ErrorCode::invalid_argument,
                      "'context'"));
  EXPECT_TRUE(sandbox.audit().empty());
}

TEST_F(ExecRun, ContextTimeoutBoundsTheCommand) {
  sandbox.grant("exec:/bin/sleep");
  auto result = call(exec_run, {{"command", "/bin/sleep"},
                                {"args", {"100"}},
                                {"context", {{"timeout_ms", 100}, {"request_id", "r1"}}}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ((*result)["timed_out"], true);
}

TEST_F(ExecRun, PastTheDeadlineNothingIsStarted) {
  sandbox.grant("exec:/bin/sh");
  const std::string marker = dir / "work/ran";
  EXPECT_TRUE(IsError(sh("touch " + marker, {}, std::chrono::milliseconds(0)), ErrorCode::timeout));
  EXPECT_FALSE(dir.exists("work/ran"));
}

// ---------------------------------------------------------------------------------------------
// The helpers under exec_run.

using runtime::host::Child;
using runtime::host::run_process;
using runtime::host::RunLimits;
using runtime::host::RunOutcome;
using runtime::host::SpawnSpec;

SpawnSpec spec_for(const std::string& path, std::vector<std::string> args) {
  SpawnSpec spec;
  spec.path = path;
  spec.argv.push_back(path);
  for (auto& arg : args) spec.argv.push_back(std::move(arg));
  return spec;
}

TEST(ChildProcess, DestructorKillsAndReaps) {
  pid_t pid = -1;
  {
    auto child = Child::spawn(spec_for("/bin/sleep", {"100"}), 0, 1, 2, 2);
    ASSERT_TRUE(child.ok()) << child.error().to_string();
    pid = child->pid();
    EXPECT_TRUE(process_alive(pid));
    EXPECT_FALSE(child->has_exited());
  }
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);  // already reaped
  EXPECT_EQ(errno, ECHILD);
  EXPECT_FALSE(process_alive(pid));
}

TEST(ChildProcess, MovedChildIsOwnedOnce) {
  auto child = Child::spawn(spec_for("/bin/true", {}), 0, 1, 2, 2);
  ASSERT_TRUE(child.ok());
  Child moved = std::move(*child);
  EXPECT_TRUE(child->reaped());  // the moved-from object owns nothing
  const int status = moved.reap();
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RunProcess, OwnDeadlineAndOutputLimit) {
  RunLimits limits;
  limits.own_deadline = Clock::now() + std::chrono::milliseconds(150);
  limits.max_output_bytes = 10;
  const auto start = Clock::now();
  auto outcome = run_process(spec_for("/usr/bin/yes", {"abc"}), "", limits);
  ASSERT_TRUE(outcome.ok()) << outcome.error().to_string();
  EXPECT_EQ(outcome->end, RunOutcome::End::timed_out);
  EXPECT_EQ(outcome->out, "abc\nabc\nab");
  EXPECT_TRUE(outcome->out_truncated);
  EXPECT_EQ(outcome->signal, SIGKILL);
  EXPECT_LT(since(start), std::chrono::milliseconds(1000));
  EXPECT_FALSE(process_alive(outcome->pid));
}

TEST(RunProcess, StdinIsSealed) {
  // The command cannot write into its own stdin buffer.
  auto outcome =
      run_process(spec_for("/bin/sh", {"-c", "echo x >&0 && echo wrote || echo refused"}), "input",
                  RunLimits{});
  ASSERT_TRUE(outcome.ok());
  EXPECT_NE(outcome->out, "wrote\n");
}

TEST(RunProcess, ExecFailureIsAnError) {
  auto outcome = run_process(spec_for("/nonexistent/program", {}), "", RunLimits{});
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, ErrorCode::io_error);
  EXPECT_NE(outcome.error().message.find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace reglet::test
