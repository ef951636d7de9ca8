// path_* functions. Every one resolves its path against a directory descriptor, checks the
// result against the plugin's fs: grants (audited, EACCES when denied), and then works on the
// checked path only: files are opened with no symlink followed anywhere, and entries are reached
// through their parent directory, itself opened without following symlinks, so that a symlink
// swapped in after the check leads nowhere.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "runtime/wasi/state.h"

namespace reglet::runtime::wasi {
namespace {

using Lookup = Call::Lookup;

OpenResult open_parent(const ResolvedPath& target) {
  return open_no_symlinks(target.parent, O_PATH | O_DIRECTORY);
}

bool is_dot(const std::string& name) {
  return name == "." || name == "..";
}

// The guest path at argument `ptr_arg` / `len_arg` (pointer and length).
Errno read_arg_path(Call& call, size_t ptr_arg, std::string& out) {
  return call.read_path(call.u32(ptr_arg), call.u32(ptr_arg + 1), out);
}

// For calls that act on an entry named with a trailing slash: POSIX requires a directory there.
Errno require_directory(int parent, const std::string& name) {
  struct stat info {};
  if (::fstatat(parent, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    return from_host_errno(errno);
  }
  return S_ISDIR(info.st_mode) ? Errno::success : Errno::notdir;
}

}  // namespace

Errno path_open(Call& call) {
  const uint32_t fd = call.u32(0);
  const uint32_t lookup_flags = call.u32(1);
  const uint32_t open_flags = call.u32(4);
  const uint64_t base = call.u64(5);
  const uint64_t inheriting = call.u64(6);
  const uint32_t fd_flags = call.u32(7);
  const uint32_t result_ptr = call.u32(8);

  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_open, dir); e != Errno::success) return e;
  if ((lookup_flags & ~kLookupSymlinkFollow) != 0 || (open_flags & ~uint32_t{oflags::all}) != 0 ||
      (fd_flags & ~uint32_t{fdflags::all}) != 0) {
    return Errno::inval;
  }
  const bool creat = (open_flags & oflags::creat) != 0;
  const bool trunc = (open_flags & oflags::trunc) != 0;
  const bool directory = (open_flags & oflags::directory) != 0;
  if (creat && directory) return Errno::inval;
  if ((creat && !(dir->rights_base & rights::path_create_file)) ||
      (trunc && !(dir->rights_base & rights::path_filestat_set_size)) ||
      ((base | inheriting) & ~dir->rights_inheriting) != 0) {
    return Errno::notcapable;
  }
  // Checked before anything happens on the host: a file created and then not reported would be
  // a side effect the guest cannot clean up.
  if (!call.memory().contains(result_ptr, 4)) return Errno::fault;
  std::string relative;
  if (Errno e = read_arg_path(call, 2, relative); e != Errno::success) return e;
  if (!call.state().has_free_slot()) return Errno::mfile;

  const bool follow = (lookup_flags & kLookupSymlinkFollow) != 0;
  ResolvedPath target;
  if (Errno e = call.resolve(*dir, relative, follow ? Lookup::follow : Lookup::no_follow, target);
      e != Errno::success) {
    return e;
  }

  // Which grants the open needs: write for creating, truncating or writing contents; read for
  // reading contents, and for an open that asks for neither (it still reveals metadata).
  const bool writes = (base & rights::writing) != 0;
  const bool needs_write = creat || trunc || writes;
  const bool needs_read = (base & rights::reading) != 0 || !needs_write;
  if (needs_read) {
    if (Errno e = call.check(FsAccess::read, target.path, fd, relative); e != Errno::success) {
      return e;
    }
  }
  if (needs_write) {
    if (Errno e = call.check(FsAccess::write, target.path, fd, relative); e != Errno::success) {
      return e;
    }
  }

