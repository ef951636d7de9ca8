#include "runtime/wasi/host_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "runtime/host/fs_support.h"

namespace reglet::runtime::wasi {

Errno from_host_errno(int host_errno) {
  switch (host_errno) {
    case 0:
      return Errno::success;
    case E2BIG:
      return Errno::toobig;
    case EACCES:
      return Errno::acces;
    case EADDRINUSE:
      return Errno::addrinuse;
    case EADDRNOTAVAIL:
      return Errno::addrnotavail;
    case EAFNOSUPPORT:
      return Errno::afnosupport;
    case EAGAIN:
      return Errno::again;  // == EWOULDBLOCK on Linux
    case EALREADY:
      return Errno::already;
    case EBADF:
      return Errno::badf;
    case EBADMSG:
      return Errno::badmsg;
    case EBUSY:
      return Errno::busy;
    case ECANCELED:
      return Errno::canceled;
    case ECHILD:
      return Errno::child;
    case ECONNABORTED:
      return Errno::connaborted;
    case ECONNREFUSED:
      return Errno::connrefused;
    case ECONNRESET:
      return Errno::connreset;
    case EDEADLK:
      return Errno::deadlk;  // == EDEADLOCK
    case EDESTADDRREQ:
      return Errno::destaddrreq;
    case EDOM:
      return Errno::dom;
    case EDQUOT:
      return Errno::dquot;
    case EEXIST:
      return Errno::exist;
    case EFAULT:
      return Errno::fault;
    case EFBIG:
      return Errno::fbig;
    case EHOSTUNREACH:
      return Errno::hostunreach;
    case EIDRM:
      return Errno::idrm;
    case EILSEQ:
      return Errno::ilseq;
    case EINPROGRESS:
      return Errno::inprogress;
    case EINTR:
      return Errno::intr;
    case EINVAL:
      return Errno::inval;
    case EIO:
      return Errno::io;
    case EISCONN:
      return Errno::isconn;
    case EISDIR:
      return Errno::isdir;
    case ELOOP:
      return Errno::loop;
    case EMFILE:
      return Errno::mfile;
    case EMLINK:
      return Errno::mlink;
    case EMSGSIZE:
      return Errno::msgsize;
    case EMULTIHOP:
      return Errno::multihop;
    case ENAMETOOLONG:
      return Errno::nametoolong;
    case ENETDOWN:
      return Errno::netdown;
    case ENETRESET:
      return Errno::netreset;
    case ENETUNREACH:
      return Errno::netunreach;
    case ENFILE:
      return Errno::nfile;
    case ENOBUFS:
      return Errno::nobufs;
    case ENODEV:
      return Errno::nodev;
    case ENOENT:
      return Errno::noent;
    case ENOEXEC:
      return Errno::noexec;
    case ENOLCK:
      return Errno::nolck;
    case ENOLINK:
      return Errno::nolink;
    case ENOMEM:
      return Errno::nomem;
    case ENOMSG:
      return Errno::nomsg;
    case ENOPROTOOPT:
      return Errno::noprotoopt;
    case ENOSPC:
      return Errno::nospc;
    case ENOSYS:
      return Errno::nosys;
    case ENOTCONN:
      return Errno::notconn;
    case ENOTDIR:
      return Errno::notdir;
    case ENOTEMPTY:
      return Errno::notempty;
    case ENOTRECOVERABLE:
      return Errno::notrecoverable;
    case ENOTSOCK:
      return Errno::notsock;
    case ENOTSUP:
      return Errno::notsup;  // == EOPNOTSUPP
    case ENOTTY:
      return Errno::notty;
    case ENXIO:
      return Errno::nxio;
    case EOVERFLOW:
      return Errno::overflow;
    case EOWNERDEAD:
      return Errno::ownerdead;
    case EPERM:
      return Errno::perm;
    case EPIPE:
      return Errno::pipe;
    case EPROTO:
      return Errno::proto;
    case EPROTONOSUPPORT:
      return Errno::protonosupport;
    case EPROTOTYPE:
      return Errno::prototype;
    case ERANGE:
      return Errno::range;
    case EROFS:
      return Errno::rofs;
    case ESPIPE:
      return Errno::spipe;
    case ESRCH:
      return Errno::srch;
    case ESTALE:
      return Errno::stale;
    case ETIMEDOUT:
      return Errno::timedout;
    case ETXTBSY:
      return Errno::txtbsy;
    case EXDEV:
      return Errno::xdev;
    default:
      return Errno::io;
  }
}

void DirCloser::operator()(DIR* dir) const {
  if (dir != nullptr) ::closedir(dir);
}

OpenResult open_no_symlinks(const std::string& path, int flags, mode_t mode) {
  host::OpenResult opened = host::open_no_symlinks(path, flags, mode);
  if (!opened) return from_host_errno(opened.error);
  return std::move(opened.fd);
}

Filetype filetype_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return Filetype::regular_file;
    case S_IFDIR:
      return Filetype::directory;
    case S_IFLNK:
      return Filetype::symbolic_link;
    case S_IFCHR:
      return Filetype::character_device;
    case S_IFBLK:
      return Filetype::block_device;
    case S_IFSOCK:
      return Filetype::socket_stream;
    default:
      return Filetype::unknown;  // FIFOs have no WASI file type
  }
}

Filetype filetype_of_dirent(unsigned char d_type) {
  switch (d_type) {
    case DT_REG:
      return Filetype::regular_file;
    case DT_DIR:
      return Filetype::directory;
    case DT_LNK:
      return Filetype::symbolic_link;
    case DT_CHR:
      return Filetype::character_device;
    case DT_BLK:
      return Filetype::block_device;
    case DT_SOCK:
      return Filetype::socket_stream;
    default:
      return Filetype::unknown;
  }
}

namespace {
uint64_t nanoseconds(const struct timespec& time) {
  if (time.tv_sec < 0) return 0;  // before 1970: WASI timestamps are unsigned
  return static_cast<uint64_t>(time.tv_sec) * 1'000'000'000ull +
         static_cast<uint64_t>(time.tv_nsec);
}
void put64(uint8_t* out, uint64_t value) {
  std::memcpy(out, &value, sizeof value);
}
}  // namespace

void encode_filestat(const struct stat& info, uint8_t out[64]) {
  std::memset(out, 0, 64);
  put64(out + 0, static_cast<uint64_t>(info.st_dev));
  put64(out + 8, static_cast<uint64_t>(info.st_ino));
  out[16] = static_cast<uint8_t>(filetype_of(info.st_mode));
  put64(out + 24, static_cast<uint64_t>(info.st_nlink));
  put64(out + 32, info.st_size < 0 ? 0 : static_cast<uint64_t>(info.st_size));
  put64(out + 40, nanoseconds(info.st_atim));
  put64(out + 48, nanoseconds(info.st_mtim));
  put64(out + 56, nanoseconds(info.st_ctim));
}

}  // namespace reglet::runtime::wasi
