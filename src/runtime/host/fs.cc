// fs_read, fs_write, fs_stat (SPEC §2, §3).
//
// Each handler validates its request, then checks the grant on the canonical path (symlinks and
// ".." resolved, so an escape out of a granted tree is checked where it lands), audits the
// decision, and only then touches the file — through open_no_symlinks on that canonical path, so
// that a symlink swapped in between the check and the open is refused instead of followed.
//
// Decisions where the SPEC is silent:
// - Paths must be absolute (a relative path would be relative to the host's working directory,
//   which the plugin does not know and was not granted): invalid_argument otherwise.
// - fs_read and fs_write work on regular files only. A directory is invalid_argument ("is a
//   directory"); a FIFO, socket or device is invalid_argument too, because opening one can block
//   (a FIFO without writer) or have side effects (some devices act on open).
// - A missing file is a not_found error for fs_read and fs_write (the `file` plugin turns it into
//   evidence), and {"exists": false} for fs_stat — but only after the grant check, so that a
//   plugin learns nothing about paths it was not granted.
// - fs_read reads at most min(max_bytes, max_host_response_bytes) bytes from `offset`. `eof` is
//   true when nothing is left after what was returned (found by reading one byte more, which
//   also works for /proc files whose size is reported as 0); `truncated` is true when the host's
//   limit, not the caller's max_bytes, cut the read short.
// - fs_write creates a missing file with mode 0644 (less the process umask), truncates an existing
//   one, or appends with `append: true`. It never creates parent directories, never follows a
//   final symlink, and needs fs:write only (write does not imply read, nor read write).
// - A path with a trailing slash names a directory, as in POSIX: fs_stat reports a non-directory
//   there as missing and fs_read as not_found, instead of the file the slash-less path names.
// - fs_stat with follow_symlinks (the default) reports on what the path resolves to and checks
//   fs:read there; without it, on the path's last component itself (its parent canonicalised,
//   the name kept), so that a link is reported as a link, with its target, and the grant needed is
//   the link's own location.
// - fs_stat of a regular file adds `readable`: whether the host can open it for reading, i.e.
//   whether fs_read would (same grant, checked first). Other types have no `readable`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "reglet/capability.h"
#include "runtime/host/fs_support.h"
#include "runtime/host/handlers.h"

namespace reglet::runtime::host {
namespace {

using nlohmann::json;

// Reads go in chunks so that memory grows with what the file holds, not with what was asked for,
// and so that a slow file system is interrupted by the deadline between chunks.
constexpr size_t kReadChunk = 1u << 20;
// Offsets beyond this cannot address a real file, and keep offset + length within off_t.
constexpr uint64_t kMaxOffset = uint64_t{1} << 62;

Result<Decision> checked(InstanceContext& context, std::string_view function, const json& request,
                         Decision decision) {
  context.audit(function, audit_view(request), decision);
  if (!decision.allowed) return decision.error();
  return decision;
}

// "/a/b/" (not "/" itself): a path that, as given, can only name a directory.
bool names_directory(const std::string& path) {
  return path.size() > 1 && path.back() == '/';
}

std::string type_description(mode_t mode) {
  return std::string(file_type_name(mode));
}

// Opens the regular file at a checked canonical path for reading. The first open (O_PATH) only
// names the inode, so that nothing that reacts to being opened (a FIFO, a device) is opened for
// real; the file is then reopened through /proc/self/fd, which reaches exactly that inode.
Result<UniqueFd> open_for_read(std::string_view function, const std::string& path) {
  auto probe = open_no_symlinks(path, O_PATH);
  if (!probe) return errno_error(function, "open", path, probe.error);
  struct stat probed {};
  if (::fstat(probe.fd.get(), &probed) != 0) return errno_error(function, "stat", path, errno);
  if (S_ISDIR(probed.st_mode)) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(function) + ": '" + path + "' is a directory, not a file");
  }
  if (!S_ISREG(probed.st_mode)) {
    return make_error(ErrorCode::invalid_argument, std::string(function) + ": '" + path +
                                                       "' is not a regular file (it is a " +
                                                       type_description(probed.st_mode) + ")");
  }
  const std::string reopen = "/proc/self/fd/" + std::to_string(probe.fd.get());
  UniqueFd file(::open(reopen.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!file && errno == ENOENT) {
    // No /proc: open the path again (still without symlinks) and make sure it is the same file.
    auto reopened = open_no_symlinks(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!reopened) return errno_error(function, "open", path, reopened.error);
    file = std::move(reopened.fd);
    struct stat opened {};
    if (::fstat(file.get(), &opened) != 0) return errno_error(function, "stat", path, errno);
    if (opened.st_dev != probed.st_dev || opened.st_ino != probed.st_ino) {
      return make_error(ErrorCode::io_error,
                        std::string(function) + ": '" + path + "' was replaced while being opened");
    }
  } else if (!file) {
    return errno_error(function, "open", path, errno);
  }
  return file;
}

}  // namespace

