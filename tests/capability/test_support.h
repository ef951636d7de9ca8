// Helpers for capability tests that need a real file system layout: a fresh temporary directory
// per test with files, directories and symlinks created in it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace reglet::testing {

// The kernel's own answer, used as an independent oracle for expected resolutions.
inline std::string real_path(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return {};
  return buffer;
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/reglet-capability-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
      return;
    }
    created_ = pattern;
    // TMPDIR itself may sit behind a symlink; tests compare against resolved paths.
    path_ = real_path(pattern);
  }
  ~TempDir() {
    std::error_code ignored;
    // remove_all does not follow symlinks, so links pointing outside are removed, not emptied.
    if (!created_.empty()) std::filesystem::remove_all(created_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute, symlink-free path of the directory, or of `relative` inside it.
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

  void mkdir(const std::string& relative) const {
    std::error_code error;
    std::filesystem::create_directories(*this / relative, error);
    ASSERT_FALSE(error) << "mkdir " << relative << ": " << error.message();
  }
  void write(const std::string& relative, const std::string& content = "x",
             mode_t mode = 0644) const {
    const std::string full = *this / relative;
    {
      std::ofstream out(full, std::ios::binary);
      ASSERT_TRUE(out.good()) << "cannot create " << full;
      out << content;
    }
    ASSERT_EQ(::chmod(full.c_str(), mode), 0);
  }
  void symlink(const std::string& target, const std::string& relative_link) const {
    ASSERT_EQ(::symlink(target.c_str(), (*this / relative_link).c_str()), 0)
        << "symlink " << relative_link << " -> " << target;
  }

 private:
  std::string created_;
  std::string path_;
};

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (previous_) {
      ::setenv(name_, previous_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

}  // namespace reglet::testing
