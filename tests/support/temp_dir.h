// Test helper: a temporary directory of the test's own, removed with its contents.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace reglet::test {

// Created under $TMPDIR (or /tmp) as reglet-<tag>-XXXXXX. path() is the resolved path: TMPDIR may
// sit behind a symlink, and grants and expectations compare resolved paths. The destructor makes
// every directory writable again (tests chmod things to 000) and removes the tree without following
// links, so a link pointing outside is removed, not emptied. Failures are test failures.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  const std::string& str() const { return path_; }
  // path()/relative.
  std::string operator/(std::string_view relative) const;

  // Creates the directory and its parents.
  void mkdir(std::string_view relative) const;
  // Writes content to path()/relative (parents created) with exactly `mode` (the umask undone);
  // returns the full path.
  std::string write(std::string_view relative, std::string_view content = "x",
                    mode_t mode = 0644) const;
  std::string read(std::string_view relative) const;
  // Whether anything is there, a dangling link included (links are not followed).
  bool exists(std::string_view relative) const;
  // path()/relative_link -> target (target as given: relative or absolute).
  void symlink(std::string_view target, std::string_view relative_link) const;

 private:
  std::string created_;
  std::string path_;
};

}  // namespace reglet::test
