// Helpers for the `reglet check` layer tests: a temporary directory per test, and locating text
// in a profile so that tests can assert error locations without hand-counting columns.
#pragma once

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace reglet::check::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/reglet-check-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
      return;
    }
    created_ = pattern;
    char resolved[PATH_MAX];
    // TMPDIR may sit behind a symlink; grants compare resolved paths.
    path_ = ::realpath(pattern.c_str(), resolved) != nullptr ? resolved : pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!created_.empty()) std::filesystem::remove_all(created_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

  std::string write(const std::string& relative, const std::string& content) const {
    const std::filesystem::path file = *this / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    return file.string();
  }
  std::string read(const std::string& relative) const {
    std::ifstream in(*this / relative, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  bool exists(const std::string& relative) const {
    return std::filesystem::exists(*this / relative);
  }

 private:
  std::string created_;
  std::string path_;
};

// "FILE:LINE:COLUMN" of the `nth` (0-based) occurrence of `needle` in `text`, plus `offset`
// columns, 1-based like the loader's messages. Fails the test when the needle is not there.
inline std::string location_of(std::string_view file, std::string_view text,
                               std::string_view needle, int nth = 0, int offset = 0) {
  size_t at = text.find(needle);
  for (int i = 0; i < nth && at != std::string_view::npos; ++i) at = text.find(needle, at + 1);
  if (at == std::string_view::npos) {
    ADD_FAILURE() << "'" << needle << "' not found in the profile";
    return std::string(file) + ":?:?";
  }
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::string(file) + ":" + std::to_string(line) + ":" +
         std::to_string(at - line_start + 1 + offset);
}

}  // namespace reglet::check::test
