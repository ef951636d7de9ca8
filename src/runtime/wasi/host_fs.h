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

#include "runtime/util/unique_fd.h"
#include "runtime/wasi/abi.h"

namespace reglet::runtime::wasi {

// The runtime's owned descriptor (closed on destruction; close() is not retried on EINTR).
using UniqueFd = runtime::UniqueFd;

struct DirCloser {
  void operator()(DIR* dir) const;
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

// A host descriptor, or the WASI errno of why there is none.
using OpenResult = std::variant<UniqueFd, Errno>;

// Opens an absolute, canonical (symlink-free) path without following any symlink on the way,
// including the last component: a symlink swapped in after the capability check makes the open
// fail (ELOOP) instead of leading somewhere unchecked. The host functions' open
// (host::open_no_symlinks: openat2 with RESOLVE_NO_SYMLINKS, else a walk with O_NOFOLLOW), its
// errno in WASI's terms.
OpenResult open_no_symlinks(const std::string& path, int flags, mode_t mode = 0);

// The WASI file type of a host st_mode.
Filetype filetype_of(mode_t mode);
// The WASI file type of a readdir entry's d_type (unknown when the file system does not say).
Filetype filetype_of_dirent(unsigned char d_type);

// A filestat record for `info`, in guest layout.
void encode_filestat(const struct stat& info, uint8_t out[64]);

}  // namespace reglet::runtime::wasi
