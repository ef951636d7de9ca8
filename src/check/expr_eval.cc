// Tree-walking evaluator for expectation expressions (semantics: see expr.h).
//
// Evaluation state lives in a per-call Evaluator, so one Program can be evaluated by many threads
// at once. Intermediate values refer into the caller's JSON (or the syntax tree's literals)
// instead of copying it; only computed values are owned.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "check/expr_internal.h"

namespace reglet::check::expr_detail {
namespace {

const json& null_json() {
  static const json kNull;
  return kNull;
}

// A value during evaluation: a reference into JSON that outlives the evaluation, or owned.
class Value {
 public:
  Value() = default;  // nil
  static Value ref(const json& j) {
    Value v;
    v.ref_ = &j;
    return v;
  }
  static Value own(json j) {
    Value v;
    v.ref_ = nullptr;
    v.owned_ = std::move(j);
    return v;
  }

  const json& get() const { return ref_ ? *ref_ : owned_; }
  bool is_owned() const { return ref_ == nullptr; }
  json take() && { return ref_ ? *ref_ : std::move(owned_); }

  // A part of this value (an element, a member) as a Value that stays valid after this one is
  // gone: a reference when this is a reference, otherwise moved out.
  Value part(const json& child) {
    if (!is_owned()) return ref(child);
    return own(std::move(const_cast<json&>(child)));  // child is inside owned_, which we own
  }

 private:
  const json* ref_ = &null_json();
  json owned_;
};

bool is_access(const Node& n) {
  return n.kind == NodeKind::kMember || n.kind == NodeKind::kIndex || n.kind == NodeKind::kSlice;
}

std::string shorten_quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s.size() > 40 ? s.substr(0, 40) : s);
  if (s.size() > 40) out += "...";
  out += '"';
  return out;
}

// --- string helpers (Go strings package semantics) -------------------------------------------

bool is_go_space(char32_t c) {
  switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

char32_t to_upper_cp(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c == 0xB5) return 0x39C;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 0x20;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x178) return c;
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return c % 2 == 0 ? c - 1 : c;
    return c % 2 == 1 ? c - 1 : c;
  }
  if ((c >= 0x3B1 && c <= 0x3C1) || (c >= 0x3C3 && c <= 0x3CB)) return c - 0x20;
  if (c == 0x3C2) return 0x3A3;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) return c % 2 == 1 ? c - 1 : c;
  return c;
}

char32_t to_lower_cp(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0x178) return 0xFF;
  if (c == 0x130) return 'i';
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper) return c % 2 == 1 ? c + 1 : c;
    return c % 2 == 0 ? c + 1 : c;
  }
  if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB)) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF)) return c % 2 == 0 ? c + 1 : c;
  return c;
}

std::string map_case(std::string_view s, char32_t (*f)(char32_t)) {
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t start = pos;
    char32_t cp = decode_utf8(s, pos);
    if (cp == 0xFFFD && pos - start == 1 && static_cast<unsigned char>(s[start]) >= 0x80) {
      out += s[start];  // keep invalid bytes as they are
      continue;
    }
    append_utf8(out, f(cp));
  }
  return out;
}

template <class Pred>
std::string_view trim_if(std::string_view s, Pred drop) {
  std::size_t pos = 0;
  std::size_t first = s.size();
  std::size_t last = 0;
  bool any = false;
  while (pos < s.size()) {
    std::size_t start = pos;
    char32_t cp = decode_utf8(s, pos);
    if (!drop(cp)) {
      if (!any) first = start;
      any = true;
      last = pos;
    }
  }
  if (!any) return {};
  return s.substr(first, last - first);
}

std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos < s.size(); ++n) decode_utf8(s, pos);
  return n;
}

std::size_t count_occurrences(std::string_view s, std::string_view sep) {
  if (sep.empty()) return count_code_points(s) + 1;
  std::size_t n = 0;
  for (std::size_t pos = s.find(sep); pos != std::string_view::npos;
       pos = s.find(sep, pos + sep.size())) {
    ++n;
  }
  return n;
}

json go_split(std::string_view s, std::string_view sep, std::int64_t n) {
  json out = json::array();
  if (n == 0) return out;
  if (sep.empty()) {
    auto total = static_cast<std::int64_t>(count_code_points(s));
    if (n < 0 || n > total) n = total;
    std::size_t pos = 0;
    for (std::int64_t i = 0; i + 1 < n; ++i) {
      std::size_t start = pos;
      decode_utf8(s, pos);
      out.push_back(std::string(s.substr(start, pos - start)));
    }
    if (n > 0) out.push_back(std::string(s.substr(pos)));
    return out;
  }
  if (n < 0) n = static_cast<std::int64_t>(count_occurrences(s, sep)) + 1;
  std::int64_t i = 0;
  while (i < n - 1) {
    std::size_t m = s.find(sep);
    if (m == std::string_view::npos) break;
    out.push_back(std::string(s.substr(0, m)));
    s.remove_prefix(m + sep.size());
    ++i;
  }
  out.push_back(std::string(s));
  return out;
}

std::string go_replace(std::string_view s, std::string_view old, std::string_view with,
                       std::int64_t n) {
  if (old == with || n == 0) return std::string(s);
  auto m = static_cast<std::int64_t>(count_occurrences(s, old));
  if (m == 0) return std::string(s);
  if (n < 0 || m < n) n = m;
  std::string out;
  std::size_t start = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    std::size_t j = start;
    if (old.empty()) {
      if (i > 0) {
        std::size_t p = start;
        decode_utf8(s, p);
        j = p;
      }
    } else {
      j = s.find(old, start);
    }
    out.append(s.substr(start, j - start));
    out.append(with);
    start = j + old.size();
  }
  out.append(s.substr(start));
  return out;
}

// --- the evaluator ---------------------------------------------------------------------------

struct Frame {
  const json* element;
  std::int64_t index;
};

class Evaluator {
 public:
  Evaluator(const json& vars, const json* fallback) : vars_(vars), fallback_(fallback) {}

