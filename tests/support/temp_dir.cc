#include "support/temp_dir.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace reglet::test {

TempDir::TempDir(std::string_view tag) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/reglet-" +
                        std::string(tag) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
    return;
  }
  created_ = pattern;
  char resolved[PATH_MAX];
  path_ = ::realpath(pattern.c_str(), resolved) != nullptr ? resolved : pattern;
}

TempDir::~TempDir() {
  if (created_.empty()) return;
  std::error_code ignored;
  for (auto it = std::filesystem::recursive_directory_iterator(
           created_, std::filesystem::directory_options::skip_permission_denied, ignored);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
    if (it->is_directory(ignored) && !it->is_symlink(ignored)) ::chmod(it->path().c_str(), 0755);
  }
  std::filesystem::remove_all(created_, ignored);
}

std::string TempDir::operator/(std::string_view relative) const {
  return path_ + "/" + std::string(relative);
}

void TempDir::mkdir(std::string_view relative) const {
  std::error_code error;
  std::filesystem::create_directories(*this / relative, error);
  EXPECT_FALSE(error) << "mkdir " << relative << ": " << error.message();
}

std::string TempDir::write(std::string_view relative, std::string_view content, mode_t mode) const {
  const std::string full = *this / relative;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path(), ignored);
  {
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    EXPECT_TRUE(out.good()) << "cannot create " << full;
    out << content;
  }
  EXPECT_EQ(::chmod(full.c_str(), mode), 0) << "chmod " << full;
  return full;
}

std::string TempDir::read(std::string_view relative) const {
  std::ifstream in(*this / relative, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool TempDir::exists(std::string_view relative) const {
  struct stat info {};
  return ::lstat((*this / relative).c_str(), &info) == 0;
}

void TempDir::symlink(std::string_view target, std::string_view relative_link) const {
  const std::string link = *this / relative_link;
  EXPECT_EQ(::symlink(std::string(target).c_str(), link.c_str()), 0)
      << "symlink " << link << " -> " << target;
}

}  // namespace reglet::test
