// fd_* functions: descriptors that are already open (stdio, the preopened root, and whatever
// path_open returned). Each checks the descriptor's rights; reads and writes of files were
// checked against the fs: grants when the file was opened.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>

#include "runtime/wasi/state.h"

namespace reglet::runtime::wasi {
namespace {

constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

std::vector<struct iovec> host_iovecs(const std::vector<std::span<uint8_t>>& buffers) {
  std::vector<struct iovec> iovecs;
  iovecs.reserve(buffers.size());
  for (const auto& buffer : buffers) iovecs.push_back({buffer.data(), buffer.size()});
  return iovecs;
}

template <class F>
ssize_t retry_eintr(F&& f) {
  ssize_t result;
  do {
    result = f();
  } while (result < 0 && errno == EINTR);
  return result;
}

// What read-like calls say for a descriptor that is not a file.
Errno not_a_file(const Descriptor& descriptor) {
  return descriptor.kind == DescriptorKind::directory ? Errno::isdir : Errno::spipe;
}

// fd_read/fd_pread (pwrite = false) and fd_write/fd_pwrite (true) on files.
Errno file_io(Call& call, Descriptor& descriptor, uint32_t fd, bool write,
              std::optional<uint64_t> offset, uint32_t iovs, uint32_t count, uint32_t result_ptr) {
  if (!call.memory().contains(result_ptr, 4)) return Errno::fault;
  std::vector<std::span<uint8_t>> buffers;
  if (Errno e = gather_iovecs(call.memory(), iovs, count, kMaxIoBytes, buffers);
      e != Errno::success) {
    return e;
  }
  if (offset && *offset > kMaxOffset) return Errno::inval;
  if (Errno e = call.check_descriptor(descriptor, write ? FsAccess::write : FsAccess::read, fd);
      e != Errno::success) {
    return e;
  }
  const std::vector<struct iovec> iovecs = host_iovecs(buffers);
  const int host = descriptor.host.get();
  const int n = static_cast<int>(iovecs.size());
  ssize_t done = 0;
  if (n > 0) {
    done = retry_eintr([&] {
      const auto at = static_cast<off_t>(offset.value_or(0));
      if (write)
        return offset ? ::pwritev(host, iovecs.data(), n, at) : ::writev(host, iovecs.data(), n);
      return offset ? ::preadv(host, iovecs.data(), n, at) : ::readv(host, iovecs.data(), n);
    });
    if (done < 0) return from_host_errno(errno);
  }
  call.store<uint32_t>(result_ptr, static_cast<uint32_t>(done));
  return Errno::success;
}

Errno stream_write(Call& call, const Descriptor& descriptor, uint32_t iovs, uint32_t count,
                   uint32_t result_ptr) {
  if (!call.memory().contains(result_ptr, 4)) return Errno::fault;
  std::vector<std::span<uint8_t>> buffers;
  if (Errno e = gather_iovecs(call.memory(), iovs, count, kMaxStreamBytes, buffers);
      e != Errno::success) {
    return e;
  }
  // A short write (over kMaxStreamBytes) is legal; libc and Go's os.File write the rest.
  std::string bytes;
  for (const auto& buffer : buffers)
    bytes.append(reinterpret_cast<const char*>(buffer.data()), buffer.size());
  call.context().write_stream(descriptor.kind == DescriptorKind::stdout_stream ? 1 : 2, bytes);
  call.store<uint32_t>(result_ptr, static_cast<uint32_t>(bytes.size()));
  return Errno::success;
}

}  // namespace

Errno fd_read(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_read, d); e != Errno::success) return e;
  if (d->kind == DescriptorKind::stdin_stream) {
    // stdin is empty: every read is at end of file. The iovecs are still checked.
    std::vector<std::span<uint8_t>> buffers;
    if (Errno e = gather_iovecs(call.memory(), call.u32(1), call.u32(2), 0, buffers);
        e != Errno::success) {
      return e;
    }
    return call.store<uint32_t>(call.u32(3), 0) ? Errno::success : Errno::fault;
  }
  if (d->kind != DescriptorKind::file) return not_a_file(*d);
  return file_io(call, *d, fd, false, std::nullopt, call.u32(1), call.u32(2), call.u32(3));
}

Errno fd_pread(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_read | rights::fd_seek, d); e != Errno::success) {
    return e;
  }
  if (d->kind != DescriptorKind::file) return not_a_file(*d);
  return file_io(call, *d, fd, false, call.u64(3), call.u32(1), call.u32(2), call.u32(4));
}

