// exec_run (SPEC §2, §3): runs a program the plugin was granted, without a shell.
//
// Checks, all before anything is started, each audited:
// - exec:<path> on the resolved executable (a bare name through the fixed search path, never
//   PATH; symlinks resolved in the directory part only, so that a multi-call binary behind
//   several names is checked under the name that is run). The path checked is the path run: the
//   program is executed relative to its directory opened without following symlinks.
// - env:<NAME> for every variable in env{}: the command gets those and nothing else (no PATH, no
//   HOME), so the host's environment never leaks into it.
// - fs:read:<dir> for the working directory, which is then pinned the same way.
//
// Decisions where the SPEC is silent:
// - Working directory: `dir` when given, else "/" (never the host's own working directory).
// - stdin: the decoded stdin_b64 (at most max_host_response_bytes) from a sealed memfd, else
//   /dev/null.
// - Output: at most 1 MiB of stdout and of stderr is kept (less when max_host_response_bytes is
//   smaller); the rest is read and discarded so that the command is not blocked on a full pipe
//   and finishes (or times out) normally, and `truncated` says so (with stdout_truncated and
//   stderr_truncated for which one). stdout/stderr are JSON strings; bytes that are not valid
//   UTF-8 are replaced by U+FFFD there, and then stdout_b64/stderr_b64 carry the exact bytes.
// - Deadline: min(timeout_ms, context.timeout_ms, the call's remaining time); timeout_ms absent or
//   0 means the call's time only. When timeout_ms passes first, the process group is killed and
//   the result has timed_out: true, exit_code -1, signal 9. When the call's own deadline passes
//   (or the call is cancelled), the group is killed and reaped and the answer is a `timeout`
//   (`cancelled`) error: the guest is out of time and cannot use a result anyway.
// - Process lifetime: the command leads a new process group. When it exits, the rest of its group
//   is killed: background processes it started do not outlive the call, and their hold on the
//   pipes does not delay the result. A process that left the group (setsid) is not killed (that
//   would need cgroups); waiting for its pipe ends is cut short after 200 ms.
// - Exit: exit_code is the exit status, or -1 with `signal` when a signal ended the command. A
//   command that cannot be executed (ENOEXEC, EACCES at exec time) is an io_error.
// - A command that does not exist is not_found when it is a bare name (the search path is no
//   secret) or an absolute path that the grants would allow; an absolute path outside the grants
//   is capability_denied without saying whether it exists.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "reglet/capability.h"
#include "runtime/host/exec_child.h"
#include "runtime/host/fs_support.h"
#include "runtime/host/handlers.h"

namespace reglet::runtime::host {
namespace {

using nlohmann::json;

constexpr std::string_view kFunction = "exec_run";
constexpr size_t kMaxOutputBytes = 1u << 20;
constexpr size_t kMaxArgs = 65536;
constexpr size_t kMaxEnvVars = 4096;
constexpr size_t kMaxPathLength = 4095;
// A year: long enough for anything, short enough for time_point arithmetic.
constexpr uint64_t kMaxTimeoutMs = 365ull * 24 * 3600 * 1000;

struct ExecRequest {
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<std::string> dir;
  std::string stdin_data;
  uint64_t timeout_ms = 0;  // 0: none of its own
};

Status validate_command(const RequestFields& fields, const std::string& command) {
  if (command.empty()) return fields.invalid("'command' is empty");
  if (command.find('\0') != std::string::npos) {
    return fields.invalid("'command' contains a NUL byte");
  }
  if (command.size() > kMaxPathLength) return fields.invalid("'command' is too long");
  if (command.front() != '/') {
    if (command.find('/') != std::string::npos) {
      return fields.invalid("'command' is a relative path ('" + command +
                            "'); give an absolute path or a bare program name");
    }
    if (command == "." || command == "..") {
      return fields.invalid("'command' is not a program name");
    }
  } else {
    const std::string name = command.substr(command.rfind('/') + 1);
    if (name.empty() || name == "." || name == "..") {
      return fields.invalid("'command' names a directory, not a program ('" + command + "')");
    }
  }
  return {};
}

Status validate_variable_name(const RequestFields& fields, const std::string& name) {
  if (name.empty()) return fields.invalid("'env' has an empty variable name");
  if (name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
    return fields.invalid("'env' variable name '" + name + "' contains '=' or a NUL byte");
  }
  return {};
}

Result<ExecRequest> parse(const RequestFields& fields, const json& request, size_t max_stdin) {
  ExecRequest parsed;
  auto command = fields.string("command");
  if (!command.ok()) return command.error();
  if (auto status = validate_command(fields, *command); !status.ok()) return status.error();
  parsed.command = std::move(*command);

  if (fields.has("args")) {
    const json& args = request["args"];
    if (!args.is_array()) {
      return fields.invalid(std::string("'args' must be an array of strings, not ") +
                            args.type_name());
    }
    if (args.size() > kMaxArgs) {
      return fields.invalid("'args' has more than " + std::to_string(kMaxArgs) + " items");
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].is_string()) {
        return fields.invalid("'args[" + std::to_string(i) + "]' must be a string, not " +
                              args[i].type_name());
      }
      std::string arg = args[i].get<std::string>();
      if (arg.find('\0') != std::string::npos) {
        return fields.invalid("'args[" + std::to_string(i) + "]' contains a NUL byte");
      }
      parsed.args.push_back(std::move(arg));
    }
  }

