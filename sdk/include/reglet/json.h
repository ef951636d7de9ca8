// Lean JSON for guests: a writer, a reader that indexes an object without building a tree, and a
// parser/printer for nlohmann::json that skips nlohmann's own (generic, and in a guest slow)
// lexer and serializer.
//
// Why it exists: guest code runs interpreted on the interpreter tier (tens of ns per wasm
// instruction). Measured there, nlohmann-json's dump of a 4-field object executes ~39,000 wasm
// instructions and parsing a small host response several times that; a file observation spent
// over 95% of its 5 ms in nlohmann. The code here does the same work with a few instructions per
// byte. nlohmann::json stays the SDK's value type (sdk::Json): parse() and write() here produce and
// consume it; JsonWriter and JsonFields are for plugins that want the last microseconds (the
// built-in plugins use them on their hot paths).
//
// Everything here is plain C++17 with no host dependency, so it is unit-tested natively
// (tests/sdk) as well as compiled into guests.
#pragma once

#ifndef JSON_NOEXCEPTION
#define JSON_NOEXCEPTION 1
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace reglet::sdk {

using Json = nlohmann::json;

namespace json_detail {

// Nesting deeper than this is rejected: the parser recurses, and a guest's shadow stack is small
// (64 KiB by default) and unguarded.
inline constexpr int kMaxDepth = 256;

// Character classes. For writing: 1 = copy as is, 0 = needs an escape or UTF-8 validation.
// For reading inside a string: the same table (a quote, a backslash, a control character or a
// byte >= 0x80 stops the fast scan).
struct Tables {
  unsigned char plain[256];
  constexpr Tables() : plain() {
    for (int c = 0; c < 256; ++c) plain[c] = (c >= 0x20 && c < 0x80 && c != '"' && c != '\\');
  }
};
inline constexpr Tables kTables{};

// memcpy and memset as single wasm instructions (memory.copy, memory.fill) in guests: see
// sdk/src/bulk_memory.c, which reglet_add_plugin links into every C++ plugin.
#if defined(__wasm__) && !defined(REGLET_SDK_PLAIN_MEMCPY)
extern "C" void reglet_sdk_copy_bytes(void* to, const void* from, size_t n);
extern "C" void reglet_sdk_fill_bytes(void* to, int value, size_t n);
inline void copy_bytes(void* to, const void* from, size_t n) {
  reglet_sdk_copy_bytes(to, from, n);
}
inline void fill_bytes(void* to, int value, size_t n) {
  reglet_sdk_fill_bytes(to, value, n);
}
#else
inline void copy_bytes(void* to, const void* from, size_t n) {
  memcpy(to, from, n);
}
inline void fill_bytes(void* to, int value, size_t n) {
  memset(to, value, n);
}
#endif

// Length of the valid UTF-8 sequence starting at p (1..4), or 0 when it is not valid (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as RFC 3629 says). When it is
// not, *prefix (if given) is the length of its longest start that could still have been valid
// (at least 1): the bytes one U+FFFD replaces, as Unicode recommends and nlohmann does.
inline size_t utf8_sequence(const unsigned char* p, const unsigned char* end,
                            size_t* prefix = nullptr) {
  const unsigned c = p[0];
  if (c < 0x80) return 1;
  if (prefix != nullptr) *prefix = 1;
  size_t n;
  unsigned lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  const size_t available = static_cast<size_t>(end - p);
  if (available < 2 || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (prefix != nullptr) *prefix = i;
    if (i >= available || (p[i] & 0xc0) != 0x80) return 0;
  }
  return n;
}

inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// True when the n bytes at p need no escaping in a JSON string. For a string literal the
// compiler folds this (with the length) to a constant once inlined.
// The length of the C string in a char array (all of it when it has no NUL).
template <size_t N>
constexpr size_t literal_length(const char (&s)[N]) {
  size_t n = 0;
  while (n < N && s[n] != '\0') ++n;
  return n;
}

inline bool plain_text(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!kTables.plain[static_cast<unsigned char>(p[i])]) return false;
  }
  return true;
}