Errno fd_write(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_write, d); e != Errno::success) return e;
  if (d->kind == DescriptorKind::stdout_stream || d->kind == DescriptorKind::stderr_stream) {
    return stream_write(call, *d, call.u32(1), call.u32(2), call.u32(3));
  }
  if (d->kind != DescriptorKind::file) return not_a_file(*d);
  return file_io(call, *d, fd, true, std::nullopt, call.u32(1), call.u32(2), call.u32(3));
}

Errno fd_pwrite(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_write | rights::fd_seek, d); e != Errno::success) {
    return e;
  }
  if (d->kind != DescriptorKind::file) return not_a_file(*d);
  return file_io(call, *d, fd, true, call.u64(3), call.u32(1), call.u32(2), call.u32(4));
}

Errno fd_seek(Call& call) {
  const uint32_t fd = call.u32(0);
  const auto offset = static_cast<int64_t>(call.u64(1));
  const uint32_t whence = call.u32(2);
  const uint32_t result_ptr = call.u32(3);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, 0, d); e != Errno::success) return e;
  // Asking where we are needs only fd_tell, as in the specification's rights table.
  const bool tell_only = offset == 0 && whence == static_cast<uint32_t>(Whence::cur);
  const uint64_t needed =
      tell_only && (d->rights_base & rights::fd_tell) ? rights::fd_tell : rights::fd_seek;
  if ((d->rights_base & needed) == 0) return Errno::notcapable;
  if (whence > static_cast<uint32_t>(Whence::end)) return Errno::inval;
  if (!call.memory().contains(result_ptr, 8)) return Errno::fault;
  if (d->is_stream()) return Errno::spipe;
  if (d->kind != DescriptorKind::file) return Errno::badf;
  const int host_whence = whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : SEEK_END;
  const off_t position = ::lseek(d->host.get(), static_cast<off_t>(offset), host_whence);
  if (position < 0) return from_host_errno(errno);
  call.store<uint64_t>(result_ptr, static_cast<uint64_t>(position));
  return Errno::success;
}

Errno fd_tell(Call& call) {
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(call.u32(0), rights::fd_tell, d); e != Errno::success) return e;
  if (!call.memory().contains(call.u32(1), 8)) return Errno::fault;
  if (d->is_stream()) return Errno::spipe;
  if (d->kind != DescriptorKind::file) return Errno::badf;
  const off_t position = ::lseek(d->host.get(), 0, SEEK_CUR);
  if (position < 0) return from_host_errno(errno);
  call.store<uint64_t>(call.u32(1), static_cast<uint64_t>(position));
  return Errno::success;
}

Errno fd_close(Call& call) {
  const uint32_t fd = call.u32(0);
  if (call.state().get(fd) == nullptr) return Errno::badf;
  call.state().table[fd].reset();  // the descriptor's RAII handles close the host side
  return Errno::success;
}

namespace {
Errno sync_common(Call& call, uint64_t right, bool data_only) {
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(call.u32(0), right, d); e != Errno::success) return e;
  if (d->is_stream()) return Errno::success;  // lines go to the log as they are completed
  if (Errno e = ensure_host(*d); e != Errno::success) return e;
  const int result = data_only ? ::fdatasync(d->host.get()) : ::fsync(d->host.get());
  return result == 0 ? Errno::success : from_host_errno(errno);
}
}  // namespace

Errno fd_sync(Call& call) {
  return sync_common(call, rights::fd_sync, false);
}
Errno fd_datasync(Call& call) {
  return sync_common(call, rights::fd_datasync, true);
}

Errno fd_advise(Call& call) {
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(call.u32(0), rights::fd_advise, d); e != Errno::success) return e;
  const uint64_t offset = call.u64(1);
  const uint64_t length = call.u64(2);
  const uint32_t advice = call.u32(3);
  if (advice > kAdviceMax || offset > kMaxOffset || length > kMaxOffset) return Errno::inval;
  if (d->is_stream()) return Errno::spipe;
  if (d->kind != DescriptorKind::file) return Errno::badf;
  static constexpr std::array<int, kAdviceMax + 1> kHostAdvice = {
      POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
      POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  const int result = ::posix_fadvise(d->host.get(), static_cast<off_t>(offset),
                                     static_cast<off_t>(length), kHostAdvice[advice]);
  return result == 0 ? Errno::success : from_host_errno(result);
}