Result<json> fs_read(InstanceContext& context, engine::Caller& caller, const json& request) {
  constexpr std::string_view kFunction = "fs_read";
  RequestFields fields(kFunction, request);
  auto path = fields.absolute_path("path");
  if (!path.ok()) return path.error();
  auto offset = fields.unsigned_integer("offset", 0, kMaxOffset);
  if (!offset.ok()) return offset.error();
  const uint64_t limit = context.options().max_host_response_bytes;
  auto max_bytes = fields.unsigned_integer("max_bytes", limit, UINT64_MAX);
  if (!max_bytes.ok()) return max_bytes.error();
  if (auto stop = stop_error(kFunction, caller.control())) return *stop;

  auto decision = checked(context, kFunction, request,
                          CapabilityManager::check_fs(context.grants(), FsAccess::read, *path));
  if (!decision.ok()) return decision.error();
  const std::string& canonical = decision->resolved;

  auto file = open_for_read(kFunction, canonical);
  if (!file.ok()) return file.error();
  struct stat info {};
  if (::fstat(file->get(), &info) != 0) return errno_error(kFunction, "stat", canonical, errno);
  // Canonicalisation drops a trailing slash, which names a directory: "/etc/passwd/" is ENOTDIR
  // for open(2), and was read as /etc/passwd.
  if (names_directory(*path) && !S_ISDIR(info.st_mode)) {
    return errno_error(kFunction, "open", *path, ENOTDIR);
  }

  const uint64_t cap = std::min(*max_bytes, limit);
  // Whether the host's limit, rather than the caller's own max_bytes, bounds this read.
  const bool limit_applied = !fields.has("max_bytes") || *max_bytes > limit;
  const uint64_t wanted = cap + 1;  // one byte more than returned tells whether any is left
  std::string data;
  uint64_t position = *offset;
  while (data.size() < wanted) {
    if (auto stop = stop_error(kFunction, caller.control())) return *stop;
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(wanted - data.size(), kReadChunk));
    const size_t before = data.size();
    data.resize(before + chunk);
    const ssize_t got =
        ::pread(file->get(), data.data() + before, chunk, static_cast<off_t>(position));
    if (got < 0) {
      const int error = errno;
      data.resize(before);
      if (error == EINTR) continue;
      return errno_error(kFunction, "read", canonical, error);
    }
    data.resize(before + static_cast<size_t>(got));
    if (got == 0) break;
    position += static_cast<uint64_t>(got);
  }
  const bool more = data.size() > cap;
  if (more) data.resize(cap);

  json response = {{"data_b64", base64_encode(data)},
                   {"size", static_cast<uint64_t>(info.st_size)},
                   {"eof", !more},
                   {"bytes_read", data.size()},
                   {"truncated", more && limit_applied}};
  return response;
}

