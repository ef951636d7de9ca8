#include "runtime/host/fs_support.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <mutex>
#include <unordered_map>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

namespace reglet::runtime::host {
namespace {

// The kernel refuses path strings of PATH_MAX (4096 with the NUL) or more.
constexpr size_t kMaxPathLength = 4095;

std::string quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

const char* json_type_name(const nlohmann::json& value) {
  return value.type_name();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RequestFields

Error RequestFields::invalid(std::string_view message) const {
  return make_error(ErrorCode::invalid_argument,
                    std::string(function_) + ": " + std::string(message));
}

const nlohmann::json* RequestFields::find(std::string_view name) const {
  if (!request_.is_object()) return nullptr;
  auto found = request_.find(std::string(name));
  if (found == request_.end() || found->is_null()) return nullptr;
  return &*found;
}

bool RequestFields::has(std::string_view name) const {
  return find(name) != nullptr;
}

Result<std::string> RequestFields::string(std::string_view name) const {
  const nlohmann::json* value = find(name);
  if (value == nullptr) return invalid(quoted(name) + " is required");
  if (!value->is_string()) {
    return invalid(quoted(name) + " must be a string, not " + json_type_name(*value));
  }
  return value->get<std::string>();
}

Result<std::optional<std::string>> RequestFields::optional_string(std::string_view name) const {
  if (!has(name)) return std::optional<std::string>();
  auto value = string(name);
  if (!value.ok()) return value.error();
  return std::optional<std::string>(std::move(*value));
}

Result<bool> RequestFields::boolean(std::string_view name, bool fallback) const {
  const nlohmann::json* value = find(name);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) {
    return invalid(quoted(name) + " must be a boolean, not " + json_type_name(*value));
  }
  return value->get<bool>();
}

Result<uint64_t> RequestFields::unsigned_integer(std::string_view name, uint64_t fallback,
                                                 uint64_t max) const {
  const nlohmann::json* value = find(name);
  if (value == nullptr) return fallback;
  const std::string expected =
      quoted(name) + " must be an integer from 0 to " + std::to_string(max);
  uint64_t number = 0;
  if (value->is_number_unsigned()) {
    number = value->get<uint64_t>();
  } else if (value->is_number_integer()) {
    const int64_t signed_number = value->get<int64_t>();
    if (signed_number < 0) return invalid(expected + ", not " + std::to_string(signed_number));
    number = static_cast<uint64_t>(signed_number);
  } else if (value->is_number_float()) {
    const double real = value->get<double>();
    // 2^63 is exactly representable; anything at or above it cannot be a valid size or offset.
    if (!std::isfinite(real) || real < 0 || real != std::floor(real) ||
        real >= 9.2233720368547758e18) {
      return invalid(expected + ", not " + value->dump());
    }
    number = static_cast<uint64_t>(real);
  } else {
    return invalid(expected + ", not " + json_type_name(*value));
  }
  if (number > max) return invalid(expected + ", not " + std::to_string(number));
  return number;
}

Result<std::string> RequestFields::absolute_path(std::string_view name) const {
  auto path = string(name);
  if (!path.ok()) return path.error();
  if (path->empty()) return invalid(quoted(name) + " is empty");
  if (path->find('\0') != std::string::npos) {
    return invalid(quoted(name) + " contains a NUL byte");
  }
  if (path->size() > kMaxPathLength) {
    return invalid(quoted(name) + " is too long (" + std::to_string(path->size()) +
                   " bytes; the limit is " + std::to_string(kMaxPathLength) + ")");
  }
  // A relative path would be relative to whatever directory the host runs in, which the plugin
  // neither knows nor was granted; refusing it is clearer than guessing a base.
  if (path->front() != '/') {
    return invalid(quoted(name) + " must be an absolute path, not '" + *path + "'");
  }
  return path;
}

Result<std::string> RequestFields::base64(std::string_view name, size_t max_bytes) const {
  auto text = string(name);
  if (!text.ok()) return text.error();
  // Checked before decoding, so that an oversized payload is refused without being decoded.
  if (text->size() / 4 * 3 > max_bytes + 2) {
    return invalid(quoted(name) + " holds more than the limit of " + std::to_string(max_bytes) +
                   " bytes");
  }
  auto decoded = base64_decode(*text);
  if (!decoded) return invalid(quoted(name) + " is not valid base64");
  if (decoded->size() > max_bytes) {
    return invalid(quoted(name) + " holds " + std::to_string(decoded->size()) +
                   " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  return std::move(*decoded);
}

// ---------------------------------------------------------------------------------------------
// base64

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kDecode = make_decode_table();
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t chunk = (static_cast<uint8_t>(bytes[i]) << 16) |
                           (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                           static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += kAlphabet[(chunk >> 6) & 63];
    out += kAlphabet[chunk & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += rest == 2 ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  if (text.size() % 4 == 1) return std::nullopt;  // 6 bits cannot make a byte
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t accumulator = 0;
  int bits = 0;
  for (const char c : text) {
    const int8_t value = kDecode[static_cast<unsigned char>(c)];
    if (value < 0) return std::nullopt;  // includes a '=' inside the text
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xff);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// UTF-8

bool is_valid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t count = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      count = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      count = 2;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      count = 3;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (bytes.size() - i <= count) return false;
    for (size_t k = 1; k <= count; ++k) {
      const auto next = static_cast<unsigned char>(bytes[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return false;
    }
    i += count + 1;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// open_no_symlinks

namespace {

// Cleared the first time the kernel (or a seccomp filter) refuses openat2.
std::atomic<bool> g_have_openat2{true};

int open_by_walking(const std::string& path, int flags, mode_t mode) {
  UniqueFd current(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current) return -errno;
  std::string_view rest(path);
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) {
    const int fd = ::openat(current.get(), ".", flags | O_CLOEXEC, mode);
    return fd >= 0 ? fd : -errno;
  }
  while (true) {
    const size_t slash = rest.find('/');
    const std::string component(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    // A canonical path holds neither; refusing them keeps the walk from climbing anywhere.
    if (component == "." || component == "..") return -EINVAL;
    if (rest.empty()) {
      UniqueFd last(
          ::openat(current.get(), component.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode));
      if (!last) return -errno;
      // O_PATH|O_NOFOLLOW opens a symlink itself instead of failing; that is still a symlink
      // where the check saw none.
      struct stat info {};
      if (::fstat(last.get(), &info) != 0) return -errno;
      if (S_ISLNK(info.st_mode)) return -ELOOP;
      return last.release();
    }
    UniqueFd next(
        ::openat(current.get(), component.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      const int error = errno;
      // O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR; the truth is that a link was there.
      struct stat info {};
      if (error == ENOTDIR &&
          ::fstatat(current.get(), component.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(info.st_mode)) {
        return -ELOOP;
      }
      return -error;
    }
    current = std::move(next);
  }
}

// Returns the descriptor or -errno.
int open_raw(const std::string& canonical_path, int flags, mode_t mode) {
  if (canonical_path.empty() || canonical_path.front() != '/') return -EINVAL;
  if (canonical_path.find('\0') != std::string::npos) return -EINVAL;
  if (g_have_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    // openat2 rejects a mode without O_CREAT or O_TMPFILE. O_TMPFILE includes O_DIRECTORY's bit,
    // so it is tested whole (an O_DIRECTORY open with a mode is no creation).
    const bool creates = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
    how.mode = creates ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = -1;
    // EINTR, and EAGAIN from a concurrent rename, are worth a few retries, not an endless loop.
    for (int attempt = 0; attempt < 8; ++attempt) {
      fd = ::syscall(SYS_openat2, AT_FDCWD, canonical_path.c_str(), &how, sizeof how);
      if (fd >= 0 || (errno != EINTR && errno != EAGAIN)) break;
    }
    if (fd >= 0) return static_cast<int>(fd);
    // ENOSYS: a kernel before 5.6, or a seccomp filter answering ENOSYS for syscalls it does not
    // know; then openat2 is given up for good. EPERM: some filters answer that instead; the walk
    // below gives the real answer (it repeats a genuine EPERM, e.g. an immutable file).
    if (errno == ENOSYS) {
      g_have_openat2.store(false, std::memory_order_relaxed);
    } else if (errno != EPERM) {
      return -errno;
    }
  }
  return open_by_walking(canonical_path, flags, mode);
}

OpenResult to_open_result(int fd_or_error) {
  OpenResult result;
  if (fd_or_error >= 0) {
    result.fd.reset(fd_or_error);
  } else {
    result.error = -fd_or_error;
  }
  return result;
}

}  // namespace

OpenResult open_no_symlinks(const std::string& canonical_path, int flags, mode_t mode) {
  return to_open_result(open_raw(canonical_path, flags, mode));
}

OpenResult open_no_symlinks_by_walking(const std::string& canonical_path, int flags, mode_t mode) {
  if (canonical_path.empty() || canonical_path.front() != '/' ||
      canonical_path.find('\0') != std::string::npos) {
    return to_open_result(-EINVAL);
  }
  return to_open_result(open_by_walking(canonical_path, flags, mode));
}

// ---------------------------------------------------------------------------------------------
// stat vocabulary

std::string_view file_type_name(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISBLK(mode)) return "block";
  if (S_ISCHR(mode)) return "char";
  return "unknown";
}

std::string format_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string format_rfc3339_utc(int64_t seconds_since_epoch) {
  const auto seconds = static_cast<time_t>(seconds_since_epoch);
  struct tm utc {};
  if (::gmtime_r(&seconds, &utc) == nullptr) return {};
  char text[64];
  const size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

namespace {

// getpwuid_r/getgrgid_r with a buffer grown on ERANGE (NSS entries can be large: a group with
// thousands of members), up to a bound that keeps a broken NSS module from exhausting memory.
template <class Entry, class Id, class Lookup, class Name>
std::string lookup_name(Id id, int size_hint, Lookup lookup, Name name_of) {
  constexpr size_t kMaxBuffer = 1u << 20;
  std::vector<char> buffer(size_hint > 0 ? static_cast<size_t>(size_hint) : 16384);
  while (true) {
    Entry entry{};
    Entry* result = nullptr;
    const int error = lookup(id, &entry, buffer.data(), buffer.size(), &result);
    if (error == ERANGE && buffer.size() < kMaxBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0 || result == nullptr) return {};
    const char* name = name_of(*result);
    return name != nullptr ? std::string(name) : std::string();
  }
}

// Names by id, remembered for a while: an NSS lookup reads /etc/passwd or /etc/group (or asks a
// directory service) each time, about 10 times the cost of the stat(2) it names the owner of, and
// a profile asks for the same few owners over and over. A renamed user shows up within kTtl.
class NameCache {
 public:
  template <class Lookup>
  std::string get(uint32_t id, Lookup lookup) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex_);
      auto it = names_.find(id);
      if (it != names_.end() && now - it->second.when < kTtl) return it->second.name;
    }
    std::string name = lookup();  // outside the lock: NSS may be slow
    std::lock_guard lock(mutex_);
    if (names_.size() >= kMaxEntries) names_.clear();  // bounded, whatever ids are asked for
    names_[id] = {name, now};
    return name;
  }

 private:
  static constexpr std::chrono::seconds kTtl{30};
  static constexpr size_t kMaxEntries = 4096;
  struct Entry {
    std::string name;
    std::chrono::steady_clock::time_point when;
  };
  std::mutex mutex_;
  std::unordered_map<uint32_t, Entry> names_;
};

}  // namespace

std::string user_name(uid_t uid) {
  static NameCache cache;
  return cache.get(uid, [uid] {
    return lookup_name<struct passwd>(uid, static_cast<int>(::sysconf(_SC_GETPW_R_SIZE_MAX)),
                                      ::getpwuid_r,
                                      [](const struct passwd& entry) { return entry.pw_name; });
  });
}

std::string group_name(gid_t gid) {
  static NameCache cache;
  return cache.get(gid, [gid] {
    return lookup_name<struct group>(gid, static_cast<int>(::sysconf(_SC_GETGR_R_SIZE_MAX)),
                                     ::getgrgid_r,
                                     [](const struct group& entry) { return entry.gr_name; });
  });
}

std::optional<ParentAndName> split_last_component(std::string_view absolute_path) {
  if (absolute_path.empty() || absolute_path.front() != '/' || absolute_path.back() == '/') {
    return std::nullopt;
  }
  const size_t slash = absolute_path.rfind('/');
  std::string name(absolute_path.substr(slash + 1));
  if (name == "." || name == "..") return std::nullopt;
  std::string_view parent = absolute_path.substr(0, slash);
  while (!parent.empty() && parent.back() == '/') parent.remove_suffix(1);
  return ParentAndName{parent.empty() ? std::string("/") : std::string(parent), std::move(name)};
}

// ---------------------------------------------------------------------------------------------
// Errors and guards

Error errno_error(std::string_view function, std::string_view action, std::string_view path,
                  int error) {
  std::string message =
      std::string(function) + ": cannot " + std::string(action) + " '" + std::string(path) + "': ";
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return make_error(ErrorCode::not_found, message + "no such file or directory");
    case ELOOP:
      return make_error(ErrorCode::io_error,
                        message +
                            "a symbolic link appeared on the path after the capability "
                            "check; refusing to follow it");
    default:
      return make_error(ErrorCode::io_error, message + std::strerror(error));
  }
}

std::optional<Error> stop_error(std::string_view function,
                                const engine::ExecutionControl& control) {
  const auto reason = control.should_stop();
  if (!reason) return std::nullopt;
  if (*reason == engine::TrapKind::cancelled) {
    return make_error(ErrorCode::cancelled, std::string(function) + ": the call was cancelled");
  }
  return make_error(ErrorCode::timeout, std::string(function) + ": the call's deadline passed");
}

nlohmann::json audit_view(const nlohmann::json& request) {
  if (!request.is_object()) return request;
  nlohmann::json view = nlohmann::json::object();
  for (auto it = request.begin(); it != request.end(); ++it) {
    const std::string& key = it.key();
    if ((key == "data_b64" || key == "stdin_b64") && it->is_string()) {
      view[key] =
          "<" + std::to_string(it->get_ref<const std::string&>().size()) + " base64 characters>";
    } else if (key == "env" && it->is_object()) {
      // The names are what the decision is about; the values may be credentials.
      nlohmann::json names = nlohmann::json::object();
      for (auto var = it->begin(); var != it->end(); ++var) names[var.key()] = "<redacted>";
      view[key] = std::move(names);
    } else {
      view[key] = *it;
    }
  }
  return view;
}

}  // namespace reglet::runtime::host
