// Reglet guest SDK for C++ plugins (header-only; clang --target=wasm32-wasi, -fno-exceptions).
//
// A plugin is three plain functions and one macro:
//
//   #include <reglet/sdk.h>
//   namespace sdk = reglet::sdk;
//
//   sdk::Info describe() {
//     return {"hello", "1.0.0", "Says hello", {{"fs", "read:/etc/hostname"}}};
//   }
//   sdk::Json schema() {
//     return sdk::Schema().string("name", "Who to greet", sdk::Required).json();
//   }
//   sdk::Outcome observe(const sdk::Json& config) {
//     return sdk::Outcome::success({{"greeting", "hello " + config.value("name", "")}});
//   }
//   REGLET_PLUGIN(describe, schema, observe)
//
// REGLET_PLUGIN defines the exports of the ABI (allocate, deallocate, describe, schema, observe;
// SPEC §2), so the plugin never touches pointers. Host functions (module reglet_host) are in
// reglet::sdk::host and return sdk::Expected<Json>: the response, or the host's error (for
// instance capability_denied, naming the capability that was missing).
#pragma once

#include <reglet/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace reglet::sdk {

// ---------------------------------------------------------------------------------------------
// Plugin description and results

struct Capability {
  std::string kind;     // fs, network, env, exec
  std::string pattern;  // e.g. "read:/etc/**"
};

struct Info {
  std::string name;
  std::string version;
  std::string description;
  std::vector<Capability> capabilities;

  Json json() const {
    Json caps = Json::array();
    for (const auto& c : capabilities) caps.push_back({{"kind", c.kind}, {"pattern", c.pattern}});
    return {
        {"name", name}, {"version", version}, {"description", description}, {"capabilities", caps}};
  }
};

// The result of observe, in the Go SDK's shape: {"status", "data", "error"}. What a check finds is
// evidence (success or failure with data); an error is for bad config, denied capabilities and
// faults.
class Outcome {
 public:
  static Outcome success(Json data = Json::object()) { return Outcome(true, std::move(data)); }
  static Outcome failure(Json data = Json::object()) { return Outcome(false, std::move(data)); }
  static Outcome evidence(bool status, Json data) { return Outcome(status, std::move(data)); }
  // Evidence whose data is already JSON text (one object, from a JsonWriter): nothing is parsed
  // or rebuilt on the way out.
  static Outcome evidence(bool status, JsonWriter&& data) {
    Outcome outcome(status, Json());
    outcome.data_json_ = data.take();
    return outcome;
  }
  // type: config, network, timeout, capability, validation, internal, ...
  static Outcome error(std::string type, std::string message, std::string code = "") {
    Outcome outcome(false, Json::object());
    if (code.empty()) code = type == "config" ? "invalid_config" : "plugin_error";
    outcome.error_ = {
        {"message", std::move(message)}, {"type", std::move(type)}, {"code", std::move(code)}};
    return outcome;
  }

  Json json() const {
    Json out = {{"status", status_},
                {"data", data_json_.empty() ? data_ : parse_json(data_json_.view())}};
    if (!error_.is_null()) out["error"] = error_;
    return out;
  }

  // The outcome as the ABI's JSON text, appended to out.
  void write(JsonBuffer& out) const {
    out.put(status_ ? std::string_view("{\"status\":true,\"data\":")
                    : std::string_view("{\"status\":false,\"data\":"));
    if (!data_json_.empty()) {
      out.put(data_json_.view());
    } else {
      write_json(out, data_);
    }
    if (!error_.is_null()) {
      out.put(",\"error\":", 9);
      write_json(out, error_);
    }
    out.put('}');
  }

 private:
  Outcome(bool status, Json data) : status_(status), data_(std::move(data)) {}
  bool status_;
  Json data_;
  JsonBuffer data_json_;
  Json error_;
};

// ---------------------------------------------------------------------------------------------
// Config schemas

inline constexpr bool Required = true;

