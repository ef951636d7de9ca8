#include "runtime/host/host_call.h"

#include <exception>

#include "runtime/abi/guest_memory.h"

namespace reglet::runtime {

engine::Outcome<uint64_t> write_to_guest(engine::Caller& caller, std::string_view bytes) {
  using engine::Trap;
  using engine::TrapKind;
  if (bytes.size() > UINT32_MAX) {
    return Trap{TrapKind::host_error, "response too large for the guest", 0,
                ErrorCode::abi_error};
  }
  const auto length = static_cast<uint32_t>(bytes.size());
  engine::Value size = engine::Value::i32(length);
  auto allocated = caller.call("allocate", std::span<const engine::Value>(&size, 1));
  if (auto* trap = std::get_if<Trap>(&allocated)) return *trap;
  const auto& values = std::get<std::vector<engine::Value>>(allocated);
  const uint32_t ptr = values.empty() ? 0 : values[0].as_i32();
  if (ptr == 0) {
    return Trap{TrapKind::host_error,
                "allocate(" + std::to_string(length) + ") returned 0 (allocation failed)", 0,
                ErrorCode::abi_error};
  }
  GuestMemory memory(caller.memory());
  if (!memory.write(ptr, bytes)) {
    return Trap{TrapKind::host_error,
                "allocate(" + std::to_string(length) + ") returned " + std::to_string(ptr) +
                    ", outside the " + std::to_string(memory.size()) + "-byte memory",
                0, ErrorCode::abi_error};
  }
  return pack(ptr, length);
}

Result<nlohmann::json> read_request(engine::Caller& caller, uint64_t packed, size_t max_bytes) {
  const GuestRange range = unpack(packed);
  if (range.ptr == 0 || range.len == 0) {
    return make_error(ErrorCode::invalid_argument, "request pointer or length is zero");
  }
  if (range.len > max_bytes) {
    return make_error(ErrorCode::invalid_argument,
                      "request of " + std::to_string(range.len) + " bytes exceeds the limit of " +
                          std::to_string(max_bytes));
  }
  GuestMemory memory(caller.memory());
  auto text = memory.string(range.ptr, range.len);
  if (!text) {
    return make_error(ErrorCode::invalid_argument, "request range is outside guest memory");
  }
  auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return make_error(ErrorCode::invalid_argument, "request is not JSON");
  if (!json.is_object()) {
    return make_error(ErrorCode::invalid_argument, "request is not a JSON object");
  }
  return json;
}

nlohmann::json error_response(const Error& error) {
  return {{"error", {{"code", std::string(to_string(error.code))}, {"message", error.message}}}};
}

namespace {

struct JsonHostFunction {
  std::string name;
  JsonHandler handler;
};

std::optional<engine::Trap> call_json_host_function(engine::Caller& caller, const void* data,
                                                    uint64_t request_range, uint64_t& result) {
  const auto& func = *static_cast<const JsonHostFunction*>(data);
  auto& context = *static_cast<InstanceContext*>(caller.host_data());
  nlohmann::json response;
  try {
    auto request =
        read_request(caller, request_range, context.options().max_host_response_bytes);
    if (!request) {
      response = error_response(request.error());
    } else {
      auto handled = func.handler(context, caller, *request);
      response = handled ? std::move(*handled) : error_response(handled.error());
    }
  } catch (const std::exception& e) {
    // nlohmann's type errors on malformed requests land here.
    response = error_response(make_error(ErrorCode::invalid_argument,
                                         func.name + ": malformed request: " + e.what()));
  }
  std::string text = response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto written = write_to_guest(caller, text);
  if (auto* trap = std::get_if<engine::Trap>(&written)) return std::move(*trap);
  result = std::get<uint64_t>(written);
  return std::nullopt;
}

}  // namespace

engine::HostFunc make_json_host_function(std::string name, JsonHandler handler) {
  auto func = std::make_shared<const JsonHostFunction>(JsonHostFunction{name, std::move(handler)});
  return engine::HostFunc::direct_i64("reglet_host", std::move(name), call_json_host_function,
                                      std::move(func));
}

}  // namespace reglet::runtime