  int flags = O_NOCTTY | O_NONBLOCK;  // never block the host on a FIFO or a device
  const bool host_write = writes || trunc;
  const bool host_read = (base & rights::reading) != 0 || !host_write;
  flags |= host_write ? (host_read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (creat) flags |= O_CREAT;
  if (open_flags & oflags::excl) flags |= O_EXCL;
  if (trunc) flags |= O_TRUNC;
  if (directory) flags |= O_DIRECTORY;
  if (fd_flags & fdflags::append) flags |= O_APPEND;
  if (fd_flags & fdflags::dsync) flags |= O_DSYNC;
  if (fd_flags & (fdflags::sync | fdflags::rsync)) flags |= O_SYNC;
  if (!follow) flags |= O_NOFOLLOW;

  OpenResult opened = open_no_symlinks(target.path, flags, 0666);
  if (auto* error = std::get_if<Errno>(&opened)) return *error;
  UniqueFd host = std::move(std::get<UniqueFd>(opened));
  struct stat info {};
  if (::fstat(host.get(), &info) != 0) return from_host_errno(errno);

  auto descriptor = std::make_unique<Descriptor>();
  descriptor->kind = S_ISDIR(info.st_mode) ? DescriptorKind::directory : DescriptorKind::file;
  descriptor->filetype = filetype_of(info.st_mode);
  descriptor->path = target.path;
  descriptor->host = std::move(host);
  descriptor->rights_base = base;
  descriptor->rights_inheriting = inheriting;
  descriptor->flags = static_cast<uint16_t>(fd_flags);
  descriptor->may_read = needs_read;
  descriptor->may_write = needs_write && host_write;
  auto number = call.state().insert(std::move(descriptor));
  if (!number) return Errno::mfile;
  call.store<uint32_t>(result_ptr, *number);
  return Errno::success;
}

Errno path_filestat_get(Call& call) {
  const uint32_t fd = call.u32(0);
  const uint32_t lookup_flags = call.u32(1);
  const uint32_t result_ptr = call.u32(4);
  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_filestat_get, dir); e != Errno::success) {
    return e;
  }
  if ((lookup_flags & ~kLookupSymlinkFollow) != 0) return Errno::inval;
  if (!call.memory().contains(result_ptr, layout::filestat_size)) return Errno::fault;
  std::string relative;
  if (Errno e = read_arg_path(call, 2, relative); e != Errno::success) return e;
  ResolvedPath target;
  const bool follow = (lookup_flags & kLookupSymlinkFollow) != 0;
  if (Errno e = call.resolve(*dir, relative, follow ? Lookup::follow : Lookup::no_follow, target);
      e != Errno::success) {
    return e;
  }
  if (Errno e = call.check(FsAccess::read, target.path, fd, relative); e != Errno::success) {
    return e;
  }
  OpenResult parent = open_parent(target);
  if (auto* error = std::get_if<Errno>(&parent)) return *error;
  // The last component is never followed here: with symlink_follow it is already resolved, so a
  // symlink found there now was swapped in after the check, and is reported as itself.
  struct stat info {};
  const int parent_fd = std::get<UniqueFd>(parent).get();
  const int result = target.name.empty()
                         ? ::fstat(parent_fd, &info)
                         : ::fstatat(parent_fd, target.name.c_str(), &info, AT_SYMLINK_NOFOLLOW);
  if (result != 0) return from_host_errno(errno);
  std::array<uint8_t, layout::filestat_size> record{};
  encode_filestat(info, record.data());
  call.memory().write(result_ptr, std::span<const uint8_t>(record.data(), record.size()));
  return Errno::success;
}

