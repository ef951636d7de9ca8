// String forms of the error codes. They are part of the JSON output (SPEC §2 and §4), so they are
// spelled exactly like the enumerators and must never change.
#include "reglet/error.h"

#include <array>
#include <string>
#include <string_view>
#include <utility>

namespace reglet {
namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 14> kErrorCodeNames{{
    {ErrorCode::invalid_module, "invalid_module"},
    {ErrorCode::abi_error, "abi_error"},
    {ErrorCode::invalid_config, "invalid_config"},
    {ErrorCode::timeout, "timeout"},
    {ErrorCode::cancelled, "cancelled"},
    {ErrorCode::memory_limit, "memory_limit"},
    {ErrorCode::stack_exhausted, "stack_exhausted"},
    {ErrorCode::trap, "trap"},
    {ErrorCode::capability_denied, "capability_denied"},
    {ErrorCode::invalid_argument, "invalid_argument"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::io_error, "io_error"},
    {ErrorCode::plugin_error, "plugin_error"},
    {ErrorCode::internal, "internal"},
}};

}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [candidate, name] : kErrorCodeNames) {
    if (candidate == code) return name;
  }
  // Only reachable through a cast of an out-of-range integer; report it as the host bug it is.
  return "internal";
}

std::optional<ErrorCode> error_code_from_string(std::string_view text) {
  for (const auto& [code, name] : kErrorCodeNames) {
    if (name == text) return code;
  }
  return std::nullopt;
}

std::string Error::to_string() const {
  std::string text(reglet::to_string(code));
  if (!message.empty()) {
    text += ": ";
    text += message;
  }
  return text;
}

}  // namespace reglet
