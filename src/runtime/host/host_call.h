// The calling convention of `reglet_host` functions (SPEC §2): one i64 in (packed pointer and
// length of a JSON request in guest memory), one i64 out (packed pointer and length of a JSON
// response the host wrote into a buffer from the guest's `allocate`). Ordinary failures are
// responses with {"error": {"code", "message"}}; only ABI misuse that leaves no way to answer
// (a response buffer that cannot be obtained) aborts the guest call.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "engine/engine.h"
#include "reglet/error.h"
#include "runtime/host/context.h"

namespace reglet::runtime {

// Writes `bytes` into a fresh guest buffer from `allocate` and returns it packed. A zero or
// out-of-range pointer from `allocate` is an abi_error trap.
engine::Outcome<uint64_t> write_to_guest(engine::Caller& caller, std::string_view bytes);

// Reads and parses the JSON request at `packed` (bounded by `max_bytes`); invalid_argument when
// it is out of range, not JSON, or not an object.
Result<nlohmann::json> read_request(engine::Caller& caller, uint64_t packed, size_t max_bytes);

nlohmann::json error_response(const Error& error);

// A host function's body: request in, response out (an Error becomes an error response).
using JsonHandler = std::function<Result<nlohmann::json>(InstanceContext&, engine::Caller&,
                                                         const nlohmann::json& request)>;

// Wraps a handler into an engine host function with the (i64) -> i64 signature. Exceptions from
// the handler become internal errors; they never reach the engine.
engine::HostFunc make_json_host_function(std::string name, JsonHandler handler);

}  // namespace reglet::runtime