Errno path_readlink(Call& call) {
  const uint32_t fd = call.u32(0);
  const uint32_t buf = call.u32(3);
  const uint32_t buf_len = call.u32(4);
  const uint32_t used_ptr = call.u32(5);
  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_readlink, dir); e != Errno::success) {
    return e;
  }
  if (!call.memory().contains(buf, buf_len) || !call.memory().contains(used_ptr, 4)) {
    return Errno::fault;
  }
  std::string relative;
  if (Errno e = read_arg_path(call, 1, relative); e != Errno::success) return e;
  ResolvedPath target;
  if (Errno e = call.resolve(*dir, relative, Lookup::no_follow, target); e != Errno::success) {
    return e;
  }
  if (Errno e = call.check(FsAccess::read, target.path, fd, relative); e != Errno::success) {
    return e;
  }
  if (target.name.empty()) return Errno::inval;  // "/" is not a symlink
  OpenResult parent = open_parent(target);
  if (auto* error = std::get_if<Errno>(&parent)) return *error;
  std::array<char, kMaxPathBytes + 1> link{};
  const ssize_t length =
      ::readlinkat(std::get<UniqueFd>(parent).get(), target.name.c_str(), link.data(), link.size());
  if (length < 0) return from_host_errno(errno);
  // Truncated to the buffer without an error, as readlink(2) does; Go and wasi-libc grow their
  // buffer and retry when the result fills it.
  const auto take = static_cast<uint32_t>(std::min<size_t>(static_cast<size_t>(length), buf_len));
  call.memory().write(buf, std::string_view(link.data(), take));
  call.store<uint32_t>(used_ptr, take);
  return Errno::success;
}

Errno path_create_directory(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_create_directory, dir);
      e != Errno::success) {
    return e;
  }
  std::string relative;
  if (Errno e = read_arg_path(call, 1, relative); e != Errno::success) return e;
  ResolvedPath target;
  if (Errno e = call.resolve(*dir, relative, Lookup::entry, target); e != Errno::success) return e;
  if (target.name.empty() || is_dot(target.name)) return Errno::exist;
  if (Errno e = call.check(FsAccess::write, target.path, fd, relative); e != Errno::success) {
    return e;
  }
  OpenResult parent = open_parent(target);
  if (auto* error = std::get_if<Errno>(&parent)) return *error;
  if (::mkdirat(std::get<UniqueFd>(parent).get(), target.name.c_str(), 0777) != 0) {
    return from_host_errno(errno);
  }
  return Errno::success;
}

Errno path_remove_directory(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_remove_directory, dir);
      e != Errno::success) {
    return e;
  }
  std::string relative;
  if (Errno e = read_arg_path(call, 1, relative); e != Errno::success) return e;
  ResolvedPath target;
  if (Errno e = call.resolve(*dir, relative, Lookup::entry, target); e != Errno::success) return e;
  if (target.name.empty()) return Errno::busy;
  if (target.name == ".") return Errno::inval;
  if (target.name == "..") return Errno::notempty;
  if (Errno e = call.check(FsAccess::write, target.path, fd, relative); e != Errno::success) {
    return e;
  }
  OpenResult parent = open_parent(target);
  if (auto* error = std::get_if<Errno>(&parent)) return *error;
  if (::unlinkat(std::get<UniqueFd>(parent).get(), target.name.c_str(), AT_REMOVEDIR) != 0) {
    return from_host_errno(errno);
  }
  return Errno::success;
}

Errno path_unlink_file(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_unlink_file, dir); e != Errno::success) {
    return e;
  }
  std::string relative;
  if (Errno e = read_arg_path(call, 1, relative); e != Errno::success) return e;
  ResolvedPath target;
  if (Errno e = call.resolve(*dir, relative, Lookup::entry, target); e != Errno::success) return e;
  if (target.name.empty() || is_dot(target.name)) return Errno::isdir;
  if (Errno e = call.check(FsAccess::write, target.path, fd, relative); e != Errno::success) {
    return e;
  }
  OpenResult parent = open_parent(target);
  if (auto* error = std::get_if<Errno>(&parent)) return *error;
  const int parent_fd = std::get<UniqueFd>(parent).get();
  if (target.trailing_slash) {
    // "file/" names a directory that is not there; "dir/" is a directory, not a file.
    const Errno e = require_directory(parent_fd, target.name);
    return e == Errno::success ? Errno::isdir : e;
  }
  if (::unlinkat(parent_fd, target.name.c_str(), 0) != 0) return from_host_errno(errno);
  return Errno::success;
}

