// Calls the network host functions directly (no guest): an InstanceContext with chosen grants and
// an audit log captured in memory, and a Caller whose ExecutionControl sets the call's deadline.
// The same requests also go through the real ABI path in plugin_path_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "reglet/runtime.h"
#include "runtime/host/context.h"
#include "runtime/host/handlers.h"
#include "runtime/host/net_policy.h"

namespace reglet::test {

using Json = nlohmann::json;
using HandlerFn = Result<Json> (*)(runtime::InstanceContext&, engine::Caller&, const Json&);

class FakeCaller : public engine::Caller {
 public:
  FakeCaller(engine::ExecutionControl& control, void* host_data)
      : control_(control), host_data_(host_data) {}
  std::span<uint8_t> memory() override { return {}; }
  engine::Outcome<std::vector<engine::Value>> call(std::string_view,
                                                   std::span<const engine::Value>) override {
    return engine::Trap{engine::TrapKind::trap, "no guest in this test"};
  }
  engine::ExecutionControl& control() override { return control_; }
  void* host_data() override { return host_data_; }

 private:
  engine::ExecutionControl& control_;
  void* host_data_;
};

class Harness {
 public:
  explicit Harness(const std::vector<std::string>& grants, RuntimeOptions options = {}) {
    options.audit_log = std::make_shared<AuditLog>([this](const std::string& line) {
      std::lock_guard lock(mutex_);
      audit_.push_back(Json::parse(line));
    });
    auto services = std::make_shared<runtime::Services>();
    services->options = std::move(options);
    for (const auto& grant : grants) {
      auto status = services->capabilities.grant("test", grant);
      EXPECT_TRUE(status.ok()) << grant << ": " << (status.ok() ? "" : status.error().message);
    }
    auto set = services->capabilities.grants("test");
    services_ = services;
    context_ = std::make_unique<runtime::InstanceContext>(services_, "test", set);
  }

  // Calls `fn` with a call deadline `call_timeout` from now (and an optional cancellation flag).
  Result<Json> call(HandlerFn fn, const Json& request,
                    std::chrono::milliseconds call_timeout = std::chrono::seconds(30),
                    std::shared_ptr<const std::atomic<bool>> cancel = nullptr) {
    engine::ExecutionControl control(engine::ExecutionControl::Clock::now() + call_timeout);
    if (cancel) control.link(std::move(cancel));
    FakeCaller caller(control, context_.get());
    try {
      return fn(*context_, caller, request);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "handler threw: " << e.what();
      return make_error(ErrorCode::internal, e.what());
    }
  }

  std::vector<Json> audit() const {
    std::lock_guard lock(mutex_);
    return audit_;
  }
  runtime::InstanceContext& context() { return *context_; }
  // Discards the instance (closing its sockets) and starts a fresh one with the same grants.
  void reset_instance() {
    auto grants = services_->capabilities.grants("test");
    context_ = std::make_unique<runtime::InstanceContext>(services_, "test", grants);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Json> audit_;
  std::shared_ptr<const runtime::Services> services_;
  std::unique_ptr<runtime::InstanceContext> context_;
};

// Assertion helpers.
inline ::testing::AssertionResult IsError(const Result<Json>& result, ErrorCode code,
                                          const std::string& fragment = "") {
  if (result.ok()) {
    return ::testing::AssertionFailure() << "expected " << to_string(code) << ", got " << *result;
  }
  if (result.error().code != code) {
    return ::testing::AssertionFailure()
           << "expected " << to_string(code) << ", got " << result.error().to_string();
  }
  if (!fragment.empty() && result.error().message.find(fragment) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "message '" << result.error().message << "' lacks '" << fragment << "'";
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult IsOk(const Result<Json>& result) {
  if (result.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << result.error().to_string();
}

inline std::string b64(std::string_view text) {
  return runtime::host::net::base64_encode(text);
}
inline std::string unb64(const Json& value) {
  auto decoded = runtime::host::net::base64_decode(value.get<std::string>());
  return decoded.value_or("<invalid base64>");
}
}  // namespace reglet::test
