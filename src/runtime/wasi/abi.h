// The numbers and memory layouts of WASI preview1, as fixed by the witx files of
// github.com/WebAssembly/WASI (legacy/preview1) and mirrored by wasi-libc's wasi/api.h. Every
// value here is part of the ABI: a guest compiled against api.h reads exactly these.
#pragma once

#include <cstdint>

namespace reglet::runtime::wasi {

// WASI's errno numbering (not Linux's).
enum class Errno : uint16_t {
  success = 0,
  toobig = 1,
  acces = 2,
  addrinuse = 3,
  addrnotavail = 4,
  afnosupport = 5,
  again = 6,
  already = 7,
  badf = 8,
  badmsg = 9,
  busy = 10,
  canceled = 11,
  child = 12,
  connaborted = 13,
  connrefused = 14,
  connreset = 15,
  deadlk = 16,
  destaddrreq = 17,
  dom = 18,
  dquot = 19,
  exist = 20,
  fault = 21,
  fbig = 22,
  hostunreach = 23,
  idrm = 24,
  ilseq = 25,
  inprogress = 26,
  intr = 27,
  inval = 28,
  io = 29,
  isconn = 30,
  isdir = 31,
  loop = 32,
  mfile = 33,
  mlink = 34,
  msgsize = 35,
  multihop = 36,
  nametoolong = 37,
  netdown = 38,
  netreset = 39,
  netunreach = 40,
  nfile = 41,
  nobufs = 42,
  nodev = 43,
  noent = 44,
  noexec = 45,
  nolck = 46,
  nolink = 47,
  nomem = 48,
  nomsg = 49,
  noprotoopt = 50,
  nospc = 51,
  nosys = 52,
  notconn = 53,
  notdir = 54,
  notempty = 55,
  notrecoverable = 56,
  notsock = 57,
  notsup = 58,
  notty = 59,
  nxio = 60,
  overflow = 61,
  ownerdead = 62,
  perm = 63,
  pipe = 64,
  proto = 65,
  protonosupport = 66,
  prototype = 67,
  range = 68,
  rofs = 69,
  spipe = 70,
  srch = 71,
  stale = 72,
  timedout = 73,
  txtbsy = 74,
  xdev = 75,
  notcapable = 76,
};

// Maps a host (Linux) errno value onto WASI's numbering; unknown values become EIO.
Errno from_host_errno(int host_errno);

namespace rights {
inline constexpr uint64_t fd_datasync = 1ull << 0;
inline constexpr uint64_t fd_read = 1ull << 1;
inline constexpr uint64_t fd_seek = 1ull << 2;
inline constexpr uint64_t fd_fdstat_set_flags = 1ull << 3;
inline constexpr uint64_t fd_sync = 1ull << 4;
inline constexpr uint64_t fd_tell = 1ull << 5;
inline constexpr uint64_t fd_write = 1ull << 6;
inline constexpr uint64_t fd_advise = 1ull << 7;
inline constexpr uint64_t fd_allocate = 1ull << 8;
inline constexpr uint64_t path_create_directory = 1ull << 9;
inline constexpr uint64_t path_create_file = 1ull << 10;
inline constexpr uint64_t path_link_source = 1ull << 11;
inline constexpr uint64_t path_link_target = 1ull << 12;
inline constexpr uint64_t path_open = 1ull << 13;
inline constexpr uint64_t fd_readdir = 1ull << 14;
inline constexpr uint64_t path_readlink = 1ull << 15;
inline constexpr uint64_t path_rename_source = 1ull << 16;
inline constexpr uint64_t path_rename_target = 1ull << 17;
inline constexpr uint64_t path_filestat_get = 1ull << 18;
inline constexpr uint64_t path_filestat_set_size = 1ull << 19;
inline constexpr uint64_t path_filestat_set_times = 1ull << 20;
inline constexpr uint64_t fd_filestat_get = 1ull << 21;
inline constexpr uint64_t fd_filestat_set_size = 1ull << 22;
inline constexpr uint64_t fd_filestat_set_times = 1ull << 23;
inline constexpr uint64_t path_symlink = 1ull << 24;
inline constexpr uint64_t path_remove_directory = 1ull << 25;
inline constexpr uint64_t path_unlink_file = 1ull << 26;
inline constexpr uint64_t poll_fd_readwrite = 1ull << 27;
inline constexpr uint64_t sock_shutdown = 1ull << 28;
inline constexpr uint64_t sock_accept = 1ull << 29;

inline constexpr uint64_t all = (1ull << 30) - 1;

// What a directory descriptor can do itself (wasmtime's DIRECTORY_BASE_RIGHTS).
inline constexpr uint64_t directory_base =
    fd_fdstat_set_flags | fd_sync | fd_advise | path_create_directory | path_create_file |
    path_link_source | path_link_target | path_open | fd_readdir | path_readlink |
    path_rename_source | path_rename_target | path_filestat_get | path_filestat_set_size |
    path_filestat_set_times | fd_filestat_get | fd_filestat_set_times | path_symlink |
    path_unlink_file | path_remove_directory | poll_fd_readwrite;

// Rights whose presence in path_open means the descriptor reads or writes file contents, and so
// which fs: grant the open needs. Both toolchains agree on these: wasi-libc and Go leave FD_READ
// and FD_READDIR out of write-only opens, and FD_WRITE and FD_ALLOCATE out of read-only ones
// (Go keeps FD_FILESTAT_SET_SIZE in read-only opens, so it cannot be a write trigger).
inline constexpr uint64_t reading = fd_read | fd_readdir;
inline constexpr uint64_t writing = fd_write | fd_allocate;
}  // namespace rights

enum class Filetype : uint8_t {
  unknown = 0,
  block_device = 1,
  character_device = 2,
  directory = 3,
  regular_file = 4,
  socket_dgram = 5,
  socket_stream = 6,
  symbolic_link = 7,
};

namespace fdflags {
inline constexpr uint16_t append = 1 << 0;
inline constexpr uint16_t dsync = 1 << 1;
inline constexpr uint16_t nonblock = 1 << 2;
inline constexpr uint16_t rsync = 1 << 3;
inline constexpr uint16_t sync = 1 << 4;
inline constexpr uint16_t all = append | dsync | nonblock | rsync | sync;
}  // namespace fdflags

namespace oflags {
inline constexpr uint16_t creat = 1 << 0;
inline constexpr uint16_t directory = 1 << 1;
inline constexpr uint16_t excl = 1 << 2;
inline constexpr uint16_t trunc = 1 << 3;
inline constexpr uint16_t all = creat | directory | excl | trunc;
}  // namespace oflags

inline constexpr uint32_t kLookupSymlinkFollow = 1;

enum class Whence : uint8_t { set = 0, cur = 1, end = 2 };

enum class ClockId : uint32_t {
  realtime = 0,
  monotonic = 1,
  process_cputime = 2,
  thread_cputime = 3
};

enum class EventType : uint8_t { clock = 0, fd_read = 1, fd_write = 2 };
inline constexpr uint16_t kSubscriptionClockAbstime = 1;
inline constexpr uint16_t kEventFdReadwriteHangup = 1;

inline constexpr uint8_t kPreopenTypeDir = 0;

inline constexpr uint8_t kAdviceMax = 5;  // normal, sequential, random, willneed, dontneed, noreuse

// Sizes and offsets (api.h's _Static_asserts).
namespace layout {
inline constexpr uint32_t iovec_size = 8;  // buf u32 @0, buf_len u32 @4

inline constexpr uint32_t fdstat_size =
    24;  // filetype u8 @0, flags u16 @2, base u64 @8, inh. u64 @16

inline constexpr uint32_t filestat_size = 64;  // dev, ino, filetype @16, nlink @24, size, a/m/ctim

inline constexpr uint32_t prestat_size = 8;  // tag u8 @0, pr_name_len u32 @4

inline constexpr uint32_t dirent_size =
    24;  // d_next u64 @0, d_ino u64 @8, namlen u32 @16, type @20

inline constexpr uint32_t subscription_size = 48;  // userdata u64 @0, tag u8 @8, union @16
inline constexpr uint32_t sub_tag = 8;
inline constexpr uint32_t sub_clock_id = 16;
inline constexpr uint32_t sub_clock_timeout = 24;
inline constexpr uint32_t sub_clock_precision = 32;
inline constexpr uint32_t sub_clock_flags = 40;
inline constexpr uint32_t sub_fd = 16;

inline constexpr uint32_t event_size = 32;  // userdata u64 @0, error u16 @8, type u8 @10
inline constexpr uint32_t event_error = 8;
inline constexpr uint32_t event_type = 10;
inline constexpr uint32_t event_nbytes = 16;
inline constexpr uint32_t event_flags = 24;
}  // namespace layout

}  // namespace reglet::runtime::wasi