  if (fields.has("env")) {
    const json& env = request["env"];
    if (!env.is_object()) {
      return fields.invalid(std::string("'env' must be an object of strings, not ") +
                            env.type_name());
    }
    if (env.size() > kMaxEnvVars) {
      return fields.invalid("'env' has more than " + std::to_string(kMaxEnvVars) + " variables");
    }
    for (auto it = env.begin(); it != env.end(); ++it) {
      if (auto status = validate_variable_name(fields, it.key()); !status.ok()) {
        return status.error();
      }
      if (!it->is_string()) {
        return fields.invalid("'env." + it.key() + "' must be a string, not " + it->type_name());
      }
      std::string value = it->get<std::string>();
      if (value.find('\0') != std::string::npos) {
        return fields.invalid("'env." + it.key() + "' contains a NUL byte");
      }
      parsed.env.emplace_back(it.key(), std::move(value));
    }
  }

  if (fields.has("dir")) {
    auto dir = fields.absolute_path("dir");
    if (!dir.ok()) return dir.error();
    parsed.dir = std::move(*dir);
  }
  if (fields.has("stdin_b64")) {
    auto data = fields.base64("stdin_b64", max_stdin);
    if (!data.ok()) return data.error();
    parsed.stdin_data = std::move(*data);
  }
  auto timeout = fields.unsigned_integer("timeout_ms", 0, kMaxTimeoutMs);
  if (!timeout.ok()) return timeout.error();
  parsed.timeout_ms = *timeout;
  // SPEC §2: any request may carry "context": {"timeout_ms", "request_id"}; its timeout bounds
  // the command like timeout_ms does.
  if (fields.has("context")) {
    const json& context = request["context"];
    if (!context.is_object()) return fields.invalid("'context' must be an object");
    auto context_timeout =
        RequestFields(kFunction, context).unsigned_integer("timeout_ms", 0, kMaxTimeoutMs);
    if (!context_timeout.ok()) return context_timeout.error();
    if (*context_timeout != 0) {
      parsed.timeout_ms =
          parsed.timeout_ms == 0 ? *context_timeout : std::min(parsed.timeout_ms, *context_timeout);
    }
  }
  return parsed;
}

// The error for a command that check_exec could not resolve (missing, not a regular file, not
// executable). Whether an absolute path exists is only told when the grants would allow it.
Error unresolved_command_error(const GrantSet& grants, const std::string& command,
                               const Decision& decision) {
  if (command.front() != '/') {
    return make_error(ErrorCode::not_found, std::string(kFunction) + ": " + decision.reason);
  }
  const size_t slash = command.rfind('/');
  auto directory = canonicalize_path(slash == 0 ? "/" : command.substr(0, slash));
  if (directory.ok()) {
    const std::string candidate =
        (*directory == "/" ? "" : *directory) + "/" + command.substr(slash + 1);
    if (grants.allows_exec(candidate)) {
      auto resolved = resolve_executable(command);
      if (!resolved.ok()) {
        return make_error(resolved.error().code,
                          std::string(kFunction) + ": " + resolved.error().message);
      }
      return make_error(ErrorCode::not_found, std::string(kFunction) + ": " + decision.reason);
    }
    return make_error(ErrorCode::capability_denied,
                      "capability denied: exec:" + candidate + " is not granted");
  }
  return make_error(ErrorCode::capability_denied,
                    "capability denied: " + decision.capability + " is not granted");
}