Errno fd_fdstat_get(Call& call) {
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(call.u32(0), 0, d); e != Errno::success) return e;
  std::array<uint8_t, layout::fdstat_size> stat{};
  stat[0] = static_cast<uint8_t>(d->filetype);
  std::memcpy(stat.data() + 2, &d->flags, 2);
  std::memcpy(stat.data() + 8, &d->rights_base, 8);
  std::memcpy(stat.data() + 16, &d->rights_inheriting, 8);
  return call.memory().write(call.u32(1), std::span<const uint8_t>(stat.data(), stat.size()))
             ? Errno::success
             : Errno::fault;
}

Errno fd_fdstat_set_flags(Call& call) {
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(call.u32(0), rights::fd_fdstat_set_flags, d); e != Errno::success) {
    return e;
  }
  const uint32_t flags = call.u32(1);
  if ((flags & ~uint32_t{fdflags::all}) != 0) return Errno::inval;
  // Linux cannot change the synchronisation flags of an open file (F_SETFL ignores them).
  constexpr uint16_t kSyncFlags = fdflags::dsync | fdflags::rsync | fdflags::sync;
  if ((flags & kSyncFlags) != (d->flags & kSyncFlags)) return Errno::notsup;
  if (d->kind == DescriptorKind::file && ((flags ^ d->flags) & fdflags::append) != 0) {
    const int current = ::fcntl(d->host.get(), F_GETFL);
    if (current < 0) return from_host_errno(errno);
    const int updated = (flags & fdflags::append) ? current | O_APPEND : current & ~O_APPEND;
    if (::fcntl(d->host.get(), F_SETFL, updated) != 0) return from_host_errno(errno);
  }
  // NONBLOCK is only remembered: no descriptor here ever blocks (host files are opened with
  // O_NONBLOCK, stdin is empty, stdout and stderr are buffered in memory).
  d->flags = static_cast<uint16_t>(flags);
  return Errno::success;
}

Errno fd_fdstat_set_rights(Call& call) {
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(call.u32(0), 0, d); e != Errno::success) return e;
  const uint64_t base = call.u64(1);
  const uint64_t inheriting = call.u64(2);
  // Rights can only be dropped, never gained.
  if ((base & ~d->rights_base) != 0 || (inheriting & ~d->rights_inheriting) != 0) {
    return Errno::notcapable;
  }
  d->rights_base = base;
  d->rights_inheriting = inheriting;
  return Errno::success;
}

Errno fd_filestat_get(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_filestat_get, d); e != Errno::success) return e;
  if (!call.memory().contains(call.u32(1), layout::filestat_size)) return Errno::fault;
  std::array<uint8_t, layout::filestat_size> record{};
  if (d->is_stream()) {
    record[16] = static_cast<uint8_t>(Filetype::character_device);
  } else {
    // Metadata is read access: a descriptor opened only for writing (or the root, opened by no
    // one) is checked now.
    if (Errno e = call.check_descriptor(*d, FsAccess::read, fd); e != Errno::success) return e;
    if (Errno e = ensure_host(*d); e != Errno::success) return e;
    struct stat info {};
    if (::fstat(d->host.get(), &info) != 0) return from_host_errno(errno);
    encode_filestat(info, record.data());
  }
  call.memory().write(call.u32(1), std::span<const uint8_t>(record.data(), record.size()));
  return Errno::success;
}

Errno fd_filestat_set_size(Call& call) {
  const uint32_t fd = call.u32(0);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_filestat_set_size, d); e != Errno::success) return e;
  const uint64_t size = call.u64(1);
  if (d->is_stream()) return Errno::inval;
  if (d->kind == DescriptorKind::directory) return Errno::isdir;
  if (size > kMaxOffset) return Errno::inval;
  // Only a descriptor opened for writing (fs:write checked, host side writable) may truncate.
  if (!d->may_write) return Errno::badf;
  if (::ftruncate(d->host.get(), static_cast<off_t>(size)) != 0) return from_host_errno(errno);
  return Errno::success;
}

Errno fd_prestat_get(Call& call) {
  Descriptor* d = call.state().get(call.u32(0));
  if (d == nullptr || !d->preopen) return Errno::badf;
  std::array<uint8_t, layout::prestat_size> prestat{};
  prestat[0] = kPreopenTypeDir;
  const auto length = static_cast<uint32_t>(d->path.size());
  std::memcpy(prestat.data() + 4, &length, 4);
  return call.memory().write(call.u32(1), std::span<const uint8_t>(prestat.data(), prestat.size()))
             ? Errno::success
             : Errno::fault;
}

