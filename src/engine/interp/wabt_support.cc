#include "engine/interp/wabt_support.h"

#include <wabt/binary-reader.h>
#include <wabt/error-formatter.h>
#include <wabt/interp/binary-reader-interp.h>

#include <algorithm>
#include <cstring>

namespace reglet::engine::interp_support {

namespace wi = wabt::interp;

Result<wi::ModuleDesc> decode(const PreparedModule& prepared) {
  wi::ModuleDesc desc;
  wabt::Errors errors;
  wabt::Features features;
  const wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                        /*stop_on_first_error=*/true,
                                        /*fail_on_custom_section_error=*/false);
  const auto& binary = prepared.binary();
  if (wabt::Failed(wi::ReadBinaryInterp("module.wasm", binary.data(), binary.size(), options,
                                        &errors, &desc))) {
    return make_error(ErrorCode::invalid_module,
                      wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary));
  }
  return desc;
}

std::unique_ptr<wi::Thread> make_thread(wi::Store& store, size_t frames) {
  auto thread = std::make_unique<wi::Thread>(store);
  RegletWabtAccess::reserve_stacks(*thread, frames, kInitialValueSlots);
  return thread;
}

void reset_thread(wi::Thread& thread) { RegletWabtAccess::clear(thread); }

wabt::Result call(wi::Func& func, wi::Thread& thread, const wi::Values& params, wi::Values& results,
                  wi::Trap::Ptr* out_trap) {
  const wabt::Result result = func.Call(thread, params, results, out_trap);
  if (*out_trap) return wabt::Result::Error;
  return result;
}

Trap classify_trap(const std::string& message, bool memory_grow_refused) {
  if (message == "call stack exhausted" || message == "value stack exhausted") {
    return Trap{TrapKind::stack_exhausted, message};
  }
  if (memory_grow_refused) {
    return Trap{TrapKind::memory_limit,
                message + " (after memory.grow was refused at the memory limit)"};
  }
  return Trap{TrapKind::trap, message};
}

std::optional<ValType> to_val_type(wi::ValueType type) {
  switch (type) {
    case wabt::Type::I32: return ValType::i32;
    case wabt::Type::I64: return ValType::i64;
    case wabt::Type::F32: return ValType::f32;
    case wabt::Type::F64: return ValType::f64;
    default: return std::nullopt;
  }
}

wi::Value to_wabt(const Value& value) {
  switch (value.type) {
    case ValType::i32: return wi::Value::Make(static_cast<uint32_t>(value.bits));
    case ValType::i64: return wi::Value::Make(static_cast<uint64_t>(value.bits));
    case ValType::f32: {
      float f;
      uint32_t bits = static_cast<uint32_t>(value.bits);
      std::memcpy(&f, &bits, sizeof f);
      return wi::Value::Make(f);
    }
    case ValType::f64: {
      double d;
      std::memcpy(&d, &value.bits, sizeof d);
      return wi::Value::Make(d);
    }
  }
  return wi::Value::Make(uint32_t{0});
}

Value from_wabt(const wi::Value& value, wi::ValueType type) {
  switch (type) {
    case wabt::Type::I32: return Value::i32(value.Get<uint32_t>());
    case wabt::Type::I64: return Value::i64(value.Get<uint64_t>());
    case wabt::Type::F32: return Value::f32(value.Get<float>());
    case wabt::Type::F64: return Value::f64(value.Get<double>());
    default: return Value::i32(0);
  }
}

FuncSig to_sig(const wi::FuncType& type) {
  FuncSig sig;
  for (auto t : type.params) sig.params.push_back(to_val_type(t).value_or(ValType::i32));
  for (auto t : type.results) sig.results.push_back(to_val_type(t).value_or(ValType::i32));
  return sig;
}

}  // namespace reglet::engine::interp_support
