// The string forms of error codes are part of the JSON output, so they are pinned here.
#include "reglet/error.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace reglet {
namespace {

TEST(ErrorCodes, StringFormsAreTheEnumeratorNames) {
  const std::vector<std::pair<ErrorCode, std::string>> expected = {
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
  };
  for (const auto& [code, name] : expected) {
    EXPECT_EQ(to_string(code), name);
    EXPECT_EQ(error_code_from_string(name), code) << name;
  }
}

TEST(ErrorCodes, UnknownStringsAreRejected) {
  EXPECT_FALSE(error_code_from_string("").has_value());
  EXPECT_FALSE(error_code_from_string("Capability_Denied").has_value());
  EXPECT_FALSE(error_code_from_string("capability denied").has_value());
  EXPECT_FALSE(error_code_from_string("timeout ").has_value());
}

TEST(ErrorCodes, ErrorToStringIsCodeColonMessage) {
  EXPECT_EQ(make_error(ErrorCode::timeout, "deadline of 30000 ms passed").to_string(),
            "timeout: deadline of 30000 ms passed");
  EXPECT_EQ((Error{ErrorCode::not_found, ""}.to_string()), "not_found");
}

}  // namespace
}  // namespace reglet