Result<json> fs_write(InstanceContext& context, engine::Caller& caller, const json& request) {
  constexpr std::string_view kFunction = "fs_write";
  RequestFields fields(kFunction, request);
  auto path = fields.absolute_path("path");
  if (!path.ok()) return path.error();
  auto data = fields.base64("data_b64", context.options().max_host_response_bytes);
  if (!data.ok()) return data.error();
  auto append = fields.boolean("append", false);
  if (!append.ok()) return append.error();
  if (auto stop = stop_error(kFunction, caller.control())) return *stop;

  auto decision = checked(context, kFunction, request,
                          CapabilityManager::check_fs(context.grants(), FsAccess::write, *path));
  if (!decision.ok()) return decision.error();
  const std::string& canonical = decision->resolved;

  // Look before opening for writing: O_WRONLY on a FIFO or a device is an action in itself.
  {
    auto probe = open_no_symlinks(canonical, O_PATH);
    if (probe) {
      struct stat probed {};
      if (::fstat(probe.fd.get(), &probed) != 0) {
        return errno_error(kFunction, "stat", canonical, errno);
      }
      if (S_ISDIR(probed.st_mode)) {
        return make_error(ErrorCode::invalid_argument,
                          std::string(kFunction) + ": '" + canonical + "' is a directory");
      }
      if (!S_ISREG(probed.st_mode)) {
        return make_error(ErrorCode::invalid_argument, std::string(kFunction) + ": '" + canonical +
                                                           "' is not a regular file (it is a " +
                                                           type_description(probed.st_mode) + ")");
      }
    } else if (probe.error != ENOENT) {
      return errno_error(kFunction, "open", canonical, probe.error);
    }
  }

  // No O_TRUNC here: truncation waits until the opened file is known to be a regular file.
  // O_NONBLOCK keeps a FIFO swapped in meanwhile from blocking the open.
  const int flags = O_WRONLY | O_CREAT | O_NOCTTY | O_NONBLOCK | (*append ? O_APPEND : 0);
  auto opened = open_no_symlinks(canonical, flags, 0644);
  if (!opened) {
    if (opened.error == ENOENT || opened.error == ENOTDIR) {
      return make_error(ErrorCode::not_found, std::string(kFunction) + ": cannot create '" +
                                                  canonical +
                                                  "': its parent directory does not exist");
    }
    return errno_error(kFunction, "open", canonical, opened.error);
  }
  const UniqueFd file = std::move(opened.fd);
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) return errno_error(kFunction, "stat", canonical, errno);
  if (!S_ISREG(info.st_mode)) {
    return make_error(ErrorCode::io_error,
                      std::string(kFunction) + ": '" + canonical + "' was replaced by a " +
                          type_description(info.st_mode) + " while being opened");
  }
  if (!*append && ::ftruncate(file.get(), 0) != 0) {
    return errno_error(kFunction, "truncate", canonical, errno);
  }
  size_t written = 0;
  while (written < data->size()) {
    const ssize_t n = ::write(file.get(), data->data() + written, data->size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(kFunction, "write", canonical, errno);
    }
    written += static_cast<size_t>(n);
  }
  return json{{"bytes_written", written}};
}