  Result<json> run(const Node& root) {
    Result<Value> result = eval(root);
    if (!result) return std::move(result).error();
    return materialize(root, std::move(result).value());
  }

  // eval() and the eval_* functions it calls recurse once per tree level, so they are kept
  // lean: error messages and non-recursive work live in separate out-of-line functions, which
  // keeps a tree level to about 200 bytes of stack in optimized builds.
  Result<Value> eval(const Node& n) {
    if (++steps_ > kMaxSteps) return step_error(n);
    switch (n.kind) {
      case NodeKind::kLiteral:
        return Value::ref(n.value);
      case NodeKind::kIdent:
        return lookup(n.name);
      case NodeKind::kPointer:
        if (frames_.empty()) return error(n, "'#' used outside a predicate");
        return Value::ref(*frames_.back().element);
      case NodeKind::kPointerIndex:
        if (frames_.empty()) return error(n, "'#index' used outside a predicate");
        return Value::own(frames_.back().index);
      case NodeKind::kArray:
        return eval_array(n);
      case NodeKind::kMap:
        return eval_map(n);
      case NodeKind::kMember:
      case NodeKind::kIndex:
      case NodeKind::kSlice: {
        bool nil_chain = false;
        return eval_access(n, nil_chain);
      }
      case NodeKind::kUnary:
        return eval_unary(n);
      case NodeKind::kBinary:
        return eval_binary(n);
      case NodeKind::kConditional:
        return eval_conditional(n);
      case NodeKind::kCall:
        return n.builtin->predicate ? eval_predicate(n) : eval_call(n);
    }
    return error(n, "unknown syntax node");
  }

 private:
  [[gnu::noinline, gnu::cold]] static Error error(const Node& n, std::string message) {
    return make_error(ErrorCode::invalid_argument,
                      "column " + std::to_string(n.column) + ": " + std::move(message));
  }
  [[gnu::noinline, gnu::cold]] static Error error(const Node& n, const char* message) {
    return error(n, std::string(message));
  }
  [[gnu::noinline, gnu::cold]] static Error not_implemented(const Node& n) {
    return error(n, "function " + n.name + "() is not implemented");
  }
  [[gnu::noinline, gnu::cold]] static Error step_error(const Node& n) {
    return error(n, "evaluation exceeded " + std::to_string(kMaxSteps) + " steps");
  }
  [[gnu::noinline, gnu::cold]] static Error logic_operand_error(const Node& n, const char* side,
                                                                const json& v) {
    return error(n, std::string(side) + " operand of '" + n.spelling + "' must be a bool, got " +
                        std::string(type_name(v)));
  }

  // A memory budget: whatever an evaluation builds (strings, arrays, copies of caller data) is
  // charged before or right after it is built, so `s + s + s ...` or replace() on large
  // evidence fails cleanly instead of exhausting memory.
  [[gnu::noinline]] std::optional<Error> charge(const Node& n, std::size_t bytes) {
    std::size_t room = kMaxProducedBytes - std::min(produced_, kMaxProducedBytes);
    produced_ = bytes > room ? kMaxProducedBytes + 1 : produced_ + bytes;
    if (produced_ > kMaxProducedBytes) {
      return error(n, "evaluation built more than " + std::to_string(kMaxProducedBytes >> 20) +
                          " MiB of values");
    }
    return std::nullopt;
  }

  // Copies of caller data are the only recursive operations left (nlohmann's copy constructor
  // recurses), so a referenced value is checked for depth (and charged) before it is copied.
  [[gnu::noinline]] Result<json> materialize(const Node& n, Value v) {
    if (!v.is_owned()) return copy_of(n, v.get());
    return std::move(v).take();
  }
  [[gnu::noinline]] Result<json> copy_of(const Node& n, const json& j) {
    Footprint size = measure(j, kMaxValueDepth);
    if (size.depth > kMaxValueDepth) {
      return error(n, "cannot copy a value nested deeper than " + std::to_string(kMaxValueDepth) +
                          " levels");
    }
    if (auto e = charge(n, size.bytes)) return *e;
    return j;
  }

  Value lookup(const std::string& name) const {
    if (vars_.is_object()) {
      auto it = vars_.find(name);
      if (it != vars_.end()) return Value::ref(*it);
    }
    if (fallback_ && fallback_->is_object()) {
      auto it = fallback_->find(name);
      if (it != fallback_->end()) return Value::ref(*it);
    }
    return Value();
  }

  [[gnu::noinline]] Result<Value> eval_array(const Node& n) {
    if (auto e = charge(n, 32 * n.children.size())) return *e;
    json out = json::array();
    for (const NodePtr& child : n.children) {
      Result<Value> v = eval(*child);
      if (!v) return v;
      Result<json> element = materialize(*child, std::move(v).value());
      if (!element) return std::move(element).error();
      out.push_back(std::move(element).value());
    }
    return Value::own(std::move(out));
  }

  [[gnu::noinline]] Result<Value> eval_map(const Node& n) {
    json out = json::object();
    for (std::size_t i = 0; i + 1 < n.children.size(); i += 2) {
      Result<Value> key = eval(*n.children[i]);
      if (!key) return key;
      if (!key->get().is_string()) return key_error(*n.children[i], key->get());
      Result<Value> value = eval(*n.children[i + 1]);
      if (!value) return value;
      Result<json> copy = materialize(*n.children[i + 1], std::move(value).value());
      if (!copy) return std::move(copy).error();
      out[key->get().get_ref<const std::string&>()] = std::move(copy).value();
    }
    return Value::own(std::move(out));
  }

  [[gnu::noinline, gnu::cold]] static Error key_error(const Node& n, const json& key) {
    return error(n, "map keys must be strings, got " + std::string(type_name(key)));
  }

