// Private to src/runtime/wasi: the per-instance descriptor table and what every WASI function
// shares (argument access, guest-memory checks, path resolution with capability checks).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "reglet/capability.h"
#include "runtime/abi/guest_memory.h"
#include "runtime/host/context.h"
#include "runtime/wasi/abi.h"
#include "runtime/wasi/host_fs.h"
#include "runtime/wasi/wasi.h"

namespace reglet::runtime::wasi {

// Bounds that keep every call short and every table small, whatever the guest passes.
inline constexpr uint32_t kMaxDescriptors = 1024;        // open descriptors per instance
inline constexpr uint32_t kMaxIovecs = 1024;             // Linux's IOV_MAX
inline constexpr uint64_t kMaxIoBytes = 16ull << 20;     // bytes moved by one read or write call
inline constexpr uint64_t kMaxStreamBytes = 1ull << 20;  // bytes taken by one stdout/stderr write
inline constexpr uint32_t kMaxPathBytes = 4095;          // PATH_MAX without the NUL
inline constexpr uint32_t kMaxSubscriptions = 4096;      // poll_oneoff subscriptions per call
inline constexpr uint64_t kRandomChunk = 1ull << 20;     // random_get fills in chunks of this

enum class DescriptorKind : uint8_t { stdin_stream, stdout_stream, stderr_stream, directory, file };

// An entry read from a directory stream but not yet handed to the guest in full (its dirent did
// not fit in the guest's buffer); the next fd_readdir resumes with it instead of re-reading.
struct PendingDirent {
  uint64_t index = 0;
  uint64_t ino = 0;
  Filetype type = Filetype::unknown;
  std::string name;
};

// fd_readdir's position: cookies are entry indexes (0 = start, d_next = index + 1); `position` is
// how many entries the host stream has produced, so that sequential reads never rescan.
struct DirectoryStream {
  UniqueDir dir;
  uint64_t position = 0;
  std::optional<PendingDirent> pending;
};

struct Descriptor {
  DescriptorKind kind = DescriptorKind::file;
  Filetype filetype = Filetype::unknown;
  // Canonical host path for directories and files ("/" for the preopened root): path_* calls
  // resolve relative to it, and lazy capability checks are made on it.
  std::string path;
  UniqueFd host;  // empty for the stdio streams and, until needed, for the preopened root
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  uint16_t flags = 0;
  bool preopen = false;
  // Which fs: grants were checked, and allowed, when the descriptor was opened.
  bool may_read = false;
  bool may_write = false;
  DirectoryStream stream;

  bool is_stream() const {
    return kind == DescriptorKind::stdin_stream || kind == DescriptorKind::stdout_stream ||
           kind == DescriptorKind::stderr_stream;
  }
};

// What a path names after resolution: `path` is what was checked against the grants; `parent`
// (canonical, symlink-free) and `name` (one component, "" for "/") are what the host call uses.
struct ResolvedPath {
  std::string path;
  std::string parent;
  std::string name;
  bool trailing_slash = false;
};

struct WasiState::Impl {
  explicit Impl(InstanceContext& context);

  InstanceContext& context;
  std::vector<std::unique_ptr<Descriptor>> table;       // index = WASI fd; null = free
  std::optional<std::vector<std::string>> environment;  // "NAME=value", computed on first use

  Descriptor* get(uint32_t fd);
  bool has_free_slot() const;
  // The lowest free descriptor number, or nullopt when kMaxDescriptors are open.
  std::optional<uint32_t> insert(std::unique_ptr<Descriptor> descriptor);
  const std::vector<std::string>& visible_environment();
};

// One host-function call: its arguments, the guest memory, the instance's state. A function that
// must abort the guest (proc_exit, a deadline passing in poll_oneoff) sets `trap`.
class Call {
 public:
  Call(engine::Caller& caller, InstanceContext& context, std::string_view function,
       std::span<const engine::Value> args)
      : caller_(caller),
        context_(context),
        state_(context.wasi().impl()),
        function_(function),
        args_(args),
        memory_(caller.memory()) {}

  engine::Caller& caller() { return caller_; }
  InstanceContext& context() { return context_; }
  WasiState::Impl& state() { return state_; }
  const GuestMemory& memory() const { return memory_; }
  std::string_view function() const { return function_; }

  uint32_t u32(size_t i) const { return args_[i].as_i32(); }
  uint64_t u64(size_t i) const { return args_[i].as_i64(); }