Result<json> fs_stat(InstanceContext& context, engine::Caller& caller, const json& request) {
  constexpr std::string_view kFunction = "fs_stat";
  RequestFields fields(kFunction, request);
  auto path = fields.absolute_path("path");
  if (!path.ok()) return path.error();
  auto follow = fields.boolean("follow_symlinks", true);
  if (!follow.ok()) return follow.error();
  if (auto stop = stop_error(kFunction, caller.control())) return *stop;

  // The object looked at: the resolved path, or (not following) the last component itself.
  std::optional<ParentAndName> link_path;
  if (!*follow) link_path = split_last_component(*path);
  Decision decision;
  std::string parent;  // canonical parent directory when not following
  if (link_path) {
    auto canonical_parent = canonicalize_path(link_path->parent);
    if (!canonical_parent.ok()) {
      decision.capability = "fs:read:" + *path;
      decision.reason = canonical_parent.error().message;
    } else {
      parent = std::move(*canonical_parent);
      decision.resolved = (parent == "/" ? "" : parent) + "/" + link_path->name;
      decision.capability = "fs:read:" + decision.resolved;
      decision.allowed = context.grants().allows_fs(FsAccess::read, decision.resolved);
    }
  } else {
    decision = CapabilityManager::check_fs(context.grants(), FsAccess::read, *path);
  }
  auto allowed = checked(context, kFunction, request, std::move(decision));
  if (!allowed.ok()) return allowed.error();
  const std::string& object = allowed->resolved;

  const json missing = {{"exists", false}, {"path", object}};
  struct stat info {};
  std::string symlink_target;
  // Regular files only: whether fs_read could open it (the grant is the same, checked above),
  // which spares the `file` plugin a read of one byte. O_NONBLOCK: should a FIFO be swapped in
  // after the stat, the probe must not block on it.
  constexpr int kProbeRead = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  std::optional<bool> readable;
  if (link_path) {
    auto opened = open_no_symlinks(parent, O_PATH | O_DIRECTORY);
    if (!opened) {
      const int error = opened.error;
      if (error == ENOENT || error == ENOTDIR) return missing;
      return errno_error(kFunction, "open", parent, error);
    }
    const UniqueFd directory = std::move(opened.fd);
    if (::fstatat(directory.get(), link_path->name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      const int error = errno;
      if (error == ENOENT || error == ENOTDIR) return missing;
      return errno_error(kFunction, "stat", object, error);
    }
    if (S_ISLNK(info.st_mode)) {
      // Link targets are bounded by PATH_MAX; a longer answer is a misbehaving file system.
      std::string target(4096, '\0');
      const ssize_t length =
          ::readlinkat(directory.get(), link_path->name.c_str(), target.data(), target.size());
      if (length < 0) return errno_error(kFunction, "read the link", object, errno);
      target.resize(static_cast<size_t>(length));
      symlink_target = std::move(target);
    } else if (S_ISREG(info.st_mode)) {
      readable = UniqueFd(::openat(directory.get(), link_path->name.c_str(), kProbeRead)).valid();
    }
  } else {
    auto handle = open_no_symlinks(object, O_PATH);
    if (!handle) {
      const int error = handle.error;
      if (error == ENOENT || error == ENOTDIR) return missing;
      return errno_error(kFunction, "open", object, error);
    }
    if (::fstat(handle.fd.get(), &info) != 0) return errno_error(kFunction, "stat", object, errno);
    // A trailing slash names a directory (stat(2) of "/etc/passwd/" is ENOTDIR, which is
    // "missing" here); canonicalisation drops the slash, so it is checked on what was found.
    if (names_directory(*path) && !S_ISDIR(info.st_mode)) return missing;
    if (S_ISREG(info.st_mode)) {
      // As open_for_read does: reopen exactly that inode through /proc, else the path again.
      const std::string reopen = "/proc/self/fd/" + std::to_string(handle.fd.get());
      UniqueFd probe(::open(reopen.c_str(), kProbeRead & ~O_NOFOLLOW));
      if (!probe && errno == ENOENT) probe = std::move(open_no_symlinks(object, kProbeRead).fd);
      readable = probe.valid();
    }
  }

  json response = {{"exists", true},
                   {"path", object},
                   {"type", std::string(file_type_name(info.st_mode))},
                   {"size", static_cast<int64_t>(info.st_size)},
                   {"mode", format_mode(info.st_mode)},
                   {"mode_int", static_cast<unsigned>(info.st_mode & 07777)},
                   {"uid", static_cast<uint64_t>(info.st_uid)},
                   {"gid", static_cast<uint64_t>(info.st_gid)},
                   {"owner", user_name(info.st_uid)},
                   {"group", group_name(info.st_gid)},
                   {"nlink", static_cast<uint64_t>(info.st_nlink)},
                   {"mtime", format_rfc3339_utc(info.st_mtim.tv_sec)},
                   {"mtime_unix", static_cast<int64_t>(info.st_mtim.tv_sec)}};
  if (S_ISLNK(info.st_mode)) response["symlink_target"] = symlink_target;
  if (readable) response["readable"] = *readable;
  return response;
}

}  // namespace reglet::runtime::host
