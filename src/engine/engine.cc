#include "engine/engine.h"

namespace reglet::engine {

std::string_view to_string(ValType type) {
  switch (type) {
    case ValType::i32: return "i32";
    case ValType::i64: return "i64";
    case ValType::f32: return "f32";
    case ValType::f64: return "f64";
  }
  return "?";
}

std::string FuncSig::to_string() const {
  auto list = [](const std::vector<ValType>& types) {
    std::string out = "(";
    for (size_t i = 0; i < types.size(); ++i) {
      if (i) out += ", ";
      out += engine::to_string(types[i]);
    }
    return out + ")";
  };
  return list(params) + " -> " + list(results);
}

Error Trap::to_error() const {
  switch (kind) {
    case TrapKind::timeout: return make_error(ErrorCode::timeout, message);
    case TrapKind::cancelled: return make_error(ErrorCode::cancelled, message);
    case TrapKind::memory_limit: return make_error(ErrorCode::memory_limit, message);
    case TrapKind::stack_exhausted: return make_error(ErrorCode::stack_exhausted, message);
    case TrapKind::trap: return make_error(ErrorCode::trap, message);
    case TrapKind::exit:
      return make_error(ErrorCode::trap, "plugin exited with code " + std::to_string(exit_code));
    case TrapKind::host_error: return make_error(host_code, message);
  }
  return make_error(ErrorCode::internal, message);
}

std::chrono::milliseconds ExecutionControl::remaining() const {
  if (deadline_ == Clock::time_point::max()) return std::chrono::milliseconds::max();
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

const ExportInfo* Module::find_export(std::string_view name) const {
  for (const ExportInfo& info : exports()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace reglet::engine