Errno fd_prestat_dir_name(Call& call) {
  Descriptor* d = call.state().get(call.u32(0));
  if (d == nullptr || !d->preopen) return Errno::badf;
  if (call.u32(2) < d->path.size()) return Errno::nametoolong;
  return call.memory().write(call.u32(1), d->path) ? Errno::success : Errno::fault;
}

Errno fd_renumber(Call& call) {
  const uint32_t from = call.u32(0);
  const uint32_t to = call.u32(1);
  // Both must be open: renumbering never grows the table past what path_open could.
  if (call.state().get(from) == nullptr || call.state().get(to) == nullptr) return Errno::badf;
  if (from != to) call.state().table[to] = std::move(call.state().table[from]);
  return Errno::success;
}

namespace {

// Writes one dirent (header and name) at `used`, truncated to what is left of the buffer.
// Returns false when it did not fit whole.
bool emit_dirent(const GuestMemory& memory, uint32_t buf, uint32_t buf_len, uint32_t& used,
                 const PendingDirent& entry) {
  std::string bytes(layout::dirent_size, '\0');
  const uint64_t next = entry.index + 1;
  const auto name_length = static_cast<uint32_t>(entry.name.size());
  std::memcpy(bytes.data(), &next, 8);
  std::memcpy(bytes.data() + 8, &entry.ino, 8);
  std::memcpy(bytes.data() + 16, &name_length, 4);
  bytes[20] = static_cast<char>(entry.type);
  bytes += entry.name;
  const uint32_t room = buf_len - used;
  const auto take = static_cast<uint32_t>(std::min<size_t>(room, bytes.size()));
  memory.write(uint64_t{buf} + used, std::string_view(bytes.data(), take));
  used += take;
  return take == bytes.size();
}

}  // namespace

Errno fd_readdir(Call& call) {
  const uint32_t fd = call.u32(0);
  const uint32_t buf = call.u32(1);
  const uint32_t buf_len = call.u32(2);
  const uint64_t cookie = call.u64(3);
  const uint32_t used_ptr = call.u32(4);
  Descriptor* d = nullptr;
  if (Errno e = call.lookup(fd, rights::fd_readdir, d); e != Errno::success) return e;
  if (d->kind != DescriptorKind::directory) return Errno::notdir;
  if (!call.memory().contains(buf, buf_len) || !call.memory().contains(used_ptr, 4)) {
    return Errno::fault;
  }
  if (Errno e = call.check_descriptor(*d, FsAccess::read, fd); e != Errno::success) return e;

  DirectoryStream& stream = d->stream;
  if (!stream.dir) {
    if (Errno e = ensure_host(*d); e != Errno::success) return e;
    // A stream of its own (not a dup): its offset is not shared with the descriptor.
    UniqueFd own(::openat(d->host.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!own) return from_host_errno(errno);
    DIR* dir = ::fdopendir(own.get());
    if (dir == nullptr) return from_host_errno(errno);
    own.release();
    stream.dir.reset(dir);
    stream.position = 0;
    stream.pending.reset();
  }

  std::optional<PendingDirent> first;
  if (stream.pending && cookie == stream.pending->index) {
    first = std::move(stream.pending);
    stream.pending.reset();
  } else if (cookie != stream.position) {
    // A cookie from elsewhere: start over and skip. Bounded by the directory's size, not by the
    // cookie, because the stream ends.
    ::rewinddir(stream.dir.get());
    stream.position = 0;
    stream.pending.reset();
    while (stream.position < cookie && ::readdir(stream.dir.get()) != nullptr) ++stream.position;
  } else {
    stream.pending.reset();
  }

  uint32_t used = 0;
  if (first && !emit_dirent(call.memory(), buf, buf_len, used, *first)) {
    stream.pending = std::move(first);
  } else {
    while (used < buf_len) {
      errno = 0;
      const struct dirent* entry = ::readdir(stream.dir.get());
      if (entry == nullptr) {
        if (errno != 0) return from_host_errno(errno);
        break;
      }
      PendingDirent item;
      item.index = stream.position++;
      item.ino = entry->d_ino;
      item.name = entry->d_name;
      item.type = filetype_of_dirent(entry->d_type);
      if (entry->d_type == DT_UNKNOWN) {
        struct stat info {};
        if (::fstatat(::dirfd(stream.dir.get()), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0) {
          item.type = filetype_of(info.st_mode);
        }
      }
      if (!emit_dirent(call.memory(), buf, buf_len, used, item)) {
        stream.pending = std::move(item);
        break;
      }
    }
  }
  call.store<uint32_t>(used_ptr, used);
  return Errno::success;
}

}  // namespace reglet::runtime::wasi
