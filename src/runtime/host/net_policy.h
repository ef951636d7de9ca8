// What every network host function shares (net.cc, dns.cc, http.cc): request validation helpers,
// the deadline of one blocking operation, base64, and the resolver + capability checker that
// enforces SPEC §3's network rules:
//   - the host is resolved first (an IP literal needs no lookup; a name goes through c-ares,
//     honouring /etc/hosts), under the call's deadline;
//   - every resolved address is checked with CapabilityManager::check_network and audited;
//   - only the addresses that passed are returned, and callers connect to exactly those (no
//     second lookup, so DNS rebinding cannot slip past the check).
// A name is not even looked up when no grant could allow it on that port, so that a plugin
// without a matching grant cannot leak data through the host's DNS queries.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "reglet/capability.h"
#include "reglet/error.h"
#include "runtime/host/context.h"

namespace reglet::runtime::host::net {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Limits

inline constexpr size_t kMaxHostLength = 253;          // a DNS name (RFC 1035)
inline constexpr int64_t kMaxTimeoutMs = 10 * 60'000;  // any request's own timeout_ms
inline constexpr size_t kMaxCaPemBytes = 1u << 20;     // ca_cert_pem
inline constexpr size_t kMaxServerNameLength = 253;

// ---------------------------------------------------------------------------------------------
// Deadlines

// Why a blocking operation stopped before it was done.
enum class Stop : uint8_t {
  none,
  op_timeout,    // the request's own timeout_ms passed (evidence for tcp_connect/dns_lookup)
  call_timeout,  // the call's deadline passed: always a `timeout` error
  cancelled,     // the call was cancelled from another thread
};

// The deadline of one blocking operation: the request's own timeout, cut by the deadline of the
// whole call, and the call's cancellation flag.
class Deadline {
 public:
  Deadline(const engine::ExecutionControl& control, std::chrono::milliseconds timeout);
  Deadline(const engine::ExecutionControl& control, Clock::time_point op_deadline);

  // none while the operation may go on.
  Stop check() const;
  // Milliseconds to wait in one poll(): what is left, but at most `slice` so that cancellation
  // (a flag, not a file descriptor) is noticed promptly. 0 when nothing is left.
  int poll_ms(std::chrono::milliseconds slice = std::chrono::milliseconds(50)) const;
  std::chrono::milliseconds remaining() const;
  Clock::time_point at() const;  // the earlier of both deadlines
  Clock::time_point op_deadline() const { return op_deadline_; }
  const engine::ExecutionControl& control() const { return *control_; }