  // Member, index and slice; `nil_chain` is set when a `?.` met nil, which turns the rest of
  // the chain into nil (expr-lang's ChainNode). The object is evaluated first, then the index
  // or the slice bounds (not at all when the chain was cut short).
  [[gnu::noinline]] Result<Value> eval_access(const Node& n, bool& nil_chain) {
    const Node& object_node = *n.children[0];
    Result<Value> object =
        is_access(object_node) ? eval_access(object_node, nil_chain) : eval(object_node);
    if (!object || nil_chain) return object;
    if (object->get().is_null() && n.optional) {
      nil_chain = true;
      return Value();
    }
    if (n.kind == NodeKind::kMember) return member(n, std::move(object).value());
    if (n.kind == NodeKind::kIndex) {
      Result<Value> key = eval(*n.children[1]);
      if (!key) return key;
      return index(n, std::move(object).value(), key->get());
    }
    Value bounds[2];
    for (std::size_t b = 0; b < 2; ++b) {
      if (!n.children[1 + b]) continue;
      Result<Value> v = eval(*n.children[1 + b]);
      if (!v) return v;
      bounds[b] = std::move(v).value();
    }
    return slice(n, std::move(object).value(), bounds);
  }

  [[gnu::noinline]] Result<Value> member(const Node& n, Value object) {
    const json& o = object.get();
    if (o.is_object()) {
      auto it = o.find(n.name);
      if (it == o.end()) return Value();
      return object.part(*it);
    }
    if (o.is_null()) {
      return error(
          n, "cannot access member '" + n.name + "' of nil (use '?." + n.name + "' to allow nil)");
    }
    return error(n, "cannot access member '" + n.name + "' of " + type_with_article(o));
  }

  [[gnu::noinline]] Result<Value> index(const Node& n, Value object, const json& k) {
    const json& o = object.get();
    Type tk = type_of(k);
    switch (type_of(o)) {
      case Type::kArray:
      case Type::kString: {
        if (tk != Type::kInt) {
          return error(n, "cannot index " + std::string(type_name(o)) + " with " +
                              std::string(type_name(tk)) + " (indexes are ints)");
        }
        std::int64_t i = to_int(k);
        auto size = static_cast<std::int64_t>(
            o.is_array() ? o.size() : o.get_ref<const std::string&>().size());
        std::int64_t at = i < 0 ? i + size : i;
        if (at < 0 || at >= size) {
          return error(n, "index " + std::to_string(i) + " out of range for " +
                              std::string(type_name(o)) + " of length " + std::to_string(size));
        }
        if (o.is_array()) return object.part(o[static_cast<std::size_t>(at)]);
        return Value::own(
            std::string(1, o.get_ref<const std::string&>()[static_cast<std::size_t>(at)]));
      }
      case Type::kMap: {
        if (tk != Type::kString) {
          return error(
              n, "cannot index map with " + std::string(type_name(tk)) + " (keys are strings)");
        }
        auto it = o.find(k.get_ref<const std::string&>());
        if (it == o.end()) return Value();
        return object.part(*it);
      }
      case Type::kNil:
        return error(n, "cannot index nil (use '?.[' to allow nil)");
      default:
        return error(n, "cannot index " + type_with_article(o));
    }
  }

  // `bounds` hold nil where a bound was left out.
  [[gnu::noinline]] Result<Value> slice(const Node& n, Value object, const Value (&bounds)[2]) {
    const json& o = object.get();
    if (!o.is_array() && !o.is_string()) {
      return error(n, "cannot slice " + type_with_article(o));
    }
    auto size =
        static_cast<std::int64_t>(o.is_array() ? o.size() : o.get_ref<const std::string&>().size());
    std::int64_t range[2] = {0, size};
    for (std::size_t b = 0; b < 2; ++b) {
      const NodePtr& bound = n.children[1 + b];
      if (!bound) continue;
      const json& v = bounds[b].get();
      if (type_of(v) != Type::kInt) {
        return error(*bound, "slice bounds must be ints, got " + std::string(type_name(v)));
      }
      std::int64_t x = to_int(v);
      if (x < 0) x += size;
      range[b] = std::clamp<std::int64_t>(x, 0, size);
    }
    auto from = static_cast<std::size_t>(std::min(range[0], range[1]));
    auto to = static_cast<std::size_t>(range[1]);
    if (o.is_string()) {
      if (auto e = charge(n, to - from)) return *e;
      return Value::own(o.get_ref<const std::string&>().substr(from, to - from));
    }
    json out = json::array();
    for (std::size_t i = from; i < to; ++i) {
      Result<json> copy = copy_of(n, o[i]);
      if (!copy) return std::move(copy).error();
      out.push_back(std::move(copy).value());
    }
    return Value::own(std::move(out));
  }

  [[gnu::noinline]] Result<Value> eval_unary(const Node& n) {
    Result<Value> operand = eval(*n.children[0]);
    if (!operand) return operand;
    return apply_unary(n, operand->get());
  }

  [[gnu::noinline]] Result<Value> apply_unary(const Node& n, const json& v) {
    Type t = type_of(v);
    if (n.op == Op::kNot) {
      if (t != Type::kBool) {
        return error(n,
                     "'" + n.spelling + "' needs a bool operand, got " + std::string(type_name(t)));
      }
      return Value::own(!v.get<bool>());
    }
    if (!is_number(t)) {
      return error(n,
                   "unary '" + n.spelling + "' needs a number, got " + std::string(type_name(t)));
    }
    if (n.op == Op::kPlus) return Value::own(t == Type::kInt ? json(to_int(v)) : json(to_float(v)));
    if (t == Type::kFloat) return Value::own(-to_float(v));
    std::int64_t i = to_int(v);
    if (i == std::numeric_limits<std::int64_t>::min()) {
      return error(n, "integer overflow in unary '-'");
    }
    return Value::own(-i);
  }

