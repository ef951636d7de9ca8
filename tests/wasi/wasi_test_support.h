// Helpers for the WASI tests: a fresh temporary directory per test, and the runtime services and
// instance context a host function sees, with grants, environment, log and audit captured.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reglet/runtime.h"
#include "runtime/host/context.h"
#include "support/temp_dir.h"

namespace reglet::test {

// Runtime services with captured sinks, and the instance context of one plugin built from them.
class Sandbox {
 public:
  static constexpr const char* kPlugin = "wasi-test";

  Sandbox() : services_(std::make_shared<runtime::Services>()) {
    services_->options.log_sink = [this](const LogRecord& record) {
      std::lock_guard lock(mutex_);
      logs_.push_back(record);
    };
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
  // A context with the grants given so far (its snapshot does not see later grants).
  std::unique_ptr<runtime::InstanceContext> make_context() const {
    return std::make_unique<runtime::InstanceContext>(services_, kPlugin,
                                                      services_->capabilities.grants(kPlugin));
  }

  std::vector<LogRecord> logs() const {
    std::lock_guard lock(mutex_);
    return logs_;
  }
  std::vector<nlohmann::json> audit() const {
    std::lock_guard lock(mutex_);
    return audit_;
  }
  // Audit records with this capability ("fs:read:/x") and decision ("allow" or "deny").
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
  std::vector<LogRecord> logs_;
  std::vector<nlohmann::json> audit_;
};

}  // namespace reglet::test
