// Helpers for the fs/env/exec host-function tests: a fresh temporary directory per test, runtime
// services with captured audit records, a Caller stand-in for calling handlers directly, and
// assertions on handler results.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "reglet/runtime.h"
#include "runtime/host/context.h"
#include "runtime/host/handlers.h"
#include "support/temp_dir.h"

namespace reglet::test {

using ::reglet::test::TempDir;

// Runtime services with captured audit records, and the instance context of one plugin.
class Sandbox {
 public:
  static constexpr const char* kPlugin = "hostfs-test";

  Sandbox() : services_(std::make_shared<runtime::Services>()) {
    services_->options.audit_log = std::make_shared<AuditLog>([this](const std::string& line) {
      std::lock_guard lock(mutex_);
      audit_.push_back(nlohmann::json::parse(line));
    });
  }

  void grant(const std::string& capability) {
    auto status = services_->capabilities.grant(kPlugin, capability);
    ASSERT_TRUE(status.ok()) << capability << ": " << status.error().to_string();
  }
  void set_environment(std::map<std::string, std::string> environment) {
    services_->environment = std::move(environment);
  }
  void set_max_response_bytes(size_t bytes) { services_->options.max_host_response_bytes = bytes; }
  std::unique_ptr<runtime::InstanceContext> make_context() const {
    return std::make_unique<runtime::InstanceContext>(services_, kPlugin,
                                                      services_->capabilities.grants(kPlugin));
  }

  std::vector<nlohmann::json> audit() const {
    std::lock_guard lock(mutex_);
    return audit_;
  }
  // Audit records with this capability and decision ("allow" or "deny").
  size_t audited(const std::string& capability, const std::string& decision) const {
    size_t count = 0;
    for (const auto& entry : audit()) {
      if (entry.value("capability", "") == capability && entry.value("decision", "") == decision) {
        ++count;
      }
    }
    return count;
  }

 private:
  std::shared_ptr<runtime::Services> services_;
  mutable std::mutex mutex_;
  std::vector<nlohmann::json> audit_;
};

// A Caller for handlers called directly: no guest memory, no exports, a controllable deadline.
class FakeCaller final : public engine::Caller {
 public:
  explicit FakeCaller(runtime::InstanceContext& context,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30))
      : context_(context), control_(engine::ExecutionControl::Clock::now() + timeout) {}
  std::span<uint8_t> memory() override { return {}; }
  engine::Outcome<std::vector<engine::Value>> call(std::string_view,
                                                   std::span<const engine::Value>) override {
    return engine::Trap{engine::TrapKind::trap, "no guest in this test"};
  }
  engine::ExecutionControl& control() override { return control_; }
  void* host_data() override { return &context_; }

 private:
  runtime::InstanceContext& context_;
  engine::ExecutionControl control_;
};

// A test fixture with a fresh temp dir and sandbox; call() runs a handler with the grants given
// so far.
class HostTest : public ::testing::Test {
 protected:
  using Handler = runtime::host::Handler;

  Result<nlohmann::json> call(Handler* handler, const nlohmann::json& request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto context = sandbox.make_context();
    FakeCaller caller(*context, timeout);
    return handler(*context, caller, request);
  }

  TempDir dir;
  Sandbox sandbox;
};

#define EXPECT_OK(result)                                                                  \
  do {                                                                                     \
    const auto& expect_ok_result = (result);                                               \
    EXPECT_TRUE(expect_ok_result.ok())                                                     \
        << (expect_ok_result.ok() ? std::string() : expect_ok_result.error().to_string()); \
  } while (0)

// The result is an error with `code` whose message contains `fragment`.
inline ::testing::AssertionResult IsError(const Result<nlohmann::json>& result, ErrorCode code,
                                          std::string_view fragment = {}) {
  if (result.ok()) {
    return ::testing::AssertionFailure()
           << "expected " << to_string(code) << ", got " << result.value().dump();
  }
  if (result.error().code != code) {
    return ::testing::AssertionFailure()
           << "expected " << to_string(code) << ", got " << result.error().to_string();
  }
  if (result.error().message.find(fragment) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message '" << result.error().message << "' does not contain '" << fragment << "'";
  }
  return ::testing::AssertionSuccess();
}

// Alive and not a zombie.
inline bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  const char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

// Any live (non-zombie) process whose process group is `pgid`.
inline bool group_alive(pid_t pgid) {
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    // Fields after the command: state ppid pgrp ...
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(line.c_str() + paren + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X') return true;
  }
  return false;
}

}  // namespace reglet::test
