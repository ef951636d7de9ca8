// Per-runtime services and per-instance host state. An InstanceContext is the `host_data` of one
// engine instance: everything a host function needs to know about the plugin that is calling it,
// and everything the instance owns on the host side (WASI descriptors, sockets), released with it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "reglet/capability.h"
#include "reglet/runtime.h"

namespace reglet::runtime {

namespace wasi {
class WasiState;
}
namespace host {
class NetState;
}

// Shared by every plugin of a Runtime; outlives them (held by shared_ptr).
struct Services {
  RuntimeOptions options;
  CapabilityManager capabilities;
  std::map<std::string, std::string> environment;
};

class InstanceContext {
 public:
  InstanceContext(std::shared_ptr<const Services> services, std::string plugin,
                  std::shared_ptr<const GrantSet> grants, std::string request_id = {});
  ~InstanceContext();
  InstanceContext(const InstanceContext&) = delete;
  InstanceContext& operator=(const InstanceContext&) = delete;

  const std::string& plugin() const { return plugin_; }
  const GrantSet& grants() const { return *grants_; }
  const Services& services() const { return *services_; }
  const RuntimeOptions& options() const { return services_->options; }
  const std::string& request_id() const { return request_id_; }

  // Records a capability decision in the audit log, when there is one.
  void audit(std::string_view function, const nlohmann::json& request, const Decision& decision);
  void log(std::string level, std::string message,
           nlohmann::json attrs = nlohmann::json::object());
  // Guest stdout/stderr: split into lines, each line one log record (a partial line is kept
  // until it is completed or the instance ends). Bounded per line.
  void write_stream(int fd, std::string_view bytes);

  wasi::WasiState& wasi();
  host::NetState& net();

 private:
  std::shared_ptr<const Services> services_;
  std::string plugin_;
  std::shared_ptr<const GrantSet> grants_;
  std::string request_id_;
  std::string pending_stdout_, pending_stderr_;
  std::unique_ptr<wasi::WasiState> wasi_;
  std::unique_ptr<host::NetState> net_;
};

}  // namespace reglet::runtime