// The first byte at or after p that is not plain (see Tables), or end. Eight bytes per step
// while it can: byte loops are what an interpreter is slowest at.
inline const unsigned char* skip_plain(const unsigned char* p, const unsigned char* end) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  while (end - p >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    const uint64_t quote = v ^ (kOnes * '"');
    const uint64_t backslash = v ^ (kOnes * '\\');
    // A zero byte in quote or backslash, a byte below 0x20 in v, or a byte >= 0x80 in v.
    const uint64_t special = (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                              ((v - kOnes * 0x20) & ~v) | v) &
                             kHighs;
    if (special != 0) break;
    p += 8;
  }
  while (p < end && kTables.plain[*p]) ++p;
  return p;
}

}  // namespace json_detail

// A growable byte buffer from malloc, which the SDK can hand to the host as it is (the host frees
// what a plugin returns with deallocate, i.e. free).
class JsonBuffer {
 public:
  JsonBuffer() = default;
  JsonBuffer(const JsonBuffer&) = delete;
  JsonBuffer& operator=(const JsonBuffer&) = delete;
  JsonBuffer(JsonBuffer&& other) noexcept
      : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  JsonBuffer& operator=(JsonBuffer&& other) noexcept {
    if (this != &other) {
      free(data_);
      data_ = other.data_;
      size_ = other.size_;
      capacity_ = other.capacity_;
      other.data_ = nullptr;
      other.size_ = other.capacity_ = 0;
    }
    return *this;
  }
  ~JsonBuffer() { free(data_); }

  void put(char c) {
    if (size_ == capacity_) grow(1);
    data_[size_++] = c;
  }
  void put(const char* p, size_t n) {
    if (capacity_ - size_ < n) grow(n);
    if (n != 0) json_detail::copy_bytes(data_ + size_, p, n);
    size_ += n;
  }
  void put(std::string_view s) { put(s.data(), s.size()); }
  // n more bytes at the end, for the caller to fill through the pointer returned.
  char* extend(size_t n) {
    if (capacity_ - size_ < n) grow(n);
    char* p = data_ + size_;
    size_ += n;
    return p;
  }
  void reserve(size_t n) {
    if (capacity_ - size_ < n) grow(n);
  }

