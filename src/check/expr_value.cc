// Value helpers for expressions: types, equality, Go-compatible number formatting, UTF-8.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "check/expr_internal.h"

namespace reglet::check::expr_detail {

Type type_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return Type::kNil;
    case json::value_t::boolean:
      return Type::kBool;
    case json::value_t::number_integer:
      return Type::kInt;
    case json::value_t::number_unsigned:
      // JSON parsers store non-negative integers as unsigned; only those beyond int64 are not
      // ints for us (they cannot take part in int64 arithmetic).
      return value.get_ref<const json::number_unsigned_t&>() <=
                     static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                 ? Type::kInt
                 : Type::kFloat;
    case json::value_t::number_float:
      return Type::kFloat;
    case json::value_t::string:
      return Type::kString;
    case json::value_t::array:
      return Type::kArray;
    case json::value_t::object:
      return Type::kMap;
    default:
      return Type::kOther;
  }
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::kNil:
      return "nil";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kMap:
      return "map";
    case Type::kOther:
      break;
  }
  return "binary";
}

std::string type_with_article(const json& value) {
  Type t = type_of(value);
  if (t == Type::kNil) return "nil";
  std::string_view name = type_name(t);
  bool vowel = name[0] == 'a' || name[0] == 'i';
  return std::string(vowel ? "an " : "a ") + std::string(name);
}

std::int64_t to_int(const json& value) {
  if (value.is_number_unsigned()) {
    return static_cast<std::int64_t>(value.get_ref<const json::number_unsigned_t&>());
  }
  if (value.is_number_integer()) return value.get_ref<const json::number_integer_t&>();
  return 0;
}

double to_float(const json& value) {
  if (value.is_number_float()) return value.get_ref<const json::number_float_t&>();
  if (value.is_number_unsigned()) {
    return static_cast<double>(value.get_ref<const json::number_unsigned_t&>());
  }
  if (value.is_number_integer()) {
    return static_cast<double>(value.get_ref<const json::number_integer_t&>());
  }
  return 0;
}

namespace {

bool scalar_equal(const json& a, const json& b, Type ta, Type tb) {
  if (is_number(ta) && is_number(tb)) {
    if (ta == Type::kInt && tb == Type::kInt) return to_int(a) == to_int(b);
    return to_float(a) == to_float(b);
  }
  if (ta != tb) return false;
  switch (ta) {
    case Type::kNil:
      return true;
    case Type::kBool:
      return a.get_ref<const json::boolean_t&>() == b.get_ref<const json::boolean_t&>();
    case Type::kString:
      return a.get_ref<const json::string_t&>() == b.get_ref<const json::string_t&>();
    default:
      return a == b;  // binary blobs: never produced by evidence, compare as nlohmann does
  }
}

}  // namespace

bool deep_equal(const json& a, const json& b) {
  std::vector<std::pair<const json*, const json*>> pending{{&a, &b}};
  while (!pending.empty()) {
    auto [x, y] = pending.back();
    pending.pop_back();
    Type tx = type_of(*x);
    Type ty = type_of(*y);
    if (tx == Type::kArray || tx == Type::kMap || ty == Type::kArray || ty == Type::kMap) {
      if (tx != ty || x->size() != y->size()) return false;
      if (tx == Type::kArray) {
        for (std::size_t i = 0; i < x->size(); ++i) pending.emplace_back(&(*x)[i], &(*y)[i]);
      } else {
        // Objects are sorted maps, so equal maps list their keys in the same order.
        for (auto ix = x->begin(), iy = y->begin(); ix != x->end(); ++ix, ++iy) {
          if (ix.key() != iy.key()) return false;
          pending.emplace_back(&ix.value(), &iy.value());
        }
      }
      continue;
    }
    if (!scalar_equal(*x, *y, tx, ty)) return false;
  }
  return true;
}

Footprint measure(const json& value, std::size_t depth_limit) {
  constexpr std::size_t kNodeBytes = 32;
  Footprint result;
  std::vector<std::pair<const json*, std::size_t>> pending{{&value, 1}};
  while (!pending.empty()) {
    auto [v, depth] = pending.back();
    pending.pop_back();
    result.bytes += kNodeBytes;
    if (v->is_string()) result.bytes += v->get_ref<const std::string&>().size();
    if (!v->is_structured()) continue;
    result.depth = std::max(result.depth, depth);
    if (depth > depth_limit) return result;
    if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) {
        result.bytes += it.key().size();
        pending.emplace_back(&it.value(), depth + 1);
      }
    } else {
      for (const auto& child : *v) pending.emplace_back(&child, depth + 1);
    }
  }
  return result;
}

std::string format_go_float(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return std::signbit(value) ? "-0" : "0";
  // Shortest round-trip digits in scientific form "d.ddde±XX", then laid out as Go's 'g'.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  if (ec != std::errc()) return "NaN";
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  std::size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::string_view exp_text = text.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();

  std::string out = negative ? "-" : "";
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += exp < 0 ? "e-" : "e+";
    int magnitude = exp < 0 ? -exp : exp;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  auto int_digits = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
  } else {
    out.append(digits, 0, int_digits);
    out += '.';
    out.append(digits, int_digits);
  }
  return out;
}

std::string dump_json(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

char32_t decode_utf8(std::string_view s, std::size_t& pos) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    ++pos;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++pos;
    return 0xFFFD;
  }
  if (pos + static_cast<std::size_t>(len) > s.size()) {
    ++pos;
    return 0xFFFD;
  }
  for (int i = 1; i < len; ++i) {
    unsigned char b = byte(pos + static_cast<std::size_t>(i));
    if ((b & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return 0xFFFD;
  }
  pos += static_cast<std::size_t>(len);
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int column_of(std::string_view source, std::size_t offset) {
  int column = 1;
  for (std::size_t i = 0; i < offset && i < source.size(); ++i) {
    // Continuation bytes do not start a code point.
    if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

}  // namespace reglet::check::expr_detail
