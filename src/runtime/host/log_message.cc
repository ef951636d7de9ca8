// log_message: a plugin's structured log line. Needs no capability; bounded in size.
#include "runtime/host/handlers.h"

namespace reglet::runtime::host {
namespace {
constexpr size_t kMaxMessage = 64 * 1024;
}

Result<nlohmann::json> log_message(InstanceContext& context, engine::Caller&,
                                   const nlohmann::json& request) {
  static const std::array<std::string_view, 4> kLevels = {"debug", "info", "warn", "error"};
  std::string level = request.value("level", std::string("info"));
  if (level == "warning") level = "warn";
  if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end()) {
    return make_error(ErrorCode::invalid_argument,
                      "log_message: level must be debug, info, warn or error");
  }
  if (!request.contains("message") || !request["message"].is_string()) {
    return make_error(ErrorCode::invalid_argument, "log_message: message must be a string");
  }
  std::string message = request["message"].get<std::string>();
  if (message.size() > kMaxMessage) message.resize(kMaxMessage);
  nlohmann::json attrs = nlohmann::json::object();
  if (request.contains("attrs")) {
    if (!request["attrs"].is_object()) {
      return make_error(ErrorCode::invalid_argument, "log_message: attrs must be an object");
    }
    attrs = request["attrs"];
  }
  context.log(std::move(level), std::move(message), std::move(attrs));
  return nlohmann::json::object();
}

}  // namespace reglet::runtime::host