  [[gnu::noinline]] Result<Value> eval_binary(const Node& n) {
    const Node& lhs = *n.children[0];
    const Node& rhs = *n.children[1];
    if (n.op == Op::kAnd || n.op == Op::kOr) {
      Result<Value> l = eval(lhs);
      if (!l) return l;
      if (!l->get().is_boolean()) return logic_operand_error(n, "left", l->get());
      // Short-circuit: the right side is not evaluated, so it cannot fail.
      bool left = l->get().get<bool>();
      if (n.op == Op::kAnd && !left) return Value::own(false);
      if (n.op == Op::kOr && left) return Value::own(true);
      Result<Value> r = eval(rhs);
      if (!r) return r;
      if (!r->get().is_boolean()) return logic_operand_error(n, "right", r->get());
      return Value::own(r->get().get<bool>());
    }
    if (n.op == Op::kCoalesce) {
      Result<Value> l = eval(lhs);
      if (!l || !l->get().is_null()) return l;
      return eval(rhs);
    }
    Result<Value> l = eval(lhs);
    if (!l) return l;
    Result<Value> r = eval(rhs);
    if (!r) return r;
    return apply(n, l->get(), r->get());
  }

  [[gnu::noinline, gnu::cold]] static Error type_error(const Node& n, const json& a,
                                                       const json& b) {
    return error(n, "cannot apply '" + n.spelling + "' to " + std::string(type_name(a)) + " and " +
                        std::string(type_name(b)));
  }

  [[gnu::noinline]] Result<Value> apply(const Node& n, const json& a, const json& b) {
    Type ta = type_of(a);
    Type tb = type_of(b);
    switch (n.op) {
      case Op::kEq:
        return Value::own(deep_equal(a, b));
      case Op::kNe:
        return Value::own(!deep_equal(a, b));
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        return compare(n, a, b, ta, tb);
      case Op::kIn:
        return membership(n, a, b, ta, tb);
      case Op::kContains:
      case Op::kStartsWith:
      case Op::kEndsWith: {
        if (ta != Type::kString || tb != Type::kString) return type_error(n, a, b);
        std::string_view s = a.get_ref<const std::string&>();
        std::string_view p = b.get_ref<const std::string&>();
        bool result = n.op == Op::kContains ? s.find(p) != std::string_view::npos
                      : n.op == Op::kStartsWith
                          ? s.substr(0, p.size()) == p
                          : s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
        return Value::own(result);
      }
      case Op::kMatches:
        return matches(n, a, b, ta, tb);
      case Op::kAdd:
        if (ta == Type::kString && tb == Type::kString) {
          const std::string& x = a.get_ref<const std::string&>();
          const std::string& y = b.get_ref<const std::string&>();
          if (auto e = charge(n, x.size() + y.size())) return *e;
          return Value::own(x + y);
        }
        if (ta == Type::kArray && tb == Type::kArray) {
          json out = json::array();
          for (const json* side : {&a, &b}) {
            for (const json& e : *side) {
              Result<json> copy = copy_of(n, e);
              if (!copy) return std::move(copy).error();
              out.push_back(std::move(copy).value());
            }
          }
          return Value::own(std::move(out));
        }
        return arithmetic(n, a, b, ta, tb);
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
      case Op::kPow:
        return arithmetic(n, a, b, ta, tb);
      default:
        return error(n, "unsupported operator '" + n.spelling + "'");
    }
  }

  Result<Value> compare(const Node& n, const json& a, const json& b, Type ta, Type tb) {
    int order = 0;  // <0, 0, >0; NaN makes every comparison false
    if (is_number(ta) && is_number(tb)) {
      if (ta == Type::kInt && tb == Type::kInt) {
        std::int64_t x = to_int(a);
        std::int64_t y = to_int(b);
        order = x < y ? -1 : x > y ? 1 : 0;
      } else {
        double x = to_float(a);
        double y = to_float(b);
        if (std::isnan(x) || std::isnan(y)) return Value::own(false);
        order = x < y ? -1 : x > y ? 1 : 0;
      }
    } else if (ta == Type::kString && tb == Type::kString) {
      int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
      order = c < 0 ? -1 : c > 0 ? 1 : 0;
    } else {
      return error(n, "cannot compare " + std::string(type_name(ta)) + " with " +
                          std::string(type_name(tb)) + " using '" + n.spelling + "'");
    }
    bool result = n.op == Op::kLt   ? order < 0
                  : n.op == Op::kLe ? order <= 0
                  : n.op == Op::kGt ? order > 0
                                    : order >= 0;
    return Value::own(result);
  }

  Result<Value> membership(const Node& n, const json& a, const json& b, Type ta, Type tb) {
    switch (tb) {
      case Type::kNil:
        return Value::own(false);
      case Type::kArray:
        for (const json& e : b) {
          if (deep_equal(a, e)) return Value::own(true);
        }
        return Value::own(false);
      case Type::kMap:
        if (ta != Type::kString) {
          return error(n, "'in' on a map needs a string key, got " + std::string(type_name(ta)));
        }
        return Value::own(b.contains(a.get_ref<const std::string&>()));
      default:
        return error(n, "'in' needs an array or a map on the right, got " +
                            std::string(type_name(tb)) +
                            (tb == Type::kString ? " (use 'contains' for substrings)" : ""));
    }
  }

  Result<Value> matches(const Node& n, const json& a, const json& b, Type ta, Type tb) {
    if (ta != Type::kString || tb != Type::kString) return type_error(n, a, b);
    std::shared_ptr<const Regex> re = n.regex;
    if (!re) {
      auto compiled = compile_regex(b.get_ref<const std::string&>());
      if (!compiled) return error(n, compiled.error().message);
      re = std::move(compiled).value();
    }
    try {
      return Value::own(std::regex_match(a.get_ref<const std::string&>(), re->re));
    } catch (const std::regex_error& e) {
      return error(
          n, "matching regular expression " + shorten_quoted(re->pattern) + " failed: " + e.what());
    }
  }