// Output cut at the byte limit may end inside a character; dropping that partial character keeps
// valid UTF-8 valid, instead of sending the whole stream again as base64 for one broken tail.
void trim_partial_character(std::string& text) {
  const size_t limit = std::min<size_t>(text.size(), 3);
  for (size_t back = 1; back <= limit; ++back) {
    const auto byte = static_cast<unsigned char>(text[text.size() - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    if (byte >= 0xC0) {
      const size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
      if (length > back) text.resize(text.size() - back);
    }
    return;
  }
}

}  // namespace

Result<json> exec_run(InstanceContext& context, engine::Caller& caller, const json& request) {
  RequestFields fields(kFunction, request);
  auto parsed = parse(fields, request, context.options().max_host_response_bytes);
  if (!parsed.ok()) return parsed.error();
  if (auto stop = stop_error(kFunction, caller.control())) return *stop;

  const GrantSet& grants = context.grants();
  const json view = audit_view(request);

  const Decision exec = CapabilityManager::check_exec(grants, parsed->command);
  context.audit(kFunction, view, exec);
  if (!exec.allowed) {
    if (!exec.reason.empty()) return unresolved_command_error(grants, parsed->command, exec);
    return exec.error();
  }
  for (const auto& [name, value] : parsed->env) {
    const Decision variable = CapabilityManager::check_env(grants, name);
    context.audit(kFunction, view, variable);
    if (!variable.allowed) return variable.error();
  }
  UniqueFd cwd;
  if (parsed->dir) {
    const Decision dir = CapabilityManager::check_fs(grants, FsAccess::read, *parsed->dir);
    context.audit(kFunction, view, dir);
    if (!dir.allowed) return dir.error();
    auto opened = open_no_symlinks(dir.resolved, O_PATH | O_DIRECTORY);
    if (!opened) {
      if (opened.error == ENOTDIR) {
        return fields.invalid("'dir' ('" + dir.resolved + "') is not a directory");
      }
      return errno_error(kFunction, "use the directory", dir.resolved, opened.error);
    }
    cwd = std::move(opened.fd);
  }

  // Pin the directory the program is run from (see exec_child.h).
  const std::string& path = exec.resolved;
  const size_t slash = path.rfind('/');
  const std::string directory = slash == 0 ? "/" : path.substr(0, slash);
  auto exec_dir = open_no_symlinks(directory, O_PATH | O_DIRECTORY);
  if (!exec_dir) return errno_error(kFunction, "open the directory of", path, exec_dir.error);

  SpawnSpec spec;
  spec.path = path;
  spec.exec_dir = exec_dir.fd.get();
  spec.cwd = cwd.get();
  spec.argv.reserve(parsed->args.size() + 1);
  spec.argv.push_back(parsed->command);  // argv[0] as asked: multi-call binaries dispatch on it
  for (std::string& arg : parsed->args) spec.argv.push_back(std::move(arg));
  for (const auto& [name, value] : parsed->env) spec.env.push_back(name + "=" + value);

  RunLimits limits;
  limits.control = &caller.control();
  if (parsed->timeout_ms != 0) {
    limits.own_deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(parsed->timeout_ms);
  }
  limits.max_output_bytes = std::min(kMaxOutputBytes, context.options().max_host_response_bytes);

  auto ran = run_process(spec, parsed->stdin_data, limits);
  if (!ran.ok()) {
    return make_error(ran.error().code, std::string(kFunction) + ": " + ran.error().message);
  }
  RunOutcome& outcome = *ran;
  const std::string elapsed = std::to_string(outcome.duration.count()) + " ms";
  switch (outcome.end) {
    case RunOutcome::End::call_timeout:
      return make_error(ErrorCode::timeout, std::string(kFunction) +
                                                ": the call's deadline passed after " + elapsed +
                                                "; '" + path + "' was killed");
    case RunOutcome::End::cancelled:
      return make_error(ErrorCode::cancelled, std::string(kFunction) +
                                                  ": the call was cancelled after " + elapsed +
                                                  "; '" + path + "' was killed");
    case RunOutcome::End::exited:
    case RunOutcome::End::timed_out:
      break;
  }

  if (outcome.out_truncated) trim_partial_character(outcome.out);
  if (outcome.err_truncated) trim_partial_character(outcome.err);
  const bool out_is_text = is_valid_utf8(outcome.out);
  const bool err_is_text = is_valid_utf8(outcome.err);
  json response = {{"exit_code", outcome.exit_code},
                   {"duration_ms", outcome.duration.count()},
                   {"timed_out", outcome.end == RunOutcome::End::timed_out},
                   {"truncated", outcome.out_truncated || outcome.err_truncated},
                   {"stdout_truncated", outcome.out_truncated},
                   {"stderr_truncated", outcome.err_truncated}};
  if (outcome.signal != 0) response["signal"] = outcome.signal;
  if (!out_is_text) response["stdout_b64"] = base64_encode(outcome.out);
  if (!err_is_text) response["stderr_b64"] = base64_encode(outcome.err);
  // Invalid UTF-8 in these becomes U+FFFD when the response is serialised (host_call.cc).
  response["stdout"] = std::move(outcome.out);
  response["stderr"] = std::move(outcome.err);
  return response;
}

}  // namespace reglet::runtime::host
