// Durations ("30s", "1m30s", "500ms", "2h"; a bare number is seconds) and sizes ("256MiB", "64M",
// "1G", "4096"; binary multiples) as written in profiles and on the command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "reglet/error.h"

namespace reglet::check {

Result<std::chrono::milliseconds> parse_duration(std::string_view text);
Result<uint64_t> parse_size(std::string_view text);

}  // namespace reglet::check
