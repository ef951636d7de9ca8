#include "runtime/host/host_functions.h"

#include <utility>

#include "runtime/host/handlers.h"
#include "runtime/host/host_call.h"

namespace reglet::runtime::host {
namespace {

struct Entry {
  std::string_view name;
  Result<nlohmann::json> (*handler)(InstanceContext&, engine::Caller&, const nlohmann::json&);
};

constexpr Entry kFunctions[] = {
    {"fs_read", &fs_read},         {"fs_write", &fs_write},       {"fs_stat", &fs_stat},
    {"env_get", &env_get},         {"exec_run", &exec_run},       {"net_connect", &net_connect},
    {"net_send", &net_send},       {"net_recv", &net_recv},       {"net_close", &net_close},
    {"tcp_connect", &tcp_connect}, {"dns_lookup", &dns_lookup},   {"http_request", &http_request},
    {"log_message", &log_message},
};

}  // namespace

std::optional<engine::HostFunc> find(std::string_view name) {
  for (const Entry& entry : kFunctions) {
    if (entry.name == name) {
      return make_json_host_function(std::string(name), entry.handler);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> names() {
  std::vector<std::string_view> out;
  for (const Entry& entry : kFunctions) out.push_back(entry.name);
  return out;
}

}  // namespace reglet::runtime::host