  std::string_view view() const { return {data_ != nullptr ? data_ : "", size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  std::string str() const { return std::string(view()); }
  // Gives up the buffer (from malloc; free() it); nullptr when nothing was ever written.
  char* release(size_t& size) {
    char* data = data_;
    size = size_;
    data_ = nullptr;
    size_ = capacity_ = 0;
    return data;
  }

 private:
  void grow(size_t n) {
    size_t capacity = capacity_ != 0 ? capacity_ * 2 : 256;
    while (capacity - size_ < n) capacity *= 2;
    char* data = static_cast<char*>(realloc(data_, capacity));
    if (data == nullptr) abort();  // out of guest memory: the observation fails as a trap
    data_ = data;
    capacity_ = capacity;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

namespace json_detail {

inline void append_unsigned(JsonBuffer& out, uint64_t v) {
  char buffer[20];
  char* p = buffer + sizeof buffer;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.put(p, static_cast<size_t>(buffer + sizeof buffer - p));
}

inline void append_signed(JsonBuffer& out, int64_t v) {
  if (v < 0) {
    out.put('-');
    append_unsigned(out, 0 - static_cast<uint64_t>(v));
  } else {
    append_unsigned(out, static_cast<uint64_t>(v));
  }
}

// As nlohmann prints doubles: the shortest representation that reads back the same, and null for
// NaN and infinities (JSON has neither).
inline void append_double(JsonBuffer& out, double v) {
  if (!(v == v) || v > 1.7976931348623157e308 || v < -1.7976931348623157e308) {
    out.put("null", 4);
    return;
  }
  char buffer[64];
  char* end = nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, v);
  out.put(buffer, static_cast<size_t>(end - buffer));
}

}  // namespace json_detail

// Appends s as a JSON string (quoted, escaped). Bytes that are not valid UTF-8 become U+FFFD, as
// nlohmann's dump does with error_handler_t::replace: the host would reject invalid UTF-8.
inline void append_json_string(JsonBuffer& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  out.reserve(s.size() + 2);
  out.put('"');
  while (p < end) {
    const auto* run = p;
    p = json_detail::skip_plain(p, end);
    if (p != run) out.put(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    if (p == end) break;
    const unsigned char c = *p;
    if (c >= 0x80) {
      size_t invalid = 1;
      const size_t n = json_detail::utf8_sequence(p, end, &invalid);
      if (n == 0) {
        out.put("\xef\xbf\xbd", 3);
        p += invalid;
      } else {
        out.put(reinterpret_cast<const char*>(p), n);
        p += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.put("\\\"", 2);
        break;
      case '\\':
        out.put("\\\\", 2);
        break;
      case '\b':
        out.put("\\b", 2);
        break;
      case '\f':
        out.put("\\f", 2);
        break;
      case '\n':
        out.put("\\n", 2);
        break;
      case '\r':
        out.put("\\r", 2);
        break;
      case '\t':
        out.put("\\t", 2);
        break;
      default: {
        static const char kHex[] = "0123456789abcdef";
        const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.put(escape, 6);
      }
    }
    ++p;
  }
  out.put('"');
}

// Compact JSON, appended to out, for any nlohmann value (what dump() gives, without its cost).
inline void write_json(JsonBuffer& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      const auto& object = value.get_ref<const Json::object_t&>();
      out.put('{');
      bool first = true;
      for (const auto& member : object) {
        if (!first) out.put(',');
        first = false;
        append_json_string(out, member.first);
        out.put(':');
        write_json(out, member.second);
      }
      out.put('}');
      return;
    }
    case Json::value_t::array: {
      const auto& array = value.get_ref<const Json::array_t&>();
      out.put('[');
      for (size_t i = 0; i < array.size(); ++i) {
        if (i != 0) out.put(',');
        write_json(out, array[i]);
      }
      out.put(']');
      return;
    }
    case Json::value_t::string:
      append_json_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::boolean:
      if (value.get<bool>()) {
        out.put("true", 4);
      } else {
        out.put("false", 5);
      }
      return;
    case Json::value_t::number_integer:
      json_detail::append_signed(out, value.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      json_detail::append_unsigned(out, value.get<uint64_t>());
      return;
    case Json::value_t::number_float:
      json_detail::append_double(out, value.get<double>());
      return;
    case Json::value_t::binary:  // not produced by the SDK; printed as nlohmann prints it
      out.put(value.dump(-1, ' ', false, Json::error_handler_t::replace));
      return;
    case Json::value_t::null:
    case Json::value_t::discarded:
    default:
      out.put("null", 4);
      return;
  }
}

inline std::string to_json_text(const Json& value) {
  JsonBuffer out;
  write_json(out, value);
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// Reading

// One JSON value inside a text that outlives the view. Scalars are decoded on demand.
class JsonValue {
 public:
  enum class Kind : uint8_t { none, null, boolean, number, string, array, object };

  JsonValue() = default;
  JsonValue(Kind kind, std::string_view raw, bool escaped = false)
      : raw_(raw), kind_(kind), escaped_(escaped) {}

  Kind kind() const { return kind_; }
  bool present() const { return kind_ != Kind::none; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_number() const { return kind_ == Kind::number; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_object() const { return kind_ == Kind::object; }
  bool is_array() const { return kind_ == Kind::array; }
  // For strings: whether the text has escapes to decode.
  bool escaped() const { return escaped_; }
  // The value's JSON text, exactly as it appears (for strings: with the quotes).
  std::string_view raw() const { return raw_; }

  bool boolean(bool fallback = false) const {
    return kind_ == Kind::boolean ? raw_[0] == 't' : fallback;
  }
  // The string's contents. Without escapes this is a view into the text, else decoded into
  // `storage` and a view of that.
  std::string_view string_view(std::string& storage, std::string_view fallback = {}) const;
  std::string string(std::string_view fallback = {}) const {
    std::string storage;
    const std::string_view view = string_view(storage, fallback);
    if (!storage.empty() && view.data() == storage.data()) return storage;
    return std::string(view);
  }
  // Integers (a number with a fraction or exponent is converted; out of range: fallback).
  int64_t integer(int64_t fallback = 0) const;
  uint64_t unsigned_integer(uint64_t fallback = 0) const;
  double number(double fallback = 0) const;
  // The value as an nlohmann tree (any kind).
  Json json() const;

 private:
  std::string_view raw_;
  Kind kind_ = Kind::none;
  bool escaped_ = false;
};

namespace json_detail {

inline double parse_double(std::string_view raw) {
  // strtod needs a terminator; numbers are short.
  char buffer[64];
  if (raw.size() < sizeof buffer) {
    memcpy(buffer, raw.data(), raw.size());
    buffer[raw.size()] = '\0';
    return strtod(buffer, nullptr);
  }
  return strtod(std::string(raw).c_str(), nullptr);
}

inline uint32_t read_hex4(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= static_cast<uint32_t>(c - 'a' + 10);
    else
      v |= static_cast<uint32_t>(c - 'A' + 10);
  }
  return v;
}

class Reader {
 public:
  Reader(const char* begin, const char* end) : p_(begin), end_(end) {}

  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool at_end() const { return p_ == end_; }
  const char* position() const { return p_; }

  // Scans one value (validating it, nested values included) and describes it.
  bool scan(JsonValue& out, int depth) {
    skip_space();
    if (p_ == end_) return false;
    const char* start = p_;
    switch (*p_) {
      case '{': {
        if (!skip_container('}', depth)) return false;
        out = JsonValue(JsonValue::Kind::object, {start, static_cast<size_t>(p_ - start)});
        return true;
      }
      case '[': {
        if (!skip_container(']', depth)) return false;
        out = JsonValue(JsonValue::Kind::array, {start, static_cast<size_t>(p_ - start)});
        return true;
      }
      case '"': {
        bool escaped = false;
        if (!scan_string(escaped)) return false;
        out = JsonValue(JsonValue::Kind::string, {start, static_cast<size_t>(p_ - start)}, escaped);
        return true;
      }
      case 't':
        return literal("true", JsonValue::Kind::boolean, out);
      case 'f':
        return literal("false", JsonValue::Kind::boolean, out);
      case 'n':
        return literal("null", JsonValue::Kind::null, out);
      default: {
        if (!scan_number()) return false;
        out = JsonValue(JsonValue::Kind::number, {start, static_cast<size_t>(p_ - start)});
        return true;
      }
    }
  }

  // A string starting at p_ (the opening quote); p_ ends after the closing quote. `escaped` says
  // whether it contains escapes (then it must be decoded).
  bool scan_string(bool& escaped) {
    ++p_;
    const auto* p = reinterpret_cast<const unsigned char*>(p_);
    const auto* const end = reinterpret_cast<const unsigned char*>(end_);
    for (;;) {
      p = skip_plain(p, end);
      if (p == end) return false;
      const unsigned char c = *p;
      if (c == '"') break;
      if (c == '\\') {
        escaped = true;
        if (end - p < 2) return false;
        const unsigned char e = p[1];
        if (e == 'u') {
          if (end - p < 6 || !hex4(p + 2)) return false;
          const uint32_t unit = read_hex4(reinterpret_cast<const char*>(p + 2));
          p += 6;
          if (unit >= 0xdc00 && unit <= 0xdfff) return false;  // a low surrogate first
          if (unit >= 0xd800 && unit <= 0xdbff) {              // must be followed by a low one
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2)) return false;
            const uint32_t low = read_hex4(reinterpret_cast<const char*>(p + 2));
            if (low < 0xdc00 || low > 0xdfff) return false;
            p += 6;
          }
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
          p += 2;
        } else {
          return false;
        }
      } else if (c < 0x20) {
        return false;
      } else {
        const size_t n = utf8_sequence(p, end);
        if (n == 0) return false;
        p += n;
      }
    }
    p_ = reinterpret_cast<const char*>(p) + 1;
    return true;
  }

  static bool hex4(const unsigned char* p) {
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = p[i];
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }

  // Object members in order: calls member(key_value, value) for each; the key is a string value.
  template <class Member>
  bool object_members(int depth, Member&& member) {
    if (depth > kMaxDepth) return false;
    ++p_;  // '{'
    skip_space();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      const char* key_start = p_;
      bool escaped = false;
      if (!scan_string(escaped)) return false;
      const JsonValue key(JsonValue::Kind::string, {key_start, static_cast<size_t>(p_ - key_start)},
                          escaped);
      skip_space();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      if (!member(key, depth + 1)) return false;
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != '}') return false;
      ++p_;
      return true;
    }
  }

  template <class Element>
  bool array_elements(int depth, Element&& element) {
    if (depth > kMaxDepth) return false;
    ++p_;  // '['
    skip_space();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!element(depth + 1)) return false;
      skip_space();
      if (p_ == end_) return false;
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ != ']') return false;
      ++p_;
      return true;
    }
  }

