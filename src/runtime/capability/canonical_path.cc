// Path canonicalisation and executable resolution (SPEC §3). Both decide which file a plugin
// reaches, so both are written to be exact rather than convenient: they walk the path one
// component at a time with lstat/readlink, the way the kernel does.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "reglet/capability.h"
#include "runtime/capability/grammar.h"

namespace reglet {
namespace {

// Linux's limit on symlinks followed in one lookup (MAXSYMLINKS); a path needing more is refused
// by the kernel too, so refusing it here loses nothing.
constexpr int kMaxSymlinkHops = 40;
// The kernel refuses path strings of PATH_MAX (4096, with the NUL) or more; so do we, before doing
// any work on them.
constexpr size_t kMaxPathLength = 4095;
// Symlink targets are bounded by PATH_MAX as well; this only guards a misbehaving filesystem.
constexpr size_t kMaxLinkTarget = 65536;

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

// Pushes the components of `path` onto `pending` so that the first component is popped first.
void push_components(std::string_view path, std::vector<std::string>& pending) {
  size_t end = path.size();
  while (end > 0) {
    const size_t slash = path.rfind('/', end - 1);
    const size_t start = slash == std::string_view::npos ? 0 : slash + 1;
    if (end > start) pending.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    end = slash;
  }
}

Result<std::string> read_link(const std::string& path) {
  // st_size is a hint only (0 for /proc's magic links), so grow until the target fits.
  std::string buffer(256, '\0');
  while (buffer.size() <= kMaxLinkTarget) {
    const ssize_t length = ::readlink(path.c_str(), buffer.data(), buffer.size());
    if (length < 0) {
      return make_error(ErrorCode::io_error,
                        "cannot read symlink '" + path + "': " + std::strerror(errno));
    }
    if (static_cast<size_t>(length) < buffer.size()) {
      buffer.resize(static_cast<size_t>(length));
      return buffer;
    }
    buffer.resize(buffer.size() * 2);
  }
  return invalid("symlink '" + path + "' has an implausibly long target");
}

Status validate_path_text(std::string_view path, std::string_view what) {
  if (path.find('\0') != std::string_view::npos) {
    return invalid(std::string(what) + " contains a NUL byte");
  }
  if (path.size() > kMaxPathLength) {
    return invalid(std::string(what) + " is too long (" + std::to_string(path.size()) +
                   " bytes; the limit is " + std::to_string(kMaxPathLength) + ")");
  }
  return {};
}

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

std::string join(std::string_view directory, std::string_view name) {
  std::string path(directory);
  if (path.empty() || path.back() != '/') path += '/';
  path += name;
  return path;
}

}  // namespace

Result<std::string> canonicalize_path(std::string_view path, std::string_view base) {
  if (path.empty()) return invalid("path is empty");
  if (auto status = validate_path_text(path, "path"); !status.ok()) return status.error();
  if (base.empty()) base = "/";

  std::vector<std::string> pending;  // a stack: the next component to resolve is at the back
  push_components(path, pending);
  if (path.front() != '/') {
    if (auto status = validate_path_text(base, "base directory"); !status.ok()) {
      return status.error();
    }
    if (base.front() != '/') {
      return invalid("base directory '" + std::string(base) + "' is not absolute");
    }
    push_components(base, pending);
  }

  // `resolved` is always a real, symlink-free prefix followed by components that do not exist;
  // "" stands for "/". Because it contains no symlinks, ".." can be applied to it textually and
  // still mean the parent of what the path really reached (POSIX semantics, unlike a purely
  // lexical clean-up before resolution).
  std::string resolved;
  int hops = 0;
  while (!pending.empty()) {
    const std::string component = std::move(pending.back());
    pending.pop_back();
    if (component == ".") continue;
    if (component == "..") {
      resolved.resize(resolved.rfind('/') == std::string::npos ? 0 : resolved.rfind('/'));
      continue;
    }
    const size_t parent_length = resolved.size();
    resolved += '/';
    resolved += component;

    // Every component is examined, even below one that does not exist: a later ".." can climb
    // back into existing directories, and what it finds there must be resolved too.
    struct stat info {};
    if (::lstat(resolved.c_str(), &info) != 0) {
      const int error = errno;
      if (error == ENOENT || error == ENOTDIR) continue;  // appended lexically
      if (error == ENAMETOOLONG) return invalid("path is too long once resolved");
      return make_error(ErrorCode::io_error,
                        "cannot resolve '" + resolved + "': " + std::strerror(error));
    }
    if (!S_ISLNK(info.st_mode)) continue;

    if (++hops > kMaxSymlinkHops) {
      return invalid("cannot resolve '" + std::string(path) +
                     "': too many levels of symbolic links");
    }
    auto target = read_link(resolved);
    if (!target.ok()) return target.error();
    if (target->empty()) return invalid("symlink '" + resolved + "' has an empty target");
    // The link's target replaces it: relative to the link's directory, or to the root.
    resolved.resize(target->front() == '/' ? 0 : parent_length);
    push_components(*target, pending);
  }
  return resolved.empty() ? std::string("/") : resolved;
}

Result<std::string> resolve_executable(std::string_view command) {
  if (command.empty()) return invalid("command is empty");
  if (auto status = validate_path_text(command, "command"); !status.ok()) return status.error();

  if (command.front() != '/') {
    if (command.find('/') != std::string_view::npos) {
      return invalid("command '" + std::string(command) +
                     "' is a relative path; give an absolute path or a bare name");
    }
    if (command == "." || command == "..") {
      return invalid("command '" + std::string(command) + "' is not a program name");
    }
    // A bare name: the fixed search path, never the caller's PATH (SPEC §3).
    std::string_view search = kExecSearchPath;
    while (!search.empty()) {
      const size_t colon = search.find(':');
      const std::string_view directory = search.substr(0, colon);
      search = colon == std::string_view::npos ? std::string_view() : search.substr(colon + 1);
      if (!is_executable_file(join(directory, command))) continue;
      auto canonical_directory = canonicalize_path(directory);
      if (!canonical_directory.ok()) return canonical_directory.error();
      return join(*canonical_directory, command);
    }
    return make_error(ErrorCode::not_found, "executable '" + std::string(command) +
                                                "' not found in " + std::string(kExecSearchPath));
  }

  // An absolute path: resolve the directory part, keep the final name as written, so that a
  // multi-call binary behind several names is checked and run under the name that was asked for.
  const size_t last_slash = command.rfind('/');
  const std::string_view name = command.substr(last_slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return invalid("command '" + std::string(command) + "' names a directory, not a program");
  }
  const std::string_view directory =
      last_slash == 0 ? std::string_view("/") : command.substr(0, last_slash);
  auto canonical_directory = canonicalize_path(directory);
  if (!canonical_directory.ok()) return canonical_directory.error();
  std::string resolved = join(*canonical_directory, name);

  struct stat info {};
  if (::stat(resolved.c_str(), &info) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return make_error(ErrorCode::not_found, "executable '" + resolved + "' does not exist");
    }
    return make_error(ErrorCode::io_error,
                      "cannot inspect '" + resolved + "': " + std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    return invalid("'" + resolved + "' is not a regular file");
  }
  if (::access(resolved.c_str(), X_OK) != 0) {
    return invalid("'" + resolved + "' is not executable");
  }
  return resolved;
}

}  // namespace reglet
