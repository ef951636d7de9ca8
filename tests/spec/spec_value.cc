#include "spec_value.h"

#include <charconv>
#include <cstdio>
#include <optional>

namespace reglet::spec {
namespace {

using nlohmann::json;

Error bad(std::string what) {
  return make_error(ErrorCode::invalid_argument, std::move(what));
}

// wast2json writes every number as the unsigned decimal of its bits; accept a sign anyway.
std::optional<uint64_t> parse_bits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (text.front() == '-') {
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return static_cast<uint64_t>(value);
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<SpecType> parse_type(std::string_view name) {
  if (name == "i32") return SpecType::i32;
  if (name == "i64") return SpecType::i64;
  if (name == "f32") return SpecType::f32;
  if (name == "f64") return SpecType::f64;
  if (name == "v128") return SpecType::v128;
  if (name == "funcref") return SpecType::funcref;
  if (name == "externref") return SpecType::externref;
  return std::nullopt;
}

std::optional<LaneType> parse_lane_type(std::string_view name) {
  if (name == "i8") return LaneType::i8;
  if (name == "i16") return LaneType::i16;
  if (name == "i32") return LaneType::i32;
  if (name == "i64") return LaneType::i64;
  if (name == "f32") return LaneType::f32;
  if (name == "f64") return LaneType::f64;
  return std::nullopt;
}

size_t lane_count(LaneType type) {
  switch (type) {
    case LaneType::i8:
      return 16;
    case LaneType::i16:
      return 8;
    case LaneType::i32:
      return 4;
    case LaneType::i64:
      return 2;
    case LaneType::f32:
      return 4;
    case LaneType::f64:
      return 2;
  }
  return 0;
}

std::string_view lane_name(LaneType type) {
  switch (type) {
    case LaneType::i8:
      return "i8x16";
    case LaneType::i16:
      return "i16x8";
    case LaneType::i32:
      return "i32x4";
    case LaneType::i64:
      return "i64x2";
    case LaneType::f32:
      return "f32x4";
    case LaneType::f64:
      return "f64x2";
  }
  return "?";
}

std::optional<NanKind> parse_nan(std::string_view text) {
  if (text == "nan:canonical") return NanKind::canonical;
  if (text == "nan:arithmetic") return NanKind::arithmetic;
  return std::nullopt;
}

void set_lane(SpecValue& value, LaneType type, size_t lane, uint64_t bits) {
  switch (type) {
    case LaneType::i8:
      value.set_lane<uint8_t>(lane, static_cast<uint8_t>(bits));
      break;
    case LaneType::i16:
      value.set_lane<uint16_t>(lane, static_cast<uint16_t>(bits));
      break;
    case LaneType::i32:
    case LaneType::f32:
      value.set_lane<uint32_t>(lane, static_cast<uint32_t>(bits));
      break;
    case LaneType::i64:
    case LaneType::f64:
      value.set_lane<uint64_t>(lane, bits);
      break;
  }
}

// Shared by arguments and expectations; `allow_patterns` admits NaN kinds and `(ref.func)`.
Result<Expected> parse(const json& object, bool allow_patterns) {
  if (!object.is_object() || !object.contains("type") || !object["type"].is_string()) {
    return bad("value without a type: " + object.dump());
  }
  auto type = parse_type(object["type"].get<std::string>());
  if (!type) return bad("unknown value type: " + object.dump());
  Expected out;
  out.value.type = *type;
  const bool has_value = object.contains("value");

  switch (*type) {
    case SpecType::i32:
    case SpecType::i64:
    case SpecType::f32:
    case SpecType::f64: {
      if (!has_value || !object["value"].is_string()) return bad("bad value: " + object.dump());
      const std::string text = object["value"].get<std::string>();
      const bool is_float = *type == SpecType::f32 || *type == SpecType::f64;
      if (auto nan = parse_nan(text); nan && is_float && allow_patterns) {
        out.nan[0] = *nan;
        return out;
      }
      auto bits = parse_bits(text);
      if (!bits) return bad("bad number: " + object.dump());
      out.value = SpecValue::number(*type, *bits);
      if (*type == SpecType::i32 || *type == SpecType::f32) {
        out.value = SpecValue::number(*type, *bits & 0xffffffffu);
      }
      return out;
    }
    case SpecType::v128: {
      if (!object.contains("lane_type") || !object["lane_type"].is_string()) {
        return bad("v128 without lane_type: " + object.dump());
      }
      auto lanes = parse_lane_type(object["lane_type"].get<std::string>());
      if (!lanes) return bad("unknown lane type: " + object.dump());
      out.lane_type = *lanes;
      const size_t count = lane_count(*lanes);
      if (!has_value || !object["value"].is_array() || object["value"].size() != count) {
        return bad("bad v128 lanes: " + object.dump());
      }
      const bool float_lanes = *lanes == LaneType::f32 || *lanes == LaneType::f64;
      for (size_t i = 0; i < count; ++i) {
        const json& lane = object["value"][i];
        if (!lane.is_string()) return bad("bad v128 lane: " + object.dump());
        const std::string text = lane.get<std::string>();
        if (auto nan = parse_nan(text); nan && float_lanes && allow_patterns) {
          out.nan[i] = *nan;
          continue;
        }
        auto bits = parse_bits(text);
        if (!bits) return bad("bad v128 lane: " + object.dump());
        set_lane(out.value, *lanes, i, *bits);
      }
      return out;
    }
    case SpecType::funcref:
    case SpecType::externref: {
      if (has_value && !object["value"].is_string()) return bad("bad reference: " + object.dump());
      const std::string text = has_value ? object["value"].get<std::string>() : std::string();
      if (text == "null") {
        out.value.is_null = true;
        return out;
      }
      if (*type == SpecType::funcref) {
        // `(ref.func)`, with or without an index: the index cannot be related to a function of
        // the instance from outside, so any non-null function reference will do. Only an
        // expectation can say this; the testsuite passes no such argument.
        if (!allow_patterns) return bad("non-null funcref argument: " + object.dump());
        out.any_func = true;
        return out;
      }
      auto id = parse_bits(text);
      if (!id) return bad("bad reference: " + object.dump());
      out.value.extern_id = *id;
      return out;
    }
  }
  return bad("unhandled value: " + object.dump());
}

bool float_matches(NanKind nan, uint32_t expected, uint32_t actual) {
  switch (nan) {
    case NanKind::canonical:
      return (actual & 0x7fffffffu) == 0x7fc00000u;
    case NanKind::arithmetic:
      return (actual & 0x7fc00000u) == 0x7fc00000u;
    case NanKind::none:
      return expected == actual;
  }
  return false;
}

bool float_matches(NanKind nan, uint64_t expected, uint64_t actual) {
  constexpr uint64_t kQuiet = 0x7ff8000000000000ull;
  switch (nan) {
    case NanKind::canonical:
      return (actual & 0x7fffffffffffffffull) == kQuiet;
    case NanKind::arithmetic:
      return (actual & kQuiet) == kQuiet;
    case NanKind::none:
      return expected == actual;
  }
  return false;
}

std::string hex(uint64_t bits, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%0*llx", digits, static_cast<unsigned long long>(bits));
  return buffer;
}

std::string nan_name(NanKind nan) {
  return nan == NanKind::canonical ? "nan:canonical" : "nan:arithmetic";
}

std::string lane_to_string(const SpecValue& value, LaneType type, size_t lane, NanKind nan) {
  if (nan != NanKind::none) return nan_name(nan);
  switch (type) {
    case LaneType::i8:
      return std::to_string(value.lane<uint8_t>(lane));
    case LaneType::i16:
      return std::to_string(value.lane<uint16_t>(lane));
    case LaneType::i32:
      return std::to_string(value.lane<uint32_t>(lane));
    case LaneType::i64:
      return std::to_string(value.lane<uint64_t>(lane));
    case LaneType::f32:
      return hex(value.lane<uint32_t>(lane), 8);
    case LaneType::f64:
      return hex(value.lane<uint64_t>(lane), 16);
  }
  return "?";
}

std::string v128_to_string(const SpecValue& value, LaneType type,
                           const std::array<NanKind, 4>* nan) {
  std::string out = "v128 " + std::string(lane_name(type));
  for (size_t i = 0; i < lane_count(type); ++i) {
    const bool float_lanes = type == LaneType::f32 || type == LaneType::f64;
    out += ' ';
    out += lane_to_string(value, type, i, nan && float_lanes ? (*nan)[i] : NanKind::none);
  }
  return out;
}

}  // namespace

std::string_view to_string(SpecType type) {
  switch (type) {
    case SpecType::i32:
      return "i32";
    case SpecType::i64:
      return "i64";
    case SpecType::f32:
      return "f32";
    case SpecType::f64:
      return "f64";
    case SpecType::v128:
      return "v128";
    case SpecType::funcref:
      return "funcref";
    case SpecType::externref:
      return "externref";
  }
  return "?";
}

Result<SpecValue> parse_value(const json& object) {
  auto parsed = parse(object, /*allow_patterns=*/false);
  if (!parsed) return std::move(parsed).error();
  return parsed->value;
}

Result<Expected> parse_expected(const json& object) {
  return parse(object, true);
}

bool matches(const Expected& expected, const SpecValue& actual) {
  const SpecValue& want = expected.value;
  if (want.type != actual.type) return false;
  switch (want.type) {
    case SpecType::i32:
      return want.u32() == actual.u32();
    case SpecType::i64:
      return want.u64() == actual.u64();
    case SpecType::f32:
      return float_matches(expected.nan[0], want.u32(), actual.u32());
    case SpecType::f64:
      return float_matches(expected.nan[0], want.u64(), actual.u64());
    case SpecType::v128:
      // Lane by lane, so that each float lane can carry its own NaN pattern.
      switch (expected.lane_type) {
        case LaneType::f32:
          for (size_t i = 0; i < 4; ++i) {
            if (!float_matches(expected.nan[i], want.lane<uint32_t>(i), actual.lane<uint32_t>(i))) {
              return false;
            }
          }
          return true;
        case LaneType::f64:
          for (size_t i = 0; i < 2; ++i) {
            if (!float_matches(expected.nan[i], want.lane<uint64_t>(i), actual.lane<uint64_t>(i))) {
              return false;
            }
          }
          return true;
        default:
          return want.bytes == actual.bytes;
      }
    case SpecType::funcref:
      if (expected.any_func) return !actual.is_null;
      return want.is_null && actual.is_null;
    case SpecType::externref:
      if (want.is_null || actual.is_null) return want.is_null == actual.is_null;
      return want.extern_id == actual.extern_id;
  }
  return false;
}

std::string to_string(const SpecValue& value) {
  std::string type(to_string(value.type));
  switch (value.type) {
    case SpecType::i32:
      return type + ":" + std::to_string(value.u32());
    case SpecType::i64:
      return type + ":" + std::to_string(value.u64());
    case SpecType::f32:
      return type + ":" + hex(value.u32(), 8);
    case SpecType::f64:
      return type + ":" + hex(value.u64(), 16);
    case SpecType::v128:
      return v128_to_string(value, LaneType::i32, nullptr);
    case SpecType::funcref:
      return value.is_null ? "ref.null func" : "ref.func";
    case SpecType::externref:
      return value.is_null ? "ref.null extern" : "ref.extern " + std::to_string(value.extern_id);
  }
  return "?";
}

std::string to_string(const SpecValue& value, LaneType lanes) {
  if (value.type != SpecType::v128) return to_string(value);
  return v128_to_string(value, lanes, nullptr);
}

std::string to_string(const Expected& expected) {
  const SpecValue& value = expected.value;
  switch (value.type) {
    case SpecType::f32:
    case SpecType::f64:
      if (expected.nan[0] != NanKind::none) {
        return std::string(to_string(value.type)) + ":" + nan_name(expected.nan[0]);
      }
      return to_string(value);
    case SpecType::v128:
      return v128_to_string(value, expected.lane_type, &expected.nan);
    case SpecType::funcref:
      if (expected.any_func) return "ref.func (any)";
      return to_string(value);
    default:
      return to_string(value);
  }
}

}  // namespace reglet::spec