 private:
  const engine::ExecutionControl* control_;
  Clock::time_point op_deadline_;
};

// The error for a stop that must end the call (call_timeout, cancelled); op_timeout too, for the
// functions where the request's own timeout is an error rather than evidence.
Error stop_error(Stop stop, std::string_view function, std::string_view what);

int64_t elapsed_ms(Clock::time_point since);

// Request text inside a message: quoted, bounded, control bytes escaped (a hostile string must
// not garble logs).
std::string quote(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Request validation. Every helper names the function and field in its invalid_argument error.

Result<std::string> get_string(const nlohmann::json& request, std::string_view function,
                               std::string_view field, size_t max_length, bool required,
                               std::string default_value = {});
Result<bool> get_bool(const nlohmann::json& request, std::string_view function,
                      std::string_view field, bool default_value);
// An integer in [min, max]; a JSON number with a fraction is rejected.
Result<int64_t> get_int(const nlohmann::json& request, std::string_view function,
                        std::string_view field, int64_t min, int64_t max, int64_t default_value);
Result<uint16_t> get_port(const nlohmann::json& request, std::string_view function,
                          std::string_view field = "port");
// timeout_ms, else context.timeout_ms, else `default_ms`; 1..kMaxTimeoutMs.
Result<std::chrono::milliseconds> get_timeout(const nlohmann::json& request,
                                              std::string_view function, int64_t default_ms);

// A host as a request may give it: an IP literal ("10.0.0.1", "::1", "[::1]") or a DNS name
// (letters, digits, '-', '_', dots; labels of 1..63; at most 253; a final root dot allowed).
// Anything else is invalid_argument: spaces, NUL, '%' zone ids, URL syntax, and names that look
// like a non-standard IPv4 address ("127.1", "0x7f.0.0.1", "2130706433"), which resolvers
// disagree about.
struct HostName {
  std::string text;  // as given, brackets removed from an IPv6 literal
  std::optional<IpAddress> literal;
};
Result<HostName> parse_host(std::string_view host, std::string_view function,
                            std::string_view field = "host");

// "host:port", "host" (port `default_port`), "[v6]:port", "[v6]" or a bare IPv6 literal.
Result<std::pair<HostName, uint16_t>> parse_host_port(std::string_view text, uint16_t default_port,
                                                      std::string_view function,
                                                      std::string_view field);

// ---------------------------------------------------------------------------------------------
// Base64 (RFC 4648, standard alphabet, padded). Decoding is strict: whitespace, a wrong alphabet
// or wrong padding is invalid_argument.

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Addresses

// "1.2.3.4:80", "[::1]:80".
std::string format_endpoint(const IpAddress& address, uint16_t port);
// A sockaddr for connect(); returns its length.
socklen_t to_sockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& out);
// The address and port of a sockaddr (AF_INET/AF_INET6), IPv4-mapped IPv6 as IPv4.
std::optional<std::pair<IpAddress, uint16_t>> from_sockaddr(const sockaddr* address,
                                                            socklen_t length);
std::string local_endpoint(int fd);
std::string remote_endpoint(int fd);

// ---------------------------------------------------------------------------------------------
// Resolution and capability checks

struct Destination {
  HostName host;
  uint16_t port = 0;
  // The addresses that passed the check, in resolver order. Connect only to these.
  std::vector<IpAddress> addresses;
  // Set (and `addresses` empty) when the name could not be resolved: no such host, no address,
  // or the request's own timeout passed while resolving. Evidence for tcp_connect; an io_error
  // for the others.
  std::string lookup_error;
  bool lookup_timed_out = false;
};

// Resolves `host` (within `deadline`) and checks every address against the plugin's grants,
// auditing every decision under `function` with `audit_request`. Errors: capability_denied (no
// address allowed; the message names network:outbound:<address>:<port>), or timeout/cancelled
// when the call's deadline passed or the call was cancelled.
Result<Destination> resolve_and_check(InstanceContext& context, std::string_view function,
                                      const nlohmann::json& audit_request, const HostName& host,
                                      uint16_t port, const Deadline& deadline);

// Checks one already known address (a nameserver from /etc/resolv.conf) and audits it.
Decision check_address(InstanceContext& context, std::string_view function,
                       const nlohmann::json& audit_request, std::string_view host,
                       const IpAddress& address, uint16_t port);

// Name resolution only (no checks), for the functions above and for tests: A and AAAA through
// c-ares' getaddrinfo (hosts file first, then DNS). An IP literal is returned as is.
struct Lookup {
  std::vector<IpAddress> addresses;
  std::string error;  // empty on success
  Stop stop = Stop::none;
};
Lookup lookup_host(const HostName& host, const Deadline& deadline);

// ---------------------------------------------------------------------------------------------
// SIGPIPE: writing to a socket whose peer is gone raises SIGPIPE, which kills the process by
// default. Our own send() calls use MSG_NOSIGNAL, but OpenSSL's socket BIO and libcurl's TLS
// paths write with write(). While a guard lives, SIGPIPE is blocked on this thread, and a SIGPIPE
// raised meanwhile is consumed before it is unblocked. Thread-local, so no process-wide signal
// disposition is changed behind the embedding application's back.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  bool was_pending_ = false;
  bool was_blocked_ = false;
  bool active_ = false;
};

}  // namespace reglet::runtime::host::net