  Result<Value> arithmetic(const Node& n, const json& a, const json& b, Type ta, Type tb) {
    if (!is_number(ta) || !is_number(tb)) return type_error(n, a, b);
    bool ints = ta == Type::kInt && tb == Type::kInt;
    switch (n.op) {
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul: {
        if (ints) {
          std::int64_t x = to_int(a);
          std::int64_t y = to_int(b);
          std::int64_t r = 0;
          bool overflow = n.op == Op::kAdd   ? __builtin_add_overflow(x, y, &r)
                          : n.op == Op::kSub ? __builtin_sub_overflow(x, y, &r)
                                             : __builtin_mul_overflow(x, y, &r);
          if (overflow) return error(n, "integer overflow in '" + n.spelling + "'");
          return Value::own(r);
        }
        double x = to_float(a);
        double y = to_float(b);
        double r = n.op == Op::kAdd ? x + y : n.op == Op::kSub ? x - y : x * y;
        return Value::own(r);
      }
      case Op::kDiv: {
        double y = to_float(b);
        if (y == 0) return error(n, "division by zero");
        return Value::own(to_float(a) / y);
      }
      case Op::kMod: {
        if (!ints) {
          return error(n, "'%' needs two ints, got " + std::string(type_name(ta)) + " and " +
                              std::string(type_name(tb)));
        }
        std::int64_t x = to_int(a);
        std::int64_t y = to_int(b);
        if (y == 0) return error(n, "modulo by zero");
        if (y == -1) return Value::own(std::int64_t{0});  // INT64_MIN % -1 overflows in C++
        return Value::own(x % y);
      }
      case Op::kPow:
        return Value::own(std::pow(to_float(a), to_float(b)));
      default:
        return error(n, "unsupported operator '" + n.spelling + "'");
    }
  }

  [[gnu::noinline]] Result<Value> eval_conditional(const Node& n) {
    Result<Value> c = eval(*n.children[0]);
    if (!c) return c;
    if (!c->get().is_boolean()) return condition_error(n, c->get());
    return eval(*n.children[c->get().get<bool>() ? 1 : 2]);
  }

  [[gnu::noinline, gnu::cold]] static Error condition_error(const Node& n, const json& c) {
    return error(n, "the condition of '?:' must be a bool, got " + std::string(type_name(c)));
  }

  // --- builtins ---------------------------------------------------------------------------

  [[gnu::noinline, gnu::cold]] static Error arg_error(const Node& n, std::string_view expected,
                                                      const json& got) {
    return error(
        n, n.name + "() expects " + std::string(expected) + ", got " + std::string(type_name(got)));
  }

  // Builtins; whatever they build is charged to the memory budget afterwards (and checked
  // beforehand where one call could build a lot: replace, join, split).
  [[gnu::noinline]] Result<Value> eval_call(const Node& n) {
    std::vector<Value> args;
    args.reserve(n.children.size());
    for (const NodePtr& child : n.children) {
      Result<Value> v = eval(*child);
      if (!v) return v;
      args.push_back(std::move(v).value());
    }
    Result<Value> result = call_builtin(n, args);
    if (result && result->is_owned()) {
      const json& v = result->get();
      std::size_t bytes = v.is_string()       ? v.get_ref<const std::string&>().size()
                          : v.is_structured() ? 32 * v.size()
                                              : 0;
      if (auto e = charge(n, bytes)) return *e;
    }
    return result;
  }

  std::optional<Error> ensure_room(const Node& n, std::size_t bytes) const {
    if (bytes > kMaxProducedBytes - std::min(produced_, kMaxProducedBytes)) {
      return error(n, "evaluation built more than " + std::to_string(kMaxProducedBytes >> 20) +
                          " MiB of values");
    }
    return std::nullopt;
  }

