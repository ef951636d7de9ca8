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

#include "support/temp_dir.h"

namespace reglet::check::test {

using ::reglet::test::TempDir;

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
