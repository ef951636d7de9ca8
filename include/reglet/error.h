// Errors as values: the error model of SPEC §4 and a small expected-like Result type.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace reglet {

// Stable, documented error codes. Their string forms (to_string) are part of the JSON output.
enum class ErrorCode {
  invalid_module,     // module failed to decode or validate
  abi_error,          // plugin broke the ABI: missing export, bad pointer, bad JSON, too large
  invalid_config,     // observation config does not satisfy the plugin's schema
  timeout,            // the call's deadline passed
  cancelled,          // the call was cancelled from another thread
  memory_limit,       // the plugin hit the memory cap
  stack_exhausted,    // recursion too deep
  trap,               // any other WebAssembly trap
  capability_denied,  // a grant did not allow the request
  invalid_argument,   // a host-function request or a command-line argument is malformed
  not_found,          // plugin, file or export does not exist
  io_error,           // an operating-system level failure
  plugin_error,       // the plugin reported an error in its own result
  internal,           // a bug in the host
};

std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view text);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;

  std::string to_string() const;  // "code: message"
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

// A value or an Error. Deliberately small: ok(), value(), error(), operator* and ->.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT implicit

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(storage_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(storage_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(storage_));
  }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT implicit

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& {
    assert(!ok());
    return *error_;
  }
  Error&& error() && {
    assert(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace reglet
