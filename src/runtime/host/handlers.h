// Handlers of the reglet_host functions (SPEC §2). host_functions.cc binds them by name; each is
// defined in the file named after its group:
//   fs.cc        fs_read, fs_write, fs_stat
//   env.cc       env_get
//   exec.cc      exec_run
//   net.cc       net_connect, net_send, net_recv, net_close, tcp_connect
//   dns.cc       dns_lookup
//   http.cc      http_request
//   log_message.cc
// Every handler checks the plugin's grants before doing anything (auditing the decision), bounds
// every size, and honours caller.control(): a blocking operation returns a `timeout` error at the
// call's deadline, and stops early when the call is cancelled.
#pragma once

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "reglet/error.h"
#include "runtime/host/context.h"

namespace reglet::runtime::host {

using Handler = Result<nlohmann::json>(InstanceContext&, engine::Caller&, const nlohmann::json&);

Handler fs_read;
Handler fs_write;
Handler fs_stat;
Handler env_get;
Handler exec_run;
Handler net_connect;
Handler net_send;
Handler net_recv;
Handler net_close;
Handler tcp_connect;
Handler dns_lookup;
Handler http_request;
Handler log_message;

}  // namespace reglet::runtime::host