// Builds a JSON Schema object for a config.
class Schema {
 public:
  Schema& string(const std::string& name, const std::string& description, bool required = false,
                 Json default_value = nullptr) {
    return field(name, "string", description, required, std::move(default_value));
  }
  Schema& integer(const std::string& name, const std::string& description, bool required = false,
                  Json default_value = nullptr) {
    return field(name, "integer", description, required, std::move(default_value));
  }
  Schema& number(const std::string& name, const std::string& description, bool required = false,
                 Json default_value = nullptr) {
    return field(name, "number", description, required, std::move(default_value));
  }
  Schema& boolean(const std::string& name, const std::string& description, bool required = false,
                  Json default_value = nullptr) {
    return field(name, "boolean", description, required, std::move(default_value));
  }
  Schema& array(const std::string& name, const std::string& item_type,
                const std::string& description, bool required = false) {
    field(name, "array", description, required, nullptr);
    properties_[name]["items"] = {{"type", item_type}};
    return *this;
  }
  // An object field; with a value_type, every member must have that type (a map of strings,
  // say); with an empty value_type, members are free.
  Schema& object(const std::string& name, const std::string& value_type,
                 const std::string& description, bool required = false) {
    field(name, "object", description, required, nullptr);
    if (!value_type.empty()) properties_[name]["additionalProperties"] = {{"type", value_type}};
    return *this;
  }
  // Restricts the last field added to these values.
  Schema& one_of(const std::string& name, std::vector<Json> values) {
    properties_[name]["enum"] = std::move(values);
    return *this;
  }
  Schema& minimum(const std::string& name, Json value) {
    properties_[name]["minimum"] = std::move(value);
    return *this;
  }
  Schema& maximum(const std::string& name, Json value) {
    properties_[name]["maximum"] = std::move(value);
    return *this;
  }
  // Rejects config fields that are not declared.
  Schema& closed() {
    closed_ = true;
    return *this;
  }

  Json json() const {
    Json out = {{"type", "object"}, {"properties", properties_}};
    if (!required_.empty()) out["required"] = required_;
    if (closed_) out["additionalProperties"] = false;
    return out;
  }

 private:
  Schema& field(const std::string& name, const char* type, const std::string& description,
                bool required, Json default_value) {
    Json property = {{"type", type}, {"description", description}};
    if (!default_value.is_null()) property["default"] = std::move(default_value);
    properties_[name] = std::move(property);
    if (required) required_.push_back(name);
    return *this;
  }
  Json properties_ = Json::object();
  Json required_ = Json::array();
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Host functions

struct HostError {
  std::string code;  // capability_denied, invalid_argument, timeout, ...
  std::string message;
};

// A host response or the host's error. No exceptions in guests: check ok() first.
template <class T>
class Expected {
 public:
  Expected(T value) : value_(std::move(value)), ok_(true) {}           // NOLINT implicit
  Expected(HostError error) : error_(std::move(error)), ok_(false) {}  // NOLINT implicit
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const T& value() const { return value_; }
  T& value() { return value_; }
  const T* operator->() const { return &value_; }
  const T& operator*() const { return value_; }
  const HostError& error() const { return error_; }
  // The error as a plugin error outcome, with the host's code kept.
  Outcome to_outcome(const char* type = "internal") const {
    std::string t = type;
    if (error_.code == "capability_denied") t = "capability";
    if (error_.code == "timeout") t = "timeout";
    if (error_.code == "invalid_argument") t = "config";
    return Outcome::error(t, error_.message, error_.code);
  }

