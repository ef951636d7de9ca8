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

HostFunc HostFunc::direct_i64(std::string module, std::string name, DirectI64Fn fn,
                             std::shared_ptr<const void> data) {
  HostFunc func;
  func.module = std::move(module);
  func.name = std::move(name);
  func.sig = {{ValType::i64}, {ValType::i64}};
  func.callback = [fn, data](Caller& caller, std::span<const Value> args,
                             std::span<Value> results) -> std::optional<Trap> {
    uint64_t result = 0;
    std::optional<Trap> trap = fn(caller, data.get(), args[0].as_i64(), result);
    if (!trap) results[0] = Value::i64(result);
    return trap;
  };
  func.direct = fn;
  func.direct_data = std::move(data);
  return func;
}

Status check_host_functions(std::span<const ImportInfo> imports, std::span<const HostFunc> funcs) {
  if (funcs.size() != imports.size()) {
    return make_error(ErrorCode::internal, "host functions do not match the imports");
  }
  for (size_t i = 0; i < imports.size(); ++i) {
    const HostFunc& func = funcs[i];
    if (func.sig != imports[i].sig) {
      return make_error(ErrorCode::abi_error, "host function for import " + imports[i].module +
                                                  "." + imports[i].name + " has signature " +
                                                  func.sig.to_string() + ", the import " +
                                                  imports[i].sig.to_string());
    }
    if (func.direct && func.sig != FuncSig{{ValType::i64}, {ValType::i64}}) {
      return make_error(ErrorCode::internal, "host function " + func.module + "." + func.name +
                                                 " has a direct form but is not (i64) -> i64");
    }
  }
  return {};
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
