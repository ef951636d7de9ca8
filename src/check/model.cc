#include "check/model.h"

#include <algorithm>

namespace reglet::check {

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::low: return "low";
    case Severity::medium: return "medium";
    case Severity::high: return "high";
    case Severity::critical: return "critical";
  }
  return "medium";
}

std::optional<Severity> severity_from_string(std::string_view text) {
  if (text == "low") return Severity::low;
  if (text == "medium") return Severity::medium;
  if (text == "high") return Severity::high;
  if (text == "critical") return Severity::critical;
  return std::nullopt;
}

std::string SourceLocation::to_string() const {
  std::string out = file.empty() ? "<profile>" : file;
  if (line > 0) out += ":" + std::to_string(line);
  if (column > 0) out += ":" + std::to_string(column);
  return out;
}

std::string_view to_string(Status status) {
  switch (status) {
    case Status::pass: return "pass";
    case Status::fail: return "fail";
    case Status::error: return "error";
    case Status::skipped: return "skipped";
  }
  return "error";
}

std::chrono::milliseconds RetryPolicy::wait_before(int attempt) const {
  const int retry = std::max(1, attempt - 1);
  std::chrono::milliseconds wait = delay;
  if (backoff == Backoff::linear) {
    wait = delay * retry;
  } else if (backoff == Backoff::exponential) {
    wait = delay * (int64_t{1} << std::min(retry - 1, 20));
  }
  if (max_delay.count() > 0 && wait > max_delay) wait = max_delay;
  return wait;
}

Summary summarize(const std::vector<ControlResult>& controls) {
  Summary summary;
  for (const ControlResult& control : controls) {
    ++summary.total;
    switch (control.status) {
      case Status::pass: ++summary.passed; break;
      case Status::fail: ++summary.failed; break;
      case Status::error: ++summary.errored; break;
      case Status::skipped: ++summary.skipped; break;
    }
  }
  return summary;
}

int RunResult::exit_code() const {
  // An error is the stronger signal: the check could not be made at all.
  if (summary.errored > 0) return 2;
  if (summary.failed > 0) return 1;
  return 0;
}

}  // namespace reglet::check
