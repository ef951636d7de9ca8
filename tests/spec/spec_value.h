// Values of the spec testsuite as wast2json writes them, independent of any engine tier: every
// backend converts between these and its own representation, so that parsing and comparing
// (NaN patterns, v128 lanes, references) is written once.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "reglet/error.h"

namespace reglet::spec {

enum class SpecType : uint8_t { i32, i64, f32, f64, v128, funcref, externref };

// The lane interpretation of a v128 constant in the JSON ("lane_type").
enum class LaneType : uint8_t { i8, i16, i32, i64, f32, f64 };

std::string_view to_string(SpecType type);

struct SpecValue {
  SpecType type = SpecType::i32;
  // Numbers: the value's bits, little endian from byte 0 (i32/f32 in bytes 0-3). v128: all 16.
  std::array<uint8_t, 16> bytes{};
  // References: null, or for externref the host value N of `ref.extern N`. A non-null funcref
  // carries no identity the runner could check (spectest-interp does not check it either).
  bool is_null = false;
  uint64_t extern_id = 0;

  template <class T>
  T lane(size_t index) const {
    T out;
    std::memcpy(&out, bytes.data() + index * sizeof(T), sizeof(T));
    return out;
  }
  template <class T>
  void set_lane(size_t index, T value) {
    std::memcpy(bytes.data() + index * sizeof(T), &value, sizeof(T));
  }
  uint32_t u32() const { return lane<uint32_t>(0); }
  uint64_t u64() const { return lane<uint64_t>(0); }

  static SpecValue number(SpecType type, uint64_t bits) {
    SpecValue v;
    v.type = type;
    v.set_lane<uint64_t>(0, bits);
    return v;
  }
  static SpecValue null_ref(SpecType type) {
    SpecValue v;
    v.type = type;
    v.is_null = true;
    return v;
  }
};

enum class NanKind : uint8_t { none, canonical, arithmetic };

// An expected result: a value, or a pattern (NaN kinds per float lane, any non-null funcref).
struct Expected {
  SpecValue value;
  LaneType lane_type = LaneType::i32;  // for v128
  std::array<NanKind, 4> nan{};        // index 0 for scalars, one per lane for f32x4/f64x2
  bool any_func = false;               // `(ref.func)`: any non-null funcref
};

// Parse one {"type": ..., "value": ...} object. Arguments may not use patterns.
Result<SpecValue> parse_value(const nlohmann::json& json);
Result<Expected> parse_expected(const nlohmann::json& json);

bool matches(const Expected& expected, const SpecValue& actual);

std::string to_string(const SpecValue& value);
// A v128 shown with the given lanes (to print an actual value the way its expectation reads).
std::string to_string(const SpecValue& value, LaneType lanes);
std::string to_string(const Expected& expected);

}  // namespace reglet::spec