  // Stores a little-endian scalar; false when the range is outside guest memory.
  template <class T>
  bool store(uint64_t ptr, T value) const {
    return memory_.store<T>(ptr, value);
  }

  // The guest string at [ptr, ptr+len) as a path: EFAULT outside memory, ENAMETOOLONG over
  // kMaxPathBytes, EINVAL with a NUL byte.
  Errno read_path(uint32_t ptr, uint32_t len, std::string& out) const;

  // Descriptor lookup with the rights the operation needs: EBADF when `fd` is not open,
  // ENOTCAPABLE when a right is missing.
  Errno lookup(uint32_t fd, uint64_t needed_rights, Descriptor*& out);
  // Same, and the descriptor must be a directory (ENOTDIR otherwise).
  Errno lookup_directory(uint32_t fd, uint64_t needed_rights, Descriptor*& out);

  // How resolve() treats the last component of a path.
  enum class Lookup : uint8_t {
    // Resolved like every other component (stat, open with symlink_follow).
    follow,
    // Not resolved when it is a symlink (lstat, readlink, open without symlink_follow); a
    // trailing slash or a last component of "." or ".." still resolves fully, as in POSIX.
    no_follow,
    // Never resolved: the entry itself is what the call creates, removes or renames. A last
    // component of "." or ".." is left in `name` for the caller to refuse.
    entry,
  };
  // Resolves `relative` (never absolute: ENOTCAPABLE) against the directory descriptor `dir`.
  // No capability check yet; see check().
  Errno resolve(const Descriptor& dir, std::string_view relative, Lookup lookup,
                ResolvedPath& out) const;
  // Checks `path` against the plugin's fs: grants and records the decision in the audit log.
  // EACCES when denied.
  Errno check(FsAccess access, const std::string& path, uint32_t fd, std::string_view request_path);
  // Checks a descriptor's own path, unless the check was made (and passed) when it was opened.
  Errno check_descriptor(Descriptor& descriptor, FsAccess access, uint32_t fd);

  std::optional<engine::Trap> trap;

 private:
  engine::Caller& caller_;
  InstanceContext& context_;
  WasiState::Impl& state_;
  std::string_view function_;
  std::span<const engine::Value> args_;
  GuestMemory memory_;
};

// A guest's iovec array, checked: every buffer inside memory, at most kMaxIovecs entries, and
// the total clamped to `max_total` bytes (later buffers shortened or dropped: short reads and
// writes are allowed). EFAULT or EINVAL on failure.
Errno gather_iovecs(const GuestMemory& memory, uint32_t iovs, uint32_t count, uint64_t max_total,
                    std::vector<std::span<uint8_t>>& out);

// Opens (lazily) the host descriptor of a directory descriptor that has none yet (the root).
Errno ensure_host(Descriptor& descriptor);

using Handler = Errno (*)(Call&);

// The implementations, one per WASI function (misc.cc, fd.cc, path.cc, poll.cc).
Errno args_get(Call&);
Errno args_sizes_get(Call&);
Errno environ_get(Call&);
Errno environ_sizes_get(Call&);
Errno clock_res_get(Call&);
Errno clock_time_get(Call&);
Errno random_get(Call&);
Errno sched_yield(Call&);
Errno proc_exit(Call&);
Errno poll_oneoff(Call&);

Errno fd_advise(Call&);
Errno fd_close(Call&);
Errno fd_datasync(Call&);
Errno fd_fdstat_get(Call&);
Errno fd_fdstat_set_flags(Call&);
Errno fd_fdstat_set_rights(Call&);
Errno fd_filestat_get(Call&);
Errno fd_filestat_set_size(Call&);
Errno fd_pread(Call&);
Errno fd_prestat_dir_name(Call&);
Errno fd_prestat_get(Call&);
Errno fd_pwrite(Call&);
Errno fd_read(Call&);
Errno fd_readdir(Call&);
Errno fd_renumber(Call&);
Errno fd_seek(Call&);
Errno fd_sync(Call&);
Errno fd_tell(Call&);
Errno fd_write(Call&);

Errno path_create_directory(Call&);
Errno path_filestat_get(Call&);
Errno path_open(Call&);
Errno path_readlink(Call&);
Errno path_remove_directory(Call&);
Errno path_rename(Call&);
Errno path_symlink(Call&);
Errno path_unlink_file(Call&);

}  // namespace reglet::runtime::wasi