  [[gnu::noinline]] Result<Value> call_builtin(const Node& n, std::vector<Value>& args) {
    auto arg = [&](std::size_t i) -> const json& { return args[i].get(); };
    auto is_string = [&](std::size_t i) { return arg(i).is_string(); };
    auto str = [&](std::size_t i) -> std::string_view {
      return arg(i).get_ref<const std::string&>();
    };
    // Checks that the first `count` arguments (those present) are strings.
    auto need_strings = [&](std::size_t count) -> std::optional<Error> {
      for (std::size_t i = 0; i < count && i < args.size(); ++i) {
        if (!is_string(i)) return arg_error(n, "string arguments", arg(i));
      }
      return std::nullopt;
    };
    const json& x = arg(0);
    Type tx = type_of(x);
    switch (n.builtin->id) {
      case BuiltinId::kLen:
        if (tx == Type::kString) {
          return Value::own(static_cast<std::int64_t>(x.get_ref<const std::string&>().size()));
        }
        if (tx == Type::kArray || tx == Type::kMap) {
          return Value::own(static_cast<std::int64_t>(x.size()));
        }
        return arg_error(n, "a string, an array or a map", x);
      case BuiltinId::kType:
        return Value::own(std::string(type_name(tx)));
      case BuiltinId::kAbs:
        if (tx == Type::kInt) {
          std::int64_t i = to_int(x);
          if (i == std::numeric_limits<std::int64_t>::min()) {
            return error(n, "integer overflow in abs()");
          }
          return Value::own(i < 0 ? -i : i);
        }
        if (tx == Type::kFloat) return Value::own(std::fabs(to_float(x)));
        return arg_error(n, "a number", x);
      case BuiltinId::kCeil:
      case BuiltinId::kFloor:
      case BuiltinId::kRound: {
        if (!is_number(tx)) return arg_error(n, "a number", x);
        double d = to_float(x);
        BuiltinId id = n.builtin->id;
        return Value::own(id == BuiltinId::kCeil    ? std::ceil(d)
                          : id == BuiltinId::kFloor ? std::floor(d)
                                                    : std::round(d));
      }
      case BuiltinId::kInt:
        return to_int_builtin(n, x, tx);
      case BuiltinId::kFloat:
        return to_float_builtin(n, x, tx);
      case BuiltinId::kString:
        return to_string_builtin(n, x, tx);
      case BuiltinId::kTrim: {
        if (auto e = need_strings(args.size())) return *e;
        if (args.size() == 1) {
          return Value::own(std::string(trim_if(str(0), is_go_space)));
        }
        std::u32string cutset;
        std::string_view cs = str(1);
        for (std::size_t p = 0; p < cs.size();) cutset.push_back(decode_utf8(cs, p));
        return Value::own(std::string(
            trim_if(str(0), [&](char32_t c) { return cutset.find(c) != std::u32string::npos; })));
      }
      case BuiltinId::kTrimPrefix:
      case BuiltinId::kTrimSuffix: {
        if (auto e = need_strings(args.size())) return *e;
        std::string_view s = str(0);
        std::string_view affix = args.size() == 2 ? str(1) : std::string_view(" ");
        if (n.builtin->id == BuiltinId::kTrimPrefix) {
          if (s.substr(0, affix.size()) == affix) s.remove_prefix(affix.size());
        } else if (s.size() >= affix.size() && s.substr(s.size() - affix.size()) == affix) {
          s.remove_suffix(affix.size());
        }
        return Value::own(std::string(s));
      }
      case BuiltinId::kUpper:
      case BuiltinId::kLower:
        if (!is_string(0)) return arg_error(n, "a string", x);
        return Value::own(
            map_case(str(0), n.builtin->id == BuiltinId::kUpper ? to_upper_cp : to_lower_cp));
      case BuiltinId::kSplit: {
        if (auto e = need_strings(2)) return *e;
        std::int64_t limit = -1;
        if (args.size() == 3) {
          if (type_of(arg(2)) != Type::kInt) return arg_error(n, "an int count", arg(2));
          limit = to_int(arg(2));
        }
        std::size_t pieces =
            str(1).empty() ? count_code_points(str(0)) : count_occurrences(str(0), str(1)) + 1;
        if (auto e = ensure_room(n, str(0).size() + 32 * pieces)) return *e;
        return Value::own(go_split(str(0), str(1), limit));
      }
      case BuiltinId::kReplace: {
        if (auto e = need_strings(3)) return *e;
        std::int64_t limit = -1;
        if (args.size() == 4) {
          if (type_of(arg(3)) != Type::kInt) return arg_error(n, "an int count", arg(3));
          limit = to_int(arg(3));
        }
        // Occurrences do not overlap, so removing them never takes more than the string holds.
        auto count = static_cast<std::int64_t>(count_occurrences(str(0), str(1)));
        std::uint64_t n_replaced =
            static_cast<std::uint64_t>(limit < 0 || limit > count ? count : limit);
        std::uint64_t size = str(0).size() -
                             std::min<std::uint64_t>(str(0).size(), n_replaced * str(1).size()) +
                             n_replaced * str(2).size();
        if (auto e = ensure_room(n, size)) return *e;
        return Value::own(go_replace(str(0), str(1), str(2), limit));
      }
      case BuiltinId::kJoin: {
        if (tx != Type::kArray) return arg_error(n, "an array of strings", x);
        std::string_view sep;
        if (args.size() == 2) {
          if (!is_string(1)) return arg_error(n, "a string separator", arg(1));
          sep = str(1);
        }
        std::size_t total = 0;
        for (const json& e : x) {
          if (!e.is_string()) {
            return error(n, "join() expects an array of strings, found an element of type " +
                                std::string(type_name(e)));
          }
          total += e.get_ref<const std::string&>().size() + sep.size();
        }
        if (auto e = ensure_room(n, total)) return *e;
        std::string out;
        bool first = true;
        for (const json& e : x) {
          if (!first) out.append(sep);
          first = false;
          out.append(e.get_ref<const std::string&>());
        }
        return Value::own(std::move(out));
      }
      case BuiltinId::kIndexOf:
      case BuiltinId::kLastIndexOf: {
        if (auto e = need_strings(2)) return *e;
        std::size_t at =
            n.builtin->id == BuiltinId::kIndexOf ? str(0).find(str(1)) : str(0).rfind(str(1));
        return Value::own(at == std::string_view::npos ? std::int64_t{-1}
                                                       : static_cast<std::int64_t>(at));
      }
      case BuiltinId::kHasPrefix:
      case BuiltinId::kHasSuffix: {
        if (auto e = need_strings(2)) return *e;
        std::string_view s = str(0);
        std::string_view p = str(1);
        bool result = n.builtin->id == BuiltinId::kHasPrefix
                          ? s.substr(0, p.size()) == p
                          : s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
        return Value::own(result);
      }
      case BuiltinId::kStrContains: {
        if (auto e = need_strings(2)) return *e;
        return Value::own(str(0).find(str(1)) != std::string_view::npos);
      }
      case BuiltinId::kIsIPv4:
      case BuiltinId::kIsIPv6: {
        // Reglet's helpers, with Go's net.ParseIP semantics: an IPv4-mapped IPv6 address is
        // IPv4 (ip.To4() != nil); anything that is not an address is simply false.
        if (tx != Type::kString) return Value::own(false);
        const std::string text(str(0));
        unsigned char buffer[16];
        const bool v4 = inet_pton(AF_INET, text.c_str(), buffer) == 1;
        const bool v6 = !v4 && inet_pton(AF_INET6, text.c_str(), buffer) == 1;
        const bool mapped = v6 && std::all_of(buffer, buffer + 10, [](unsigned char b) {
                              return b == 0;
                            }) && buffer[10] == 0xff && buffer[11] == 0xff;
        if (n.builtin->id == BuiltinId::kIsIPv4) return Value::own(v4 || mapped);
        return Value::own(v6 || v4);
      }
      case BuiltinId::kMin:
      case BuiltinId::kMax:
        return min_max(n, args);
      case BuiltinId::kFirst:
      case BuiltinId::kLast: {
        if (tx == Type::kNil) return Value();
        if (tx != Type::kArray) return arg_error(n, "an array", x);
        if (x.empty()) return Value();
        const json& e = n.builtin->id == BuiltinId::kFirst ? x.front() : x.back();
        return args[0].part(e);
      }
      case BuiltinId::kGet: {
        const json& k = arg(1);
        if (tx == Type::kArray && type_of(k) == Type::kInt) {
          std::int64_t i = to_int(k);
          auto size = static_cast<std::int64_t>(x.size());
          if (i < 0) i += size;
          if (i < 0 || i >= size) return Value();
          return args[0].part(x[static_cast<std::size_t>(i)]);
        }
        if (tx == Type::kMap && k.is_string()) {
          auto it = x.find(k.get_ref<const std::string&>());
          if (it == x.end()) return Value();
          return args[0].part(*it);
        }
        return Value();
      }
      case BuiltinId::kKeys:
      case BuiltinId::kValues: {
        if (tx != Type::kMap) return arg_error(n, "a map", x);
        json out = json::array();
        for (auto it = x.begin(); it != x.end(); ++it) {
          if (n.builtin->id == BuiltinId::kKeys) {
            out.push_back(it.key());
          } else {
            Result<json> copy = copy_of(n, it.value());
            if (!copy) return std::move(copy).error();
            out.push_back(std::move(copy).value());
          }
        }
        return Value::own(std::move(out));
      }
      case BuiltinId::kToJson:
        if (deeper_than(x, kMaxValueDepth)) {
          return error(n, "toJSON(): value is nested deeper than " +
                              std::to_string(kMaxValueDepth) + " levels");
        }
        return Value::own(dump_json(x, 2));
      case BuiltinId::kFromJson: {
        if (!is_string(0)) return arg_error(n, "a string", x);
        json parsed = json::parse(str(0), nullptr, /*allow_exceptions=*/false);
        if (parsed.is_discarded()) return error(n, "fromJSON(): the argument is not valid JSON");
        if (deeper_than(parsed, kMaxValueDepth)) {
          return error(n, "fromJSON(): value is nested deeper than " +
                              std::to_string(kMaxValueDepth) + " levels");
        }
        return Value::own(std::move(parsed));
      }
      default:
        return not_implemented(n);
    }
  }

