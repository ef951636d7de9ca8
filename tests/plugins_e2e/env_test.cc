// The `env` plugin end to end: variables of the reglet process, seen only when granted.
#include <gtest/gtest.h>

#include "plugins_e2e/e2e_support.h"

namespace reglet::e2e {
namespace {

const std::map<std::string, std::string> kEnvironment = {{"REGLET_E2E_SET", "some value"},
                                                         {"REGLET_E2E_OTHER", "hidden"}};

TEST(EnvPlugin, Found) {
  const RunResult result =
      observe("env", {{"name", "REGLET_E2E_SET"}}, {"env:REGLET_E2E_SET"}, {}, kEnvironment);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["status"], true);
  EXPECT_EQ(out["data"],
            json({{"name", "REGLET_E2E_SET"}, {"found", true}, {"value", "some value"}}));
}

TEST(EnvPlugin, NotFoundIsEvidence) {
  const RunResult result =
      observe("env", {{"name", "REGLET_E2E_UNSET"}}, {"env:REGLET_E2E_*"}, {}, kEnvironment);
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  json out = result.json_out();
  EXPECT_FALSE(out.contains("error"));
  EXPECT_EQ(out["status"], false);
  EXPECT_EQ(out["data"]["found"], false);
  EXPECT_EQ(out["data"]["value"], "");
}

TEST(EnvPlugin, NotGrantedIsDenied) {
  const RunResult result =
      observe("env", {{"name", "REGLET_E2E_OTHER"}}, {"env:REGLET_E2E_SET"}, {}, kEnvironment);
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  json out = result.json_out();
  EXPECT_EQ(out["error"]["code"], "capability_denied");
  EXPECT_NE(out["error"]["message"].get<std::string>().find("env:REGLET_E2E_OTHER"),
            std::string::npos)
      << out.dump();
  EXPECT_EQ(result.out.find("hidden"), std::string::npos);
}

TEST(EnvPlugin, MissingNameIsAConfigError) {
  const RunResult result = observe("env", json::object(), {"env:*"});
  EXPECT_EQ(result.exit_code, 2) << result.describe();
  EXPECT_EQ(result.json_out()["error"]["code"], "invalid_config");
}

}  // namespace
}  // namespace reglet::e2e
