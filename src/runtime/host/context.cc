#include "runtime/host/context.h"

#include "runtime/host/net_state.h"
#include "runtime/wasi/wasi.h"

namespace reglet::runtime {
namespace {
constexpr size_t kMaxLogLine = 64 * 1024;
}

InstanceContext::InstanceContext(std::shared_ptr<const Services> services, std::string plugin,
                                 std::shared_ptr<const GrantSet> grants, std::string request_id)
    : services_(std::move(services)),
      plugin_(std::move(plugin)),
      grants_(grants ? std::move(grants) : std::make_shared<const GrantSet>()),
      request_id_(std::move(request_id)) {}

InstanceContext::~InstanceContext() {
  // A last line without its newline still belongs in the log.
  if (!pending_stdout_.empty()) log("stdout", std::move(pending_stdout_));
  if (!pending_stderr_.empty()) log("stderr", std::move(pending_stderr_));
}

void InstanceContext::audit(std::string_view function, const nlohmann::json& request,
                            const Decision& decision) {
  if (services_->options.audit_log) {
    services_->options.audit_log->record(plugin_, function, request, decision.capability,
                                         decision.allowed);
  }
}

void InstanceContext::log(std::string level, std::string message, nlohmann::json attrs) {
  if (!services_->options.log_sink) return;
  if (!request_id_.empty() && attrs.is_object() && !attrs.contains("request_id")) {
    attrs["request_id"] = request_id_;
  }
  services_->options.log_sink(LogRecord{plugin_, std::move(level), std::move(message),
                                        std::move(attrs)});
}

void InstanceContext::write_stream(int fd, std::string_view bytes) {
  std::string& pending = fd == 1 ? pending_stdout_ : pending_stderr_;
  const char* level = fd == 1 ? "stdout" : "stderr";
  for (char c : bytes) {
    if (c == '\n') {
      log(level, std::move(pending));
      pending.clear();
    } else if (pending.size() < kMaxLogLine) {
      pending.push_back(c);
    }
  }
}

wasi::WasiState& InstanceContext::wasi() {
  if (!wasi_) wasi_ = std::make_unique<wasi::WasiState>(*this);
  return *wasi_;
}

host::NetState& InstanceContext::net() {
  if (!net_) net_ = std::make_unique<host::NetState>();
  return *net_;
}

}  // namespace reglet::runtime
