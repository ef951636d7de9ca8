#include "plugins_e2e/e2e_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

extern char** environ;

namespace reglet::e2e {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail_setup(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// The test's own environment with `extra` on top, as NAME=VALUE strings.
std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string text = *entry;
    const size_t eq = text.find('=');
    if (eq != std::string::npos) merged[text.substr(0, eq)] = text.substr(eq + 1);
  }
  for (const auto& [name, value] : extra) merged[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : merged) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

json RunResult::json_out() const {
  return json::parse(out, nullptr, false);
}

std::string RunResult::describe() const {
  std::ostringstream text;
  text << "exit " << exit_code << (timed_out ? " (killed at the time limit)" : "")
       << "\nstdout: " << out << "\nstderr: " << err;
  return text.str();
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env) {
  // Everything the child needs is built before fork: the test process has server threads, and
  // after fork only async-signal-safe calls are allowed in the child.
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = environment_with(env);
  std::vector<char*> arg_ptrs = pointers(args);
  std::vector<char*> env_ptrs = pointers(envs);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) fail_setup("pipe2");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    fail_setup("pipe2");
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_ = ::fork();
  if (pid_ == 0) {
    // dup2 clears close-on-exec on the copies, so only 0, 1 and 2 survive execve; the servers'
    // sockets and anything else of the test are closed on top (close_range where it exists).
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) {
      ::_exit(126);
    }
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::execve(arg_ptrs[0], arg_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  if (null_fd >= 0) ::close(null_fd);
  ::close(out[1]);
  ::close(err[1]);
  if (pid_ < 0) {
    ::close(out[0]);
    ::close(err[0]);
    errno = fork_errno;
    fail_setup("fork");
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

RunResult ChildProcess::wait(std::chrono::milliseconds limit) {
  RunResult result;
  const auto deadline = Clock::now() + limit;
  int* fds[2] = {&out_fd_, &err_fd_};
  std::string* sinks[2] = {&result.out, &result.err};
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(pid_, SIGKILL);
      break;
    }
    pollfd polls[2];
    for (int i = 0; i < 2; ++i) polls[i] = {*fds[i], POLLIN, 0};  // -1 fds are ignored by poll
    const int ready = ::poll(polls, 2, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready < 0 && errno != EINTR) {
      ADD_FAILURE() << "poll: " << std::strerror(errno);
      ::kill(pid_, SIGKILL);  // so that the waitpid below cannot block
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (*fds[i] < 0 || polls[i].revents == 0) continue;
      char buffer[65536];
      const ssize_t n = ::read(*fds[i], buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(*fds[i]);
        *fds[i] = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

RunResult run_reglet(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& extra_env,
                     std::chrono::milliseconds limit) {
  std::vector<std::string> argv = {REGLET_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(argv, extra_env);
  return child.wait(limit);
}

RunResult observe(const std::string& plugin, const json& config,
                  const std::vector<std::string>& grants, const std::vector<std::string>& extra,
                  const std::map<std::string, std::string>& extra_env) {
  std::vector<std::string> args = {"observe", plugin, "--config", config.dump()};
  // REGLET_E2E_ENGINE=aot (or auto) runs the whole suite on another tier than the default.
  if (const char* engine = std::getenv("REGLET_E2E_ENGINE"); engine && *engine) {
    args.push_back("--engine");
    args.push_back(engine);
  }
  for (const std::string& grant : grants) {
    args.push_back("--grant");
    args.push_back(grant);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return run_reglet(args, extra_env);
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    ADD_FAILURE() << "EVP_Digest failed";
    return {};
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string base64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string resolve_in_search_path(const std::string& name) {
  for (const char* dir :
       {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    const std::string candidate = std::string(dir) + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if (::access(candidate.c_str(), X_OK) != 0) continue;
    std::error_code error;
    const auto directory = std::filesystem::canonical(dir, error);
    if (error) continue;
    return (directory / name).string();
  }
  return {};
}

json evidence_of(const RunResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.describe();
  json out = result.json_out();
  EXPECT_TRUE(out.is_object()) << result.describe();
  EXPECT_FALSE(out.contains("error")) << result.describe();
  return out;
}

}  // namespace reglet::e2e