 private:
  bool skip_container(char close, int depth) {
    if (close == '}') {
      return object_members(depth, [this](const JsonValue&, int d) {
        JsonValue ignored;
        return scan(ignored, d);
      });
    }
    return array_elements(depth, [this](int d) {
      JsonValue ignored;
      return scan(ignored, d);
    });
  }

  bool literal(const char* word, JsonValue::Kind kind, JsonValue& out) {
    const size_t n = strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || memcmp(p_, word, n) != 0) return false;
    out = JsonValue(kind, {p_, n});
    p_ += n;
    return true;
  }

  // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?, and finite as a double (nlohmann
  // rejects 1e999 as an overflow).
  bool scan_number() {
    const char* start = p_;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    bool may_overflow = p_ - digits > 300;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      may_overflow = true;
    }
    if (may_overflow) {
      const double value = parse_double({start, static_cast<size_t>(p_ - start)});
      if (!__builtin_isfinite(value)) return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
};

// Decodes the body of a scanned string (without its quotes). False for a lone or reversed
// surrogate, which nlohmann rejects too.
inline bool decode_string(std::string_view body, std::string& out) {
  out.clear();
  out.reserve(body.size());
  const char* p = body.data();
  const char* const end = p + body.size();
  while (p < end) {
    const char* run = p;
    while (p < end && *p != '\\') ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end) break;
    const char e = p[1];
    p += 2;
    switch (e) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = read_hex4(p);
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
          const uint32_t low = read_hex4(p + 2);
          if (low < 0xdc00 || low > 0xdfff) return false;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          p += 6;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          return false;
        }
        append_utf8(out, cp);
        break;
      }
      default:
        out += e;
        break;  // " \ /
    }
  }
  return true;
}

