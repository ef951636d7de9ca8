// Host file-system primitives for WASI: descriptors owned by RAII handles, and an open that never
// follows a symlink, so that a path checked against the grants is the path that gets opened.
#pragma once

#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "runtime/wasi/abi.h"

namespace reglet::runtime::wasi {

// Owns one host file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();
  // Gives up ownership (to fdopendir, which then closes it).
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

struct DirCloser {
  void operator()(DIR* dir) const;
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

// A host descriptor, or the WASI errno of why there is none.
using OpenResult = std::variant<UniqueFd, Errno>;

// Opens an absolute, canonical (symlink-free) path without following any symlink on the way,
// including the last component: a symlink swapped in after the capability check makes the open
// fail (ELOOP) instead of leading somewhere unchecked. Uses openat2(RESOLVE_NO_SYMLINKS) and, on
// kernels without it, a component-by-component walk with O_NOFOLLOW. O_CLOEXEC is always added.
OpenResult open_no_symlinks(const std::string& path, int flags, mode_t mode = 0);

// The WASI file type of a host st_mode.
Filetype filetype_of(mode_t mode);
// The WASI file type of a readdir entry's d_type (unknown when the file system does not say).
Filetype filetype_of_dirent(unsigned char d_type);

// A filestat record for `info`, in guest layout.
void encode_filestat(const struct stat& info, uint8_t out[64]);

}  // namespace reglet::runtime::wasi