 private:
  T value_{};
  HostError error_;
  bool ok_;
};

namespace detail {

inline uint64_t pack(const void* ptr, size_t len) {
  return (static_cast<uint64_t>(reinterpret_cast<uintptr_t>(ptr)) << 32) |
         static_cast<uint32_t>(len);
}

// Host responses arrive in buffers from our `allocate` (malloc): take ownership and free.
inline Expected<Json> take_response(uint64_t packed) {
  const auto ptr = static_cast<uintptr_t>(packed >> 32);
  const auto len = static_cast<size_t>(packed & 0xffffffffu);
  if (ptr == 0) return HostError{"abi_error", "host returned no response"};
  char* text = reinterpret_cast<char*>(ptr);
  Json response = parse_json(std::string_view(text, len));
  free(text);
  if (response.is_discarded() || !response.is_object()) {
    return HostError{"abi_error", "host response is not a JSON object"};
  }
  auto error = response.find("error");
  if (error != response.end() && error->is_object()) {
    return HostError{error->value("code", std::string("internal")),
                     error->value("message", std::string())};
  }
  return response;
}

#define REGLET_HOST_IMPORT(fn)                 \
  __attribute__((import_module("reglet_host"), \
                 import_name(#fn))) extern "C" uint64_t reglet_host_##fn(uint64_t request)

REGLET_HOST_IMPORT(fs_read);
REGLET_HOST_IMPORT(fs_write);
REGLET_HOST_IMPORT(fs_stat);
REGLET_HOST_IMPORT(env_get);
REGLET_HOST_IMPORT(exec_run);
REGLET_HOST_IMPORT(net_connect);
REGLET_HOST_IMPORT(net_send);
REGLET_HOST_IMPORT(net_recv);
REGLET_HOST_IMPORT(net_close);
REGLET_HOST_IMPORT(tcp_connect);
REGLET_HOST_IMPORT(dns_lookup);
REGLET_HOST_IMPORT(http_request);
REGLET_HOST_IMPORT(log_message);

#undef REGLET_HOST_IMPORT

template <uint64_t (*Fn)(uint64_t)>
Expected<Json> call(const Json& request) {
  JsonBuffer text;
  write_json(text, request);
  return take_response(Fn(pack(text.view().data(), text.size())));
}

}  // namespace detail

// A host response kept as its JSON text and indexed (JsonFields): no tree is built, fields are
// decoded when asked for. From the sdk::host::text functions.
class HostResponse {
 public:
  const JsonFields& fields() const { return fields_; }
  const JsonFields* operator->() const { return &fields_; }
  std::string_view text() const { return {buffer_.get(), size_}; }

  // Takes the buffer the host filled (our allocate); an error when it is not a JSON object or is
  // the host's {"error": ...}.
  static Expected<HostResponse> take(uint64_t packed) {
    const auto ptr = static_cast<uintptr_t>(packed >> 32);
    HostResponse response;
    response.buffer_.reset(reinterpret_cast<char*>(ptr));
    response.size_ = static_cast<size_t>(packed & 0xffffffffu);
    if (ptr == 0) return HostError{"abi_error", "host returned no response"};
    if (!response.fields_.parse(response.text())) {
      return HostError{"abi_error", "host response is not a JSON object"};
    }
    const JsonValue error = response.fields_.find("error");
    if (error.is_object()) {
      JsonFields details;
      details.parse(error.raw());
      return HostError{details.string("code", "internal"), details.string("message")};
    }
    return response;
  }

 private:
  struct Free {
    void operator()(char* p) const { free(p); }
  };
  std::unique_ptr<char, Free> buffer_;
  size_t size_ = 0;
  JsonFields fields_;
};

namespace host {

// Each takes the request object of SPEC §2 and returns the response object.
inline Expected<Json> fs_read(const Json& request) {
  return detail::call<detail::reglet_host_fs_read>(request);
}
inline Expected<Json> fs_write(const Json& request) {
  return detail::call<detail::reglet_host_fs_write>(request);
}
inline Expected<Json> fs_stat(const Json& request) {
  return detail::call<detail::reglet_host_fs_stat>(request);
}
inline Expected<Json> env_get(const Json& request) {
  return detail::call<detail::reglet_host_env_get>(request);
}
inline Expected<Json> exec_run(const Json& request) {
  return detail::call<detail::reglet_host_exec_run>(request);
}
inline Expected<Json> net_connect(const Json& request) {
  return detail::call<detail::reglet_host_net_connect>(request);
}
inline Expected<Json> net_send(const Json& request) {
  return detail::call<detail::reglet_host_net_send>(request);
}
inline Expected<Json> net_recv(const Json& request) {
  return detail::call<detail::reglet_host_net_recv>(request);
}
inline Expected<Json> net_close(const Json& request) {
  return detail::call<detail::reglet_host_net_close>(request);
}
inline Expected<Json> tcp_connect(const Json& request) {
  return detail::call<detail::reglet_host_tcp_connect>(request);
}
inline Expected<Json> dns_lookup(const Json& request) {
  return detail::call<detail::reglet_host_dns_lookup>(request);
}
inline Expected<Json> http_request(const Json& request) {
  return detail::call<detail::reglet_host_http_request>(request);
}

}  // namespace host

// The same host functions with the request as JSON text (a JsonWriter's) and the response kept as
// text (HostResponse): for hot paths, where building and printing trees is most of the cost.
namespace host::text {

namespace detail_text {
template <uint64_t (*Fn)(uint64_t)>
Expected<HostResponse> call(std::string_view request) {
  return HostResponse::take(Fn(::reglet::sdk::detail::pack(request.data(), request.size())));
}
}  // namespace detail_text

inline Expected<HostResponse> fs_read(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_fs_read>(request);
}
inline Expected<HostResponse> fs_write(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_fs_write>(request);
}
inline Expected<HostResponse> fs_stat(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_fs_stat>(request);
}
inline Expected<HostResponse> env_get(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_env_get>(request);
}
inline Expected<HostResponse> exec_run(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_exec_run>(request);
}
inline Expected<HostResponse> net_connect(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_net_connect>(request);
}
inline Expected<HostResponse> net_send(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_net_send>(request);
}
inline Expected<HostResponse> net_recv(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_net_recv>(request);
}
inline Expected<HostResponse> net_close(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_net_close>(request);
}
inline Expected<HostResponse> tcp_connect(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_tcp_connect>(request);
}
inline Expected<HostResponse> dns_lookup(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_dns_lookup>(request);
}
inline Expected<HostResponse> http_request(std::string_view request) {
  return detail_text::call<::reglet::sdk::detail::reglet_host_http_request>(request);
}

}  // namespace host::text

// Structured logging through the host (never part of the report).
namespace log {
inline void write(const char* level, const std::string& message, Json attrs = Json::object()) {
  detail::call<detail::reglet_host_log_message>(
      {{"level", level}, {"message", message}, {"attrs", std::move(attrs)}});
}
inline void debug(const std::string& m, Json a = Json::object()) {
  write("debug", m, std::move(a));
}
inline void info(const std::string& m, Json a = Json::object()) {
  write("info", m, std::move(a));
}
inline void warn(const std::string& m, Json a = Json::object()) {
  write("warn", m, std::move(a));
}
inline void error(const std::string& m, Json a = Json::object()) {
  write("error", m, std::move(a));
}
}  // namespace log

// ---------------------------------------------------------------------------------------------
// Helpers plugins commonly need

inline std::string base64_encode(std::string_view in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Decodes standard base64 (padding optional); returns false on invalid input. Table-driven and
// writing into a buffer sized up front: guests decode whole file chunks and response bodies with
// it, and under the interpreter every operation per byte counts.
inline bool base64_decode(std::string_view in, std::string& out) {
  // 0..63 for the alphabet, 64 for '=', 255 for anything else.
  static const unsigned char* const kTable = [] {
    static unsigned char table[256];
    memset(table, 255, sizeof table);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (unsigned char i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
    table[static_cast<unsigned char>('=')] = 64;
    return table;
  }();
  out.resize(in.size() / 4 * 3 + 3);
  char* dst = &out[0];
  const unsigned char* src = reinterpret_cast<const unsigned char*>(in.data());
  const unsigned char* end = src + in.size();
  // Whole groups of four first, the common case, without per-character bookkeeping.
  while (end - src >= 4) {
    const unsigned a = kTable[src[0]], b = kTable[src[1]], c = kTable[src[2]], d = kTable[src[3]];
    if ((a | b | c | d) >= 64) break;  // padding, or invalid: finished below
    const uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    *dst++ = static_cast<char>(v >> 16);
    *dst++ = static_cast<char>((v >> 8) & 0xff);
    *dst++ = static_cast<char>(v & 0xff);
    src += 4;
  }
  uint32_t buffer = 0;
  int bits = 0;
  for (; src < end; ++src) {
    const unsigned v = kTable[*src];
    if (v == 64) break;  // '=': the end
    if (v > 64) {
      out.clear();
      return false;
    }
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *dst++ = static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  out.resize(static_cast<size_t>(dst - &out[0]));
  return true;
}

namespace detail {

// Hands the buffer to the host as it is (the host frees it with deallocate, i.e. free).
inline uint64_t emit(JsonBuffer&& text) {
  size_t size = 0;
  char* data = text.release(size);
  return data != nullptr ? pack(data, size) : 0;
}

inline uint64_t emit(const Json& json) {
  JsonBuffer text;
  write_json(text, json);
  return emit(std::move(text));
}

inline uint64_t emit(const Outcome& outcome) {
  JsonBuffer text;
  outcome.write(text);
  return emit(std::move(text));
}

// observe(config) with the config as the plugin's observe takes it: a Json tree, or JsonFields
// (an index over the text, for plugins that want no tree).
template <class Observe>
uint64_t run_observe(Observe&& observe, const void* ptr, size_t len) {
  const std::string_view text(static_cast<const char*>(ptr), len);
  if constexpr (std::is_invocable_v<Observe, const JsonFields&>) {
    JsonFields config;
    if (!config.parse(text)) {
      return emit(Outcome::error("config", "config is not a JSON object"));
    }
    return emit(observe(config));
  } else {
    const Json config = parse_json(text);
    if (config.is_discarded() || !config.is_object()) {
      return emit(Outcome::error("config", "config is not a JSON object"));
    }
    return emit(observe(config));
  }
}

}  // namespace detail

}  // namespace reglet::sdk

// Defines the plugin's exports from three functions:
//   Info describe();  Json schema();
//   Outcome observe(const Json& config);   or   Outcome observe(const JsonFields& config);
#define REGLET_PLUGIN(describe_fn, schema_fn, observe_fn)                                     \
  extern "C" __attribute__((export_name("allocate"))) void* reglet_allocate(uint32_t size) {  \
    return malloc(size ? size : 1);                                                           \
  }                                                                                           \
  extern "C" __attribute__((export_name("deallocate"))) void reglet_deallocate(void* ptr,     \
                                                                               uint32_t) {    \
    free(ptr);                                                                                \
  }                                                                                           \
  extern "C" __attribute__((export_name("describe"))) uint64_t reglet_describe() {            \
    return ::reglet::sdk::detail::emit(describe_fn().json());                                 \
  }                                                                                           \
  extern "C" __attribute__((export_name("schema"))) uint64_t reglet_schema() {                \
    return ::reglet::sdk::detail::emit(schema_fn());                                          \
  }                                                                                           \
  extern "C" __attribute__((export_name("observe"))) uint64_t reglet_observe(const void* ptr, \
                                                                             uint32_t len) {  \
    return ::reglet::sdk::detail::run_observe(observe_fn, ptr, len);                          \
  }