// Integer text (no fraction or exponent) to a value; false when it does not fit.
inline bool parse_unsigned(const char* p, const char* end, uint64_t& out) {
  uint64_t v = 0;
  for (; p < end; ++p) {
    const uint64_t digit = static_cast<uint64_t>(*p - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

inline bool is_integer_text(std::string_view raw) {
  return raw.find_first_of(".eE") == std::string_view::npos;
}

// nlohmann's number rules: a non-negative integer is number_unsigned, a negative one
// number_integer, anything with a fraction or exponent (or out of range) number_float.
inline Json number_json(std::string_view raw) {
  if (is_integer_text(raw)) {
    uint64_t magnitude = 0;
    if (raw[0] == '-') {
      if (parse_unsigned(raw.data() + 1, raw.data() + raw.size(), magnitude) &&
          magnitude <= static_cast<uint64_t>(INT64_MAX) + 1) {
        return Json(static_cast<int64_t>(0 - magnitude));
      }
    } else if (parse_unsigned(raw.data(), raw.data() + raw.size(), magnitude)) {
      return Json(magnitude);
    }
  }
  return Json(parse_double(raw));
}

// Builds the nlohmann tree of the value at the reader's position.
inline bool build(Reader& reader, Json& out, int depth) {
  reader.skip_space();
  if (reader.at_end()) return false;
  const char c = *reader.position();
  if (c == '{') {
    out = Json::object();
    auto& object = out.get_ref<Json::object_t&>();
    return reader.object_members(depth, [&](const JsonValue& key, int d) {
      std::string name = key.string();
      Json value;
      if (!build(reader, value, d)) return false;
      object.insert_or_assign(std::move(name), std::move(value));  // the last duplicate wins
      return true;
    });
  }
  if (c == '[') {
    out = Json::array();
    auto& array = out.get_ref<Json::array_t&>();
    return reader.array_elements(depth, [&](int d) {
      array.emplace_back();
      return build(reader, array.back(), d);
    });
  }
  JsonValue scalar;
  if (!reader.scan(scalar, depth)) return false;
  switch (scalar.kind()) {
    case JsonValue::Kind::null:
      out = nullptr;
      return true;
    case JsonValue::Kind::boolean:
      out = scalar.boolean();
      return true;
    case JsonValue::Kind::number:
      out = number_json(scalar.raw());
      return true;
    case JsonValue::Kind::string: {
      const std::string_view raw = scalar.raw();
      const std::string_view body = raw.substr(1, raw.size() - 2);
      std::string text;
      if (!scalar.escaped()) {
        text.assign(body.data(), body.size());
      } else if (!decode_string(body, text)) {
        return false;
      }
      out = std::move(text);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace json_detail

inline std::string_view JsonValue::string_view(std::string& storage,
                                               std::string_view fallback) const {
  if (kind_ != Kind::string) return fallback;
  const std::string_view body = raw_.substr(1, raw_.size() - 2);
  if (!escaped_) return body;
  if (!json_detail::decode_string(body, storage)) {
    storage.clear();
    return fallback;
  }
  return storage;
}

inline uint64_t JsonValue::unsigned_integer(uint64_t fallback) const {
  if (kind_ != Kind::number) return fallback;
  if (json_detail::is_integer_text(raw_)) {
    uint64_t v = 0;
    if (raw_[0] == '-' || !json_detail::parse_unsigned(raw_.data(), raw_.data() + raw_.size(), v)) {
      return fallback;
    }
    return v;
  }
  const double d = json_detail::parse_double(raw_);
  return d >= 0 && d < 18446744073709551616.0 ? static_cast<uint64_t>(d) : fallback;
}

inline int64_t JsonValue::integer(int64_t fallback) const {
  if (kind_ != Kind::number) return fallback;
  if (json_detail::is_integer_text(raw_)) {
    const bool negative = raw_[0] == '-';
    uint64_t magnitude = 0;
    if (!json_detail::parse_unsigned(raw_.data() + (negative ? 1 : 0), raw_.data() + raw_.size(),
                                     magnitude)) {
      return fallback;
    }
    const uint64_t limit = static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0);
    if (magnitude > limit) return fallback;
    return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  }
  const double d = json_detail::parse_double(raw_);
  return d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? static_cast<int64_t>(d)
                                                                  : fallback;
}

inline double JsonValue::number(double fallback) const {
  return kind_ == Kind::number ? json_detail::parse_double(raw_) : fallback;
}

inline Json JsonValue::json() const {
  if (kind_ == Kind::none) return Json(Json::value_t::discarded);
  json_detail::Reader reader(raw_.data(), raw_.data() + raw_.size());
  Json out;
  if (!json_detail::build(reader, out, 0)) return Json(Json::value_t::discarded);
  return out;
}

// Parses text as one JSON value (surrounding white space allowed) into an nlohmann tree; a
// discarded value when it is not valid JSON, as Json::parse(..., nullptr, false) gives.
inline Json parse_json(std::string_view text) {
  json_detail::Reader reader(text.data(), text.data() + text.size());
  Json out;
  if (!json_detail::build(reader, out, 0)) return Json(Json::value_t::discarded);
  reader.skip_space();
  if (!reader.at_end()) return Json(Json::value_t::discarded);
  return out;
}

// The members of one JSON object, indexed without building a tree: lookups compare keys and
// decode only the values asked for. The text must outlive it. Objects of up to kInline members
// (every host response, most configs) need no allocation.
class JsonFields {
 public:
  static constexpr size_t kInline = 24;

  // User-provided, so that value-initialisation (Expected's T value_{}) does not zero the slots.
  JsonFields() {}  // NOLINT(modernize-use-equals-default)

  // False when text is not exactly one valid JSON object (white space around it allowed).
  bool parse(std::string_view text) {
    count_ = 0;
    more_.clear();
    json_detail::fill_bytes(table_, 0, sizeof table_);
    indexed_ = true;
    json_detail::Reader reader(text.data(), text.data() + text.size());
    reader.skip_space();
    if (reader.at_end() || *reader.position() != '{') return false;
    const bool ok = reader.object_members(0, [&](const JsonValue& key, int depth) {
      JsonValue value;
      if (!reader.scan(value, depth)) return false;
      add(key, value);
      return true;
    });
    reader.skip_space();
    if (!ok || !reader.at_end()) {
      count_ = 0;
      more_.clear();
      return false;
    }
    return true;
  }

  size_t size() const { return count_; }
  // The member's value (the last one, when a key repeats); a value that is not present()
  // otherwise.
  // A key given as a string literal: its bucket and its comparisons are constants once inlined.
  template <size_t N>
  __attribute__((always_inline)) JsonValue find(const char (&key)[N]) const {
    return find_inline(std::string_view(key, json_detail::literal_length(key)));
  }
  JsonValue find(std::string_view key) const { return find_inline(key); }

  // Shortcuts; `key` as find() takes it (a literal stays one, for its constant lookup).
  template <class Key>
  __attribute__((always_inline)) bool contains(const Key& key) const {
    return find(key).present();
  }
  template <class Key>
  __attribute__((always_inline)) std::string string(const Key& key,
                                                    std::string_view fallback = {}) const {
    return find(key).string(fallback);
  }
  template <class Key>
  __attribute__((always_inline)) bool boolean(const Key& key, bool fallback = false) const {
    return find(key).boolean(fallback);
  }
  template <class Key>
  __attribute__((always_inline)) int64_t integer(const Key& key, int64_t fallback = 0) const {
    return find(key).integer(fallback);
  }
  template <class Key>
  __attribute__((always_inline)) uint64_t unsigned_integer(const Key& key,
                                                           uint64_t fallback = 0) const {
    return find(key).unsigned_integer(fallback);
  }

  // Iteration: key (decoded) and value of member i, in the order of the text.
  std::string key(size_t i) const {
    const Slot& slot = at(i);
    if (!slot.key_escaped) return std::string(slot.key, slot.key_size);
    // Re-quote to decode through JsonValue (keys are short).
    return JsonValue(JsonValue::Kind::string, std::string_view(slot.key - 1, slot.key_size + 2),
                     true)
        .string();
  }
  JsonValue value(size_t i) const {
    const Slot& slot = at(i);
    return JsonValue(static_cast<JsonValue::Kind>(slot.value_kind),
                     std::string_view(slot.value, slot.value_size), slot.value_escaped);
  }

 private:
  // Inlined where the key is a literal, so that its bucket and comparisons fold to constants.
  __attribute__((always_inline)) JsonValue find_inline(std::string_view key) const {
    if (indexed_) {
      // Open addressing over kBuckets; every member is in the table (count_ <= kInline).
      for (size_t h = bucket(key.data(), key.size());; h = (h + 1) & (kBuckets - 1)) {
        const uint8_t entry = table_[h];
        if (entry == 0) return {};
        const Slot& slot = inline_[entry - 1];
        if (slot.key_size == key.size() && keys_equal(slot.key, key.data(), key.size())) {
          return value(entry - 1);
        }
      }
    }
    for (size_t i = count_; i-- > 0;) {
      const Slot& slot = at(i);
      if (!slot.key_escaped) {
        if (slot.key_size == key.size() && keys_equal(slot.key, key.data(), key.size())) {
          return value(i);
        }
      } else if (this->key(i) == key) {
        return value(i);
      }
    }
    return {};
  }

  // Trivially constructible, so that the inline array costs nothing until used.
  struct Slot {
    const char* key;  // the key's text without its quotes
    const char* value;
    uint32_t key_size;
    uint32_t value_size;
    uint8_t value_kind;
    bool key_escaped;
    bool value_escaped;
  };

  void add(const JsonValue& key, const JsonValue& value) {
    Slot slot;
    slot.key = key.raw().data() + 1;
    slot.key_size = static_cast<uint32_t>(key.raw().size() - 2);
    slot.key_escaped = key.escaped();
    slot.value = value.raw().data();
    slot.value_size = static_cast<uint32_t>(value.raw().size());
    slot.value_kind = static_cast<uint8_t>(value.kind());
    slot.value_escaped = value.escaped();
    if (count_ < kInline) {
      inline_[count_] = slot;
    } else {
      more_.push_back(slot);
      indexed_ = false;  // beyond the table: lookups scan
    }
    if (slot.key_escaped) indexed_ = false;  // hashed by its decoded form: rare, lookups scan
    if (indexed_) {
      size_t h = bucket(slot.key, slot.key_size);
      for (;; h = (h + 1) & (kBuckets - 1)) {
        const uint8_t entry = table_[h];
        if (entry == 0) break;
        const Slot& other = inline_[entry - 1];
        if (other.key_size == slot.key_size && keys_equal(other.key, slot.key, slot.key_size)) {
          break;  // a repeated key: the later member replaces the earlier one
        }
      }
      table_[h] = static_cast<uint8_t>(count_ + 1);
    }
    ++count_;
  }
  // Length, first and last byte: cheap, and it spreads the short keys of configs and host
  // responses well (collisions probe on).
  static size_t bucket(const char* key, size_t size) {
    if (size == 0) return 0;
    const auto first = static_cast<unsigned char>(key[0]);
    const auto last = static_cast<unsigned char>(key[size - 1]);
    return (size * 7 + first * 3 + last) & (kBuckets - 1);
  }
  const Slot& at(size_t i) const { return i < kInline ? inline_[i] : more_[i - kInline]; }
  // Eight bytes per step: a byte loop is what an interpreter is slowest at, and with one side a
  // literal the compiler turns the steps into compares with constants.
  static bool keys_equal(const char* a, const char* b, size_t n) {
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
      uint64_t x, y;
      memcpy(&x, a + i, 8);
      memcpy(&y, b + i, 8);
      if (x != y) return false;
    }
    if (n - i >= 4) {
      uint32_t x, y;
      memcpy(&x, a + i, 4);
      memcpy(&y, b + i, 4);
      if (x != y) return false;
      i += 4;
    }
    for (; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  static constexpr size_t kBuckets = 64;  // a power of two, well above kInline
  Slot inline_[kInline];
  uint8_t table_[kBuckets];  // index + 1 into inline_, 0 for an empty bucket
  bool indexed_ = false;
  size_t count_ = 0;
  std::vector<Slot> more_;
};

// Compact JSON, written as you go into a JsonBuffer. Keys and string values are escaped; nesting
// is up to the caller (begin/end must match).
class JsonWriter {
 public:
  JsonWriter& begin_object() {
    separate();
    out_.put('{');
    first_ = true;
    return *this;
  }
  JsonWriter& end_object() {
    out_.put('}');
    first_ = false;
    return *this;
  }
  JsonWriter& begin_array() {
    separate();
    out_.put('[');
    first_ = true;
    return *this;
  }
  JsonWriter& end_array() {
    out_.put(']');
    first_ = false;
    return *this;
  }
  // The key of the next member; its value follows (value(), raw(), begin_object(), ...).
  JsonWriter& key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_.put(':');
    first_ = true;  // no comma before the value
    return *this;
  }

  // A key given as a string literal (or another char array holding a C string): when it needs
  // no escaping, which for a literal is decided at compile time, it is written with one copy of
  // a constant size instead of being scanned.
  template <size_t N>
  __attribute__((always_inline)) JsonWriter& key(const char (&name)[N]) {
    const size_t n = json_detail::literal_length(name);
    if (!json_detail::plain_text(name, n)) return key(std::string_view(name, n));
    const bool comma = !first_;
    char* p = out_.extend(n + 3 + (comma ? 1 : 0));
    if (comma) *p++ = ',';
    *p++ = '"';
    memcpy(p, name, n);
    p[n] = '"';
    p[n + 1] = ':';
    first_ = true;  // no comma before the value
    return *this;
  }

  JsonWriter& value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) {
    separate();
    if (b) {
      out_.put("true", 4);
    } else {
      out_.put("false", 5);
    }
    return *this;
  }
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  JsonWriter& value(T v) {
    separate();
    if constexpr (std::is_signed_v<T>) {
      json_detail::append_signed(out_, static_cast<int64_t>(v));
    } else {
      json_detail::append_unsigned(out_, static_cast<uint64_t>(v));
    }
    return *this;
  }
  JsonWriter& value(double d) {
    separate();
    json_detail::append_double(out_, d);
    return *this;
  }
  JsonWriter& value(std::nullptr_t) {
    separate();
    out_.put("null", 4);
    return *this;
  }
  JsonWriter& value(const Json& tree) {
    separate();
    write_json(out_, tree);
    return *this;
  }
  // Text that is already one JSON value, copied as it is (not checked): a JsonValue's raw(), for
  // instance, passes a host response's field on without decoding it.
  JsonWriter& raw(std::string_view json_text) {
    separate();
    out_.put(json_text);
    return *this;
  }

  // `name` as key() takes it (a literal stays one, for its constant-size copy).
  template <class Name, class T>
  __attribute__((always_inline)) JsonWriter& field(const Name& name, T&& v) {
    key(name);
    return value(std::forward<T>(v));
  }
  template <class Name>
  __attribute__((always_inline)) JsonWriter& raw_field(const Name& name,
                                                       std::string_view json_text) {
    key(name);
    return raw(json_text);
  }

  std::string_view view() const { return out_.view(); }
  std::string str() const { return out_.str(); }
  JsonBuffer& buffer() { return out_; }
  JsonBuffer take() { return std::move(out_); }

 private:
  void separate() {
    if (!first_) out_.put(',');
    first_ = false;
  }

  JsonBuffer out_;
  bool first_ = true;
};

}  // namespace reglet::sdk
