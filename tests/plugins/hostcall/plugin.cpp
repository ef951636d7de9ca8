// Test plugin: calls the reglet_host function named in the config with the given request and
// returns the response as data ({"response": ...}) or the host's error as data
// ({"error": {"code", "message"}}), so that tests can drive every host function through the real
// ABI path (JSON in guest memory, allocate for the response).
//
// config: {"function": "fs_read", "request": {...}, "repeat": 1}
#include <reglet/sdk.h>

namespace sdk = reglet::sdk;

namespace {

sdk::Info describe() { return {"hostcall", "1.0.0", "Calls one host function (tests)", {}}; }

sdk::Json schema() {
  return sdk::Schema()
      .string("function", "reglet_host function to call", sdk::Required)
      .object("request", "", "the request")
      .integer("repeat", "how many times to call it", false, 1)
      .json();
}

sdk::Expected<sdk::Json> dispatch(const std::string& fn, const sdk::Json& request) {
  namespace host = sdk::host;
  if (fn == "fs_read") return host::fs_read(request);
  if (fn == "fs_write") return host::fs_write(request);
  if (fn == "fs_stat") return host::fs_stat(request);
  if (fn == "env_get") return host::env_get(request);
  if (fn == "exec_run") return host::exec_run(request);
  if (fn == "net_connect") return host::net_connect(request);
  if (fn == "net_send") return host::net_send(request);
  if (fn == "net_recv") return host::net_recv(request);
  if (fn == "net_close") return host::net_close(request);
  if (fn == "tcp_connect") return host::tcp_connect(request);
  if (fn == "dns_lookup") return host::dns_lookup(request);
  if (fn == "http_request") return host::http_request(request);
  if (fn == "log_message") {
    sdk::log::write(request.value("level", "info").c_str(), request.value("message", ""),
                    request.value("attrs", sdk::Json::object()));
    return sdk::Json::object();
  }
  return sdk::HostError{"invalid_argument", "unknown function " + fn};
}

// A session: a list of calls where "$handle" in a request is replaced by the handle returned by
// the previous net_connect (for net_send/net_recv/net_close sequences).
sdk::Outcome run_session(const sdk::Json& steps) {
  sdk::Json results = sdk::Json::array();
  sdk::Json handle;
  for (const auto& step : steps) {
    sdk::Json request = step.value("request", sdk::Json::object());
    if (request.contains("handle") && request["handle"] == "$handle") request["handle"] = handle;
    auto response = dispatch(step.value("function", ""), request);
    if (response.ok()) {
      if (response->contains("handle")) handle = (*response)["handle"];
      results.push_back({{"response", *response}});
    } else {
      results.push_back({{"error", {{"code", response.error().code},
                                    {"message", response.error().message}}}});
    }
  }
  return sdk::Outcome::success({{"steps", results}});
}

sdk::Outcome observe(const sdk::Json& config) {
  const std::string fn = config.value("function", "");
  if (fn == "session") return run_session(config.value("steps", sdk::Json::array()));
  const sdk::Json request = config.value("request", sdk::Json::object());
  const int repeat = config.value("repeat", 1);
  sdk::Json last;
  for (int i = 0; i < repeat; ++i) {
    auto response = dispatch(fn, request);
    if (!response.ok()) {
      return sdk::Outcome::success(
          {{"error", {{"code", response.error().code}, {"message", response.error().message}}}});
    }
    last = *response;
  }
  return sdk::Outcome::success({{"response", last}});
}

}  // namespace

REGLET_PLUGIN(describe, schema, observe)
