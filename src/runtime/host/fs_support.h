// Private helpers of the fs, env and exec host functions (fs.cc, env.cc, exec.cc): validation of
// request fields with clear invalid_argument messages, base64, an open that never follows a
// symlink, and the common guards (deadline, audit view of a request).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "reglet/error.h"
#include "runtime/util/unique_fd.h"

namespace reglet::runtime::host {

// Reads the fields of one request. Every error names the function and the field, so that a
// plugin author sees at once what is wrong ("fs_read: 'offset' must be a non-negative integer").
class RequestFields {
 public:
  RequestFields(std::string_view function, const nlohmann::json& request)
      : function_(function), request_(request) {}

  Error invalid(std::string_view message) const;

  bool has(std::string_view name) const;
  // A required string.
  Result<std::string> string(std::string_view name) const;
  // An optional string (absent or null is nullopt).
  Result<std::optional<std::string>> optional_string(std::string_view name) const;
  Result<bool> boolean(std::string_view name, bool fallback) const;
  // A non-negative integer no larger than `max` (an integral float such as 1e3 is accepted, as
  // JSON does not distinguish them).
  Result<uint64_t> unsigned_integer(std::string_view name, uint64_t fallback,
                                    uint64_t max = INT64_MAX) const;
  // A required absolute path: not empty, no NUL byte, starting with '/', under PATH_MAX.
  Result<std::string> absolute_path(std::string_view name) const;
  // A required base64 string, decoded; its decoded size may not exceed `max_bytes`.
  Result<std::string> base64(std::string_view name, size_t max_bytes) const;

 private:
  const nlohmann::json* find(std::string_view name) const;

  std::string_view function_;
  const nlohmann::json& request_;
};

// Standard base64 (RFC 4648 §4) with padding.
std::string base64_encode(std::string_view bytes);
// Accepts the standard alphabet, with or without padding; nullopt on anything else (whitespace,
// URL-safe characters, a misplaced '=', a length that cannot be base64).
std::optional<std::string> base64_decode(std::string_view text);

// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or values above
// U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

// Opens an absolute, canonical path without following a symlink anywhere on the way, the last
// component included. The capability check ran on the canonical path; a symlink swapped in after
// the check makes the open fail with ELOOP instead of leading somewhere unchecked.
// openat2(RESOLVE_NO_SYMLINKS), or, where the kernel or a seccomp filter refuses openat2, a walk
// one component at a time with O_NOFOLLOW. O_CLOEXEC is always added.
struct OpenResult {
  UniqueFd fd;
  int error = 0;  // errno when fd is not valid
  explicit operator bool() const { return fd.valid(); }
};
OpenResult open_no_symlinks(const std::string& canonical_path, int flags, mode_t mode = 0);
// The fallback alone (the component walk), so that tests on kernels with openat2 cover it too.
OpenResult open_no_symlinks_by_walking(const std::string& canonical_path, int flags,
                                       mode_t mode = 0);

// The handler's view of an OS error on `path` ("fs_read: cannot open '/x': ..."): ENOENT and
// ENOTDIR are not_found, ELOOP says the path changed after the check, the rest are io_error.
Error errno_error(std::string_view function, std::string_view action, std::string_view path,
                  int error);

// fs_stat's vocabulary: "file", "dir", "symlink", "fifo", "socket", "block", "char" (or
// "unknown").
std::string_view file_type_name(mode_t mode);
// The permission bits (with setuid, setgid and sticky) as four octal digits: "0644", "4755".
std::string format_mode(mode_t mode);
// "2024-05-01T12:00:00Z".
std::string format_rfc3339_utc(int64_t seconds_since_epoch);
// The names of a user or group (getpwuid_r/getgrgid_r, remembered for 30 s); empty when there is
// none.
std::string user_name(uid_t uid);
std::string group_name(gid_t gid);

// An absolute path split for an lstat-like look at its last component: the parent directory as
// written (still to be canonicalised) and the final name. nullopt when the path names no link
// that could be looked at without following it: "/", a path ending in '/', "." or "..".
struct ParentAndName {
  std::string parent;
  std::string name;
};
std::optional<ParentAndName> split_last_component(std::string_view absolute_path);

// nullopt while the call may go on; else the timeout or cancelled error for `function`.
std::optional<Error> stop_error(std::string_view function, const engine::ExecutionControl& control);

// What goes into the audit log for a request: everything but payloads (data_b64, stdin_b64 are
// replaced by their length) and secrets (the values of env{} passed to exec_run).
nlohmann::json audit_view(const nlohmann::json& request);

}  // namespace reglet::runtime::host
