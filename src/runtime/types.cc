#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "reglet/runtime.h"
#include "reglet/types.h"
#include "runtime/util/unique_fd.h"

namespace reglet {

std::string format_rfc3339(std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  int ms = static_cast<int>(millis % 1000);
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms);
  return buffer;
}

nlohmann::json Evidence::to_json() const {
  nlohmann::json out = {{"status", status}, {"data", data}, {"timestamp", format_rfc3339(timestamp)}};
  if (error) {
    out["error"] = {{"code", error->code}, {"message", error->message}};
    if (!error->type.empty()) out["error"]["type"] = error->type;
  }
  return out;
}

Result<std::shared_ptr<AuditLog>> AuditLog::open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(ErrorCode::io_error,
                      "cannot open audit log " + path + ": " + std::strerror(errno));
  }
  // Shared ownership of the descriptor by the sink; closed when the last copy goes.
  auto descriptor = std::make_shared<runtime::UniqueFd>(fd);
  return std::make_shared<AuditLog>([descriptor](const std::string& line) {
    std::string text = line + "\n";
    const char* data = text.data();
    size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(descriptor->get(), data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data += n;
      left -= static_cast<size_t>(n);
    }
  });
}

void AuditLog::record(std::string_view plugin, std::string_view function,
                      const nlohmann::json& request, std::string_view capability, bool allowed) {
  nlohmann::json entry = {{"time", format_rfc3339(std::chrono::system_clock::now())},
                          {"plugin", plugin},
                          {"function", function},
                          {"request", request},
                          {"capability", capability},
                          {"decision", allowed ? "allow" : "deny"}};
  std::string line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  sink_(line);
}

}  // namespace reglet
