// env_get, called directly with a fake Caller.
#include <cstdlib>

#include "host_fs/host_test_support.h"

namespace reglet::test {
namespace {

using nlohmann::json;
using runtime::host::env_get;

class EnvGet : public HostTest {
 protected:
  void SetUp() override {
    sandbox.set_environment({{"APP_MODE", "strict"},
                             {"AWS_REGION", "eu-west-1"},
                             {"AWS_SECRET", "s3cr3t"},
                             {"EMPTY", ""},
                             {"OTHER", "x"}});
  }
};

TEST_F(EnvGet, ReturnsAGrantedVariable) {
  sandbox.grant("env:APP_MODE");
  auto result = call(env_get, {{"name", "APP_MODE"}});
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_EQ(*result, (json{{"found", true}, {"value", "strict"}}));
  EXPECT_EQ(sandbox.audited("env:APP_MODE", "allow"), 1u);
}

TEST_F(EnvGet, GrantedButUnsetIsNotFoundWithoutError) {
  sandbox.grant("env:MISSING");
  sandbox.grant("env:EMPTY");
  EXPECT_EQ(*call(env_get, {{"name", "MISSING"}}), (json{{"found", false}, {"value", ""}}));
  EXPECT_EQ(*call(env_get, {{"name", "EMPTY"}}), (json{{"found", true}, {"value", ""}}));
}

TEST_F(EnvGet, DeniedOutsideTheGrant) {
  sandbox.grant("env:AWS_REGION");
  EXPECT_TRUE(IsError(call(env_get, {{"name", "AWS_SECRET"}}), ErrorCode::capability_denied,
                      "env:AWS_SECRET"));
  EXPECT_EQ(sandbox.audited("env:AWS_SECRET", "deny"), 1u);
  // The answer is the same for a variable that is not set at all.
  EXPECT_TRUE(IsError(call(env_get, {{"name", "NOT_SET"}}), ErrorCode::capability_denied));
}

TEST_F(EnvGet, GlobGrants) {
  sandbox.grant("env:AWS_*");
  EXPECT_EQ((*call(env_get, {{"name", "AWS_REGION"}}))["value"], "eu-west-1");
  EXPECT_EQ((*call(env_get, {{"name", "AWS_SECRET"}}))["value"], "s3cr3t");
  EXPECT_TRUE(IsError(call(env_get, {{"name", "APP_MODE"}}), ErrorCode::capability_denied));
}

TEST_F(EnvGet, ReadsTheRuntimeEnvironmentNotTheProcessOne) {
  ::setenv("REGLET_HOSTFS_PROCESS_ONLY", "leaked", 1);
  sandbox.grant("env:*");
  auto result = call(env_get, {{"name", "REGLET_HOSTFS_PROCESS_ONLY"}});
  ::unsetenv("REGLET_HOSTFS_PROCESS_ONLY");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)["found"], false);
}

TEST_F(EnvGet, BadNames) {
  sandbox.grant("env:*");
  EXPECT_TRUE(
      IsError(call(env_get, json::object()), ErrorCode::invalid_argument, "'name' is required"));
  EXPECT_TRUE(IsError(call(env_get, {{"name", 5}}), ErrorCode::invalid_argument,
                      "'name' must be a string"));
  EXPECT_TRUE(IsError(call(env_get, {{"name", ""}}), ErrorCode::invalid_argument, "empty"));
  EXPECT_TRUE(IsError(call(env_get, {{"name", "A=B"}}), ErrorCode::invalid_argument, "'='"));
  EXPECT_TRUE(IsError(call(env_get, {{"name", std::string("A\0B", 3)}}),
                      ErrorCode::invalid_argument, "NUL"));
  EXPECT_TRUE(IsError(call(env_get, {{"name", std::string(10000, 'A')}}),
                      ErrorCode::invalid_argument, "longer"));
  EXPECT_TRUE(sandbox.audit().empty());
}

TEST_F(EnvGet, PastTheDeadlineIsATimeout) {
  sandbox.grant("env:APP_MODE");
  EXPECT_TRUE(IsError(call(env_get, {{"name", "APP_MODE"}}, std::chrono::milliseconds(0)),
                      ErrorCode::timeout));
}

}  // namespace
}  // namespace reglet::test