  Result<Value> to_int_builtin(const Node& n, const json& x, Type tx) {
    if (tx == Type::kInt) return Value::own(to_int(x));
    if (tx == Type::kFloat) {
      double d = to_float(x);
      // 2^63 is exactly representable; everything in [-2^63, 2^63) truncates into int64.
      if (std::isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) {
        return error(n, "int(): " + format_go_float(d) + " is out of the int range");
      }
      return Value::own(static_cast<std::int64_t>(d));
    }
    if (tx == Type::kString) {
      // Go's strconv.Atoi: an optional sign and decimal digits, nothing else.
      std::string_view s = x.get_ref<const std::string&>();
      std::string_view digits = s;
      bool negative = false;
      if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
        negative = digits[0] == '-';
        digits.remove_prefix(1);
      }
      std::uint64_t magnitude = 0;
      bool valid =
          !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
      std::errc ec = std::errc();
      if (valid) {
        ec = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude).ec;
      }
      constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
      bool in_range = ec == std::errc() && magnitude <= kMax + (negative ? 1 : 0);
      if (!valid || !in_range) {
        return error(n, "int(): cannot convert " + shorten_quoted(s) + " to an int" +
                            (valid ? " (out of range)" : ""));
      }
      if (!negative) return Value::own(static_cast<std::int64_t>(magnitude));
      if (magnitude == kMax + 1) return Value::own(std::numeric_limits<std::int64_t>::min());
      return Value::own(-static_cast<std::int64_t>(magnitude));
    }
    return arg_error(n, "a number or a string", x);
  }

  Result<Value> to_float_builtin(const Node& n, const json& x, Type tx) {
    if (is_number(tx)) return Value::own(to_float(x));
    if (tx != Type::kString) return arg_error(n, "a number or a string", x);
    std::string_view s = x.get_ref<const std::string&>();
    std::string_view body = s;
    bool negative = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      negative = body[0] == '-';
      body.remove_prefix(1);
    }
    std::string lower;
    for (char c : body) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    double value = 0;
    if (lower == "inf" || lower == "infinity") {
      value = std::numeric_limits<double>::infinity();
    } else if (lower == "nan") {
      value = std::numeric_limits<double>::quiet_NaN();
    } else {
      bool plain =
          !body.empty() && body.find_first_not_of("0123456789.eE+-") == std::string_view::npos;
      auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value,
                                       std::chars_format::general);
      if (!plain || ec != std::errc() || end != body.data() + body.size()) {
        return error(n, "float(): cannot convert " + shorten_quoted(s) + " to a float");
      }
    }
    return Value::own(negative ? -value : value);
  }

  Result<Value> to_string_builtin(const Node& n, const json& x, Type tx) {
    switch (tx) {
      case Type::kString:
        return Value::own(x.get<std::string>());
      case Type::kInt:
        return Value::own(std::to_string(to_int(x)));
      case Type::kFloat:
        return Value::own(format_go_float(to_float(x)));
      case Type::kBool:
        return Value::own(std::string(x.get<bool>() ? "true" : "false"));
      case Type::kNil:
        return Value::own(std::string("<nil>"));
      default:
        if (deeper_than(x, kMaxValueDepth)) {
          return error(n, "string(): value is nested deeper than " +
                              std::to_string(kMaxValueDepth) + " levels");
        }
        return Value::own(dump_json(x));
    }
  }

  Result<Value> min_max(const Node& n, const std::vector<Value>& args) {
    bool want_max = n.builtin->id == BuiltinId::kMax;
    const json* best = nullptr;
    std::vector<const json*> pending;
    for (auto it = args.rbegin(); it != args.rend(); ++it) pending.push_back(&it->get());
    while (!pending.empty()) {
      const json* v = pending.back();
      pending.pop_back();
      Type t = type_of(*v);
      if (t == Type::kArray) {
        for (auto it = v->rbegin(); it != v->rend(); ++it) pending.push_back(&*it);
        continue;
      }
      if (!is_number(t)) return arg_error(n, "numbers or arrays of numbers", *v);
      if (!best) {
        best = v;
        continue;
      }
      bool better = false;
      if (t == Type::kInt && type_of(*best) == Type::kInt) {
        better = want_max ? to_int(*v) > to_int(*best) : to_int(*v) < to_int(*best);
      } else {
        better = want_max ? to_float(*v) > to_float(*best) : to_float(*v) < to_float(*best);
      }
      if (better) best = v;
    }
    if (!best) return Value();
    return Value::own(*best);
  }

  // Pushes the closure's current element for the duration of one body evaluation.
  class FrameGuard {
   public:
    FrameGuard(std::vector<Frame>& frames, const json& element, std::int64_t index)
        : frames_(frames) {
      frames_.push_back({&element, index});
    }
    ~FrameGuard() { frames_.pop_back(); }
    FrameGuard(const FrameGuard&) = delete;
    FrameGuard& operator=(const FrameGuard&) = delete;

   private:
    std::vector<Frame>& frames_;
  };

  [[gnu::noinline, gnu::cold]] static Error predicate_error(const Node& n, bool has_body,
                                                            const json& produced) {
    return error(n, (has_body ? "the predicate of " : "the elements given to ") + n.name +
                        "() must be bools, got " + std::string(type_name(produced)));
  }
  [[gnu::noinline, gnu::cold]] static Error sum_error(const Node& n, bool has_body,
                                                      const json& produced) {
    return error(n, std::string(has_body ? "the predicate of " : "") + "sum() needs numbers, got " +
                        std::string(type_name(produced)));
  }

  [[gnu::noinline]] Result<Value> eval_predicate(const Node& n) {
    Result<Value> collection = eval(*n.children[0]);
    if (!collection) return collection;
    const json& items = collection->get();
    if (!items.is_array()) return arg_error(n, "an array", items);
    const Node* body = n.children.size() > 1 ? n.children[1].get() : nullptr;
    BuiltinId id = n.builtin->id;
    bool wants_bool = id != BuiltinId::kMap && id != BuiltinId::kSum;

    json out = json::array();
    std::int64_t count = 0;
    std::int64_t int_sum = 0;
    double float_sum = 0;
    bool float_mode = false;
    auto size = static_cast<std::int64_t>(items.size());
    bool reverse = id == BuiltinId::kFindLast || id == BuiltinId::kFindLastIndex;
    for (std::int64_t k = 0; k < size; ++k) {
      std::int64_t i = reverse ? size - 1 - k : k;
      const json& element = items[static_cast<std::size_t>(i)];
      Value produced = Value::ref(element);
      if (body) {
        FrameGuard frame(frames_, element, i);
        Result<Value> r = eval(*body);
        if (!r) return r;
        produced = std::move(r).value();
      }
      const json& p = produced.get();
      if (wants_bool && !p.is_boolean()) return predicate_error(n, body != nullptr, p);
      bool truth = wants_bool && p.get<bool>();
      switch (id) {
        case BuiltinId::kAll:
          if (!truth) return Value::own(false);
          break;
        case BuiltinId::kAny:
          if (truth) return Value::own(true);
          break;
        case BuiltinId::kNone:
          if (truth) return Value::own(false);
          break;
        case BuiltinId::kOne:
          if (truth && ++count > 1) return Value::own(false);
          break;
        case BuiltinId::kCount:
          if (truth) ++count;
          break;
        case BuiltinId::kFilter:
          if (truth) {
            Result<json> copy = copy_of(n, element);
            if (!copy) return std::move(copy).error();
            out.push_back(std::move(copy).value());
          }
          break;
        case BuiltinId::kMap: {
          Result<json> copy = materialize(*body, std::move(produced));
          if (!copy) return std::move(copy).error();
          out.push_back(std::move(copy).value());
          break;
        }
        case BuiltinId::kFind:
        case BuiltinId::kFindLast:
          if (truth) return collection->part(element);
          break;
        case BuiltinId::kFindIndex:
        case BuiltinId::kFindLastIndex:
          if (truth) return Value::own(i);
          break;
        case BuiltinId::kSum: {
          Type t = type_of(p);
          if (!is_number(t)) return sum_error(n, body != nullptr, p);
          if (t == Type::kFloat && !float_mode) {
            float_mode = true;
            float_sum = static_cast<double>(int_sum);
          }
          if (float_mode) {
            float_sum += to_float(p);
          } else if (__builtin_add_overflow(int_sum, to_int(p), &int_sum)) {
            return error(n, "integer overflow in sum()");
          }
          break;
        }
        default:
          return not_implemented(n);
      }
    }
    switch (id) {
      case BuiltinId::kAll:
      case BuiltinId::kNone:
        return Value::own(true);
      case BuiltinId::kAny:
        return Value::own(false);
      case BuiltinId::kOne:
        return Value::own(count == 1);
      case BuiltinId::kCount:
        return Value::own(count);
      case BuiltinId::kFilter:
      case BuiltinId::kMap:
        return Value::own(std::move(out));
      case BuiltinId::kFind:
      case BuiltinId::kFindLast:
        return Value();
      case BuiltinId::kFindIndex:
      case BuiltinId::kFindLastIndex:
        return Value::own(std::int64_t{-1});
      case BuiltinId::kSum:
        return float_mode ? Value::own(float_sum) : Value::own(int_sum);
      default:
        return not_implemented(n);
    }
  }

  const json& vars_;
  const json* fallback_;
  std::vector<Frame> frames_;
  std::uint64_t steps_ = 0;
  std::size_t produced_ = 0;  // bytes charged to the memory budget
};

}  // namespace

Result<json> evaluate_program(const Program& program, const json& vars, const json* fallback) {
  try {
    Evaluator evaluator(vars, fallback);
    return evaluator.run(*program.root);
  } catch (const std::exception& e) {
    // Only allocation failures can get here; the evaluator avoids throwing APIs otherwise.
    return make_error(ErrorCode::internal,
                      std::string("expression evaluation failed: ") + e.what());
  }
}

}  // namespace reglet::check::expr_detail