Errno path_rename(Call& call) {
  const uint32_t old_fd = call.u32(0);
  const uint32_t new_fd = call.u32(3);
  Descriptor* old_dir = nullptr;
  Descriptor* new_dir = nullptr;
  if (Errno e = call.lookup_directory(old_fd, rights::path_rename_source, old_dir);
      e != Errno::success) {
    return e;
  }
  if (Errno e = call.lookup_directory(new_fd, rights::path_rename_target, new_dir);
      e != Errno::success) {
    return e;
  }
  std::string old_relative, new_relative;
  if (Errno e = read_arg_path(call, 1, old_relative); e != Errno::success) return e;
  if (Errno e = read_arg_path(call, 4, new_relative); e != Errno::success) return e;
  ResolvedPath source, destination;
  if (Errno e = call.resolve(*old_dir, old_relative, Lookup::entry, source); e != Errno::success) {
    return e;
  }
  if (Errno e = call.resolve(*new_dir, new_relative, Lookup::entry, destination);
      e != Errno::success) {
    return e;
  }
  if (source.name.empty() || destination.name.empty()) return Errno::busy;
  if (is_dot(source.name) || is_dot(destination.name)) return Errno::inval;
  // Moving a file takes it out of the source (a write there) and makes its contents appear at
  // the destination: a file the plugin may not read must not move somewhere it may.
  if (Errno e = call.check(FsAccess::read, source.path, old_fd, old_relative);
      e != Errno::success) {
    return e;
  }
  if (Errno e = call.check(FsAccess::write, source.path, old_fd, old_relative);
      e != Errno::success) {
    return e;
  }
  if (Errno e = call.check(FsAccess::write, destination.path, new_fd, new_relative);
      e != Errno::success) {
    return e;
  }
  OpenResult old_parent = open_parent(source);
  if (auto* error = std::get_if<Errno>(&old_parent)) return *error;
  OpenResult new_parent = open_parent(destination);
  if (auto* error = std::get_if<Errno>(&new_parent)) return *error;
  const int old_parent_fd = std::get<UniqueFd>(old_parent).get();
  if (source.trailing_slash || destination.trailing_slash) {
    if (Errno e = require_directory(old_parent_fd, source.name); e != Errno::success) return e;
  }
  if (::renameat(old_parent_fd, source.name.c_str(), std::get<UniqueFd>(new_parent).get(),
                 destination.name.c_str()) != 0) {
    return from_host_errno(errno);
  }
  return Errno::success;
}

Errno path_symlink(Call& call) {
  const uint32_t fd = call.u32(2);
  Descriptor* dir = nullptr;
  if (Errno e = call.lookup_directory(fd, rights::path_symlink, dir); e != Errno::success) {
    return e;
  }
  std::string link_target, relative;
  if (Errno e = read_arg_path(call, 0, link_target); e != Errno::success) return e;
  if (Errno e = read_arg_path(call, 3, relative); e != Errno::success) return e;
  if (link_target.empty()) return Errno::noent;
  ResolvedPath target;
  if (Errno e = call.resolve(*dir, relative, Lookup::entry, target); e != Errno::success) return e;
  if (target.name.empty() || is_dot(target.name)) return Errno::exist;
  if (Errno e = call.check(FsAccess::write, target.path, fd, relative); e != Errno::success) {
    return e;
  }
  // Every access through a link is checked on where it leads, so a link cannot widen what this
  // plugin reaches. It could still redirect someone else who later writes through it; requiring
  // fs:write on where it points (resolved now, from the link's directory) limits that to places
  // the plugin could write itself.
  auto pointed = canonicalize_path(link_target, target.parent);
  if (!pointed.ok()) return Errno::acces;
  if (Errno e = call.check(FsAccess::write, *pointed, fd, link_target); e != Errno::success) {
    return e;
  }
  OpenResult parent = open_parent(target);
  if (auto* error = std::get_if<Errno>(&parent)) return *error;
  if (::symlinkat(link_target.c_str(), std::get<UniqueFd>(parent).get(), target.name.c_str()) !=
      0) {
    return from_host_errno(errno);
  }
  return Errno::success;
}

}  // namespace reglet::runtime::wasi
