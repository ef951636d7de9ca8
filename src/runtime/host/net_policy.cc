#include "runtime/host/net_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include "runtime/capability/grammar.h"
#include "runtime/host/dns_channel.h"

namespace reglet::runtime::host::net {
namespace {

std::string field_name(std::string_view function, std::string_view field) {
  return std::string(function) + ": " + std::string(field);
}

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

std::string shown(std::string_view text) {
  return quote(text);
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A label some resolvers read as a number: decimal, or hex/octal ("0x7f", "017").
bool numeric_label(std::string_view label) {
  if (all_digits(label)) return true;
  if (label.size() > 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
    return std::all_of(label.begin() + 2, label.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  }
  return false;
}

// Could any of the plugin's network grants allow (host, port) once the name is resolved? False
// means the answer is no whatever the name resolves to, so no lookup is needed (and none is
// made, so that the query itself cannot carry data out).
bool could_allow(const GrantSet& grants, std::string_view host, uint16_t port) {
  const std::string normalized = capability_detail::normalize_host(host);
  for (const Capability& capability : grants.capabilities()) {
    if (capability.kind != "network") continue;
    auto spec = capability_detail::parse_grant_spec(capability);
    if (!spec.ok()) continue;
    const auto* network = std::get_if<capability_detail::NetworkGrantSpec>(&*spec);
    if (network == nullptr || !network->ports.contains(port)) continue;
    using Kind = capability_detail::HostSpec::Kind;
    switch (network->host.kind) {
      case Kind::any_public:
      case Kind::address:  // an IP grant allows any name that resolves to that address
      case Kind::network:
        return true;
      case Kind::name_glob:
        if (network->host.name.matches(normalized)) return true;
        break;
    }
  }
  return false;
}

void audit_decision(InstanceContext& context, std::string_view function,
                    const nlohmann::json& audit_request, const Decision& decision) {
  context.audit(function, audit_request, decision);
}

}  // namespace

// --- Deadline ---

Deadline::Deadline(const engine::ExecutionControl& control, std::chrono::milliseconds timeout)
    : control_(&control), op_deadline_(Clock::now() + timeout) {}

Deadline::Deadline(const engine::ExecutionControl& control, Clock::time_point op_deadline)
    : control_(&control), op_deadline_(op_deadline) {}

Clock::time_point Deadline::at() const {
  return std::min(op_deadline_, control_->deadline());
}

Stop Deadline::check() const {
  if (auto stop = control_->should_stop()) {
    return *stop == engine::TrapKind::cancelled ? Stop::cancelled : Stop::call_timeout;
  }
  if (Clock::now() >= op_deadline_) return Stop::op_timeout;
  return Stop::none;
}

std::chrono::milliseconds Deadline::remaining() const {
  const auto now = Clock::now();
  const auto end = at();
  if (end <= now) return std::chrono::milliseconds(0);
  // Round up, so that a deadline 0.4 ms away is not reported as already reached.
  return std::chrono::ceil<std::chrono::milliseconds>(end - now);
}

int Deadline::poll_ms(std::chrono::milliseconds slice) const {
  return static_cast<int>(std::min(remaining(), slice).count());
}

Error stop_error(Stop stop, std::string_view function, std::string_view what) {
  switch (stop) {
    case Stop::cancelled:
      return make_error(ErrorCode::cancelled,
                        std::string(function) + ": cancelled while " + std::string(what));
    case Stop::call_timeout:
      return make_error(
          ErrorCode::timeout,
          std::string(function) + ": the call's deadline passed while " + std::string(what));
    case Stop::op_timeout:
    case Stop::none:
      break;
  }
  return make_error(ErrorCode::timeout,
                    std::string(function) + ": timed out while " + std::string(what));
}

std::string quote(std::string_view text) {
  return capability_detail::quote_for_message(text);
}

int64_t elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// --- Request fields ---

Result<std::string> get_string(const nlohmann::json& request, std::string_view function,
                               std::string_view field, size_t max_length, bool required,
                               std::string default_value) {
  auto found = request.find(field);
  if (found == request.end() || found->is_null()) {
    if (required) return invalid(field_name(function, field) + " is required");
    return default_value;
  }
  if (!found->is_string()) return invalid(field_name(function, field) + " must be a string");
  const auto& text = found->get_ref<const std::string&>();
  if (text.size() > max_length) {
    return invalid(field_name(function, field) + " is longer than " + std::to_string(max_length) +
                   " bytes");
  }
  return text;
}

Result<bool> get_bool(const nlohmann::json& request, std::string_view function,
                      std::string_view field, bool default_value) {
  auto found = request.find(field);
  if (found == request.end() || found->is_null()) return default_value;
  if (!found->is_boolean()) return invalid(field_name(function, field) + " must be a boolean");
  return found->get<bool>();
}

Result<int64_t> get_int(const nlohmann::json& request, std::string_view function,
                        std::string_view field, int64_t min, int64_t max, int64_t default_value) {
  auto found = request.find(field);
  if (found == request.end() || found->is_null()) return default_value;
  const std::string range =
      " must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  int64_t value = 0;
  if (found->is_number_unsigned()) {
    const uint64_t u = found->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) return invalid(field_name(function, field) + range);
    value = static_cast<int64_t>(u);
  } else if (found->is_number_integer()) {
    value = found->get<int64_t>();
  } else if (found->is_number_float()) {
    // Guests serialise whole numbers as floats now and then (JavaScript, some JSON writers).
    // Only exactly representable integers (|d| <= 2^53) are taken, which also keeps the
    // conversion below defined.
    const double d = found->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740992.0) {
      return invalid(field_name(function, field) + range);
    }
    value = static_cast<int64_t>(d);
  } else {
    return invalid(field_name(function, field) + range);
  }
  if (value < min || value > max) return invalid(field_name(function, field) + range);
  return value;
}

Result<uint16_t> get_port(const nlohmann::json& request, std::string_view function,
                          std::string_view field) {
  if (!request.contains(field)) return invalid(field_name(function, field) + " is required");
  // Reglet's tcp plugin takes the port as a string ("443"); accept a decimal string too.
  const auto& value = request[std::string(field)];
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty() || text.size() > 5 || !all_digits(text) || std::stoi(text) < 1 ||
        std::stoi(text) > 65535) {
      return invalid(field_name(function, field) + " must be a port from 1 to 65535");
    }
    return static_cast<uint16_t>(std::stoi(text));
  }
  auto port = get_int(request, function, field, 1, 65535, 0);
  if (!port.ok()) return port.error();
  return static_cast<uint16_t>(*port);
}

Result<std::chrono::milliseconds> get_timeout(const nlohmann::json& request,
                                              std::string_view function, int64_t default_ms) {
  int64_t fallback = default_ms;
  if (auto context = request.find("context"); context != request.end() && context->is_object()) {
    auto from_context = get_int(*context, function, "timeout_ms", 1, kMaxTimeoutMs, default_ms);
    if (!from_context.ok()) return from_context.error();
    fallback = *from_context;
  }
  auto timeout = get_int(request, function, "timeout_ms", 1, kMaxTimeoutMs, fallback);
  if (!timeout.ok()) return timeout.error();
  return std::chrono::milliseconds(*timeout);
}

Result<HostName> parse_host(std::string_view host, std::string_view function,
                            std::string_view field) {
  const std::string name = field_name(function, field);
  if (host.empty()) return invalid(name + " is empty");
  if (host.size() > kMaxHostLength + 2) return invalid(name + " is too long");
  if (auto address = IpAddress::parse(host)) {
    HostName out;
    out.literal = *address;
    out.text = address->to_string();
    return out;
  }
  std::string_view body = host;
  if (body.back() == '.') body.remove_suffix(1);
  if (body.empty() || body.size() > kMaxHostLength) {
    return invalid(name + " " + shown(host) + " is not a valid host name or IP address");
  }
  std::string_view last_label;
  size_t start = 0;
  while (start <= body.size()) {
    size_t dot = body.find('.', start);
    if (dot == std::string_view::npos) dot = body.size();
    const std::string_view label = body.substr(start, dot - start);
    if (label.empty() || label.size() > 63 ||
        !std::all_of(label.begin(), label.end(), is_name_char) || label.front() == '-' ||
        label.back() == '-') {
      return invalid(name + " " + shown(host) + " is not a valid host name or IP address");
    }
    last_label = label;
    start = dot + 1;
  }
  // "127.1", "2130706433", "0x7f.1": not valid names (a top-level label is never numeric) and
  // read as addresses by some resolvers but not by others.
  if (numeric_label(last_label)) {
    return invalid(name + " " + shown(host) +
                   " looks like an IP address but is not one in standard form");
  }
  HostName out;
  out.text = std::string(host);
  return out;
}

Result<std::pair<HostName, uint16_t>> parse_host_port(std::string_view text, uint16_t default_port,
                                                      std::string_view function,
                                                      std::string_view field) {
  const std::string name = field_name(function, field);
  std::string_view host = text;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return invalid(name + " " + shown(text) + ": missing ']'");
    }
    host = text.substr(0, close + 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid(name + " " + shown(text) + " is not host:port");
      port_text = rest.substr(1);
      if (port_text.empty()) return invalid(name + " " + shown(text) + " has an empty port");
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const size_t colon = text.find(':');
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return invalid(name + " " + shown(text) + " has an empty port");
  }
  // More than one ':' without brackets: a bare IPv6 literal, port defaulted.
  uint16_t port = default_port;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !all_digits(port_text) || std::stoi(std::string(port_text)) < 1 ||
        std::stoi(std::string(port_text)) > 65535) {
      return invalid(name + " " + shown(text) + ": the port must be from 1 to 65535");
    }
    port = static_cast<uint16_t>(std::stoi(std::string(port_text)));
  }
  auto parsed = parse_host(host, function, field);
  if (!parsed.ok()) return parsed.error();
  return std::make_pair(std::move(*parsed), port);
}

// --- Base64 ---

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint32_t(uint8_t(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=') {
        // Padding only at the end of the last group, and only as the last one or two chars.
        if (!last || k < 2) return std::nullopt;
        ++padding;
        v[k] = 0;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after '='
      v[k] = value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t n =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

// --- Addresses ---

std::string format_endpoint(const IpAddress& address, uint16_t port) {
  return (address.is_v4() ? address.to_string() : "[" + address.to_string() + "]") + ":" +
         std::to_string(port);
}

socklen_t to_sockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<std::pair<IpAddress, uint16_t>> from_sockaddr(const sockaddr* address,
                                                            socklen_t length) {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    IpAddress ip;
    ip.family = IpAddress::Family::v4;
    std::memcpy(ip.bytes.data(), &in.sin_addr, 4);
    return std::make_pair(ip, ntohs(in.sin_port));
  }
  if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    // Through the text form: IpAddress::parse turns IPv4-mapped addresses into IPv4.
    char text[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text) == nullptr) return std::nullopt;
    auto ip = IpAddress::parse(text);
    if (!ip) return std::nullopt;
    return std::make_pair(*ip, ntohs(in6.sin6_port));
  }
  return std::nullopt;
}

namespace {
std::string endpoint_of(int fd, bool local) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  const int rc = local ? ::getsockname(fd, address, &length) : ::getpeername(fd, address, &length);
  if (rc != 0) return {};
  auto endpoint = from_sockaddr(address, length);
  return endpoint ? format_endpoint(endpoint->first, endpoint->second) : std::string();
}
}  // namespace

std::string local_endpoint(int fd) {
  return endpoint_of(fd, true);
}
std::string remote_endpoint(int fd) {
  return endpoint_of(fd, false);
}

// --- Resolution ---

Lookup lookup_host(const HostName& host, const Deadline& deadline) {
  Lookup out;
  if (host.literal) {
    out.addresses.push_back(*host.literal);
    return out;
  }
  struct State {
    bool done = false;
    int status = ARES_SUCCESS;
    std::vector<IpAddress> addresses;
  } state;  // declared before the channel: its callbacks may still run while it is destroyed

  ares_options options{};
  options.flags = ARES_FLAG_NOCHECKRESP;
  options.lookups = const_cast<char*>("fb");  // /etc/hosts first, then DNS
  const auto remaining = deadline.remaining();
  options.timeout = static_cast<int>(std::clamp<int64_t>(remaining.count() / 2, 100, 5000));
  options.tries = 2;
  auto channel = AresChannel::create(
      options, ARES_OPT_FLAGS | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES,
      std::nullopt);
  if (!channel.ok()) {
    out.error = channel.error().message;
    return out;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // No RFC 6724 sorting: it connect()s UDP sockets to every candidate to find source addresses,
  // which would touch addresses nobody checked yet.
  hints.ai_flags = ARES_AI_NOSORT;
  ares_getaddrinfo(
      (*channel)->get(), host.text.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        auto* s = static_cast<State*>(arg);
        s->done = true;
        s->status = status;
        if (result == nullptr) return;
        for (ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
          auto endpoint = from_sockaddr(node->ai_addr, static_cast<socklen_t>(node->ai_addrlen));
          if (endpoint && std::find(s->addresses.begin(), s->addresses.end(), endpoint->first) ==
                              s->addresses.end()) {
            s->addresses.push_back(endpoint->first);
          }
        }
        ares_freeaddrinfo(result);
      },
      &state);
  out.stop = (*channel)->run([&] { return state.done; }, deadline);
  if (out.stop != Stop::none) {
    out.error = "timed out resolving " + shown(host.text);
    return out;
  }
  if (state.status != ARES_SUCCESS || state.addresses.empty()) {
    out.error = "cannot resolve " + shown(host.text) + ": " +
                (state.status != ARES_SUCCESS ? ares_strerror(state.status) : "no address");
    return out;
  }
  out.addresses = std::move(state.addresses);
  return out;
}

Decision check_address(InstanceContext& context, std::string_view function,
                       const nlohmann::json& audit_request, std::string_view host,
                       const IpAddress& address, uint16_t port) {
  Decision decision = CapabilityManager::check_network(context.grants(), host, address, port);
  audit_decision(context, function, audit_request, decision);
  return decision;
}

Result<Destination> resolve_and_check(InstanceContext& context, std::string_view function,
                                      const nlohmann::json& audit_request, const HostName& host,
                                      uint16_t port, const Deadline& deadline) {
  Destination destination;
  destination.host = host;
  destination.port = port;
  if (!host.literal && !could_allow(context.grants(), host.text, port)) {
    Decision decision;
    decision.capability = "network:outbound:" + capability_detail::normalize_host(host.text) + ":" +
                          std::to_string(port);
    decision.resolved = host.text;
    audit_decision(context, function, audit_request, decision);
    return decision.error();
  }
  Lookup lookup = lookup_host(host, deadline);
  if (lookup.stop == Stop::call_timeout || lookup.stop == Stop::cancelled) {
    return stop_error(lookup.stop, function, "resolving " + shown(host.text));
  }
  if (!lookup.error.empty()) {
    destination.lookup_error = std::move(lookup.error);
    destination.lookup_timed_out = lookup.stop == Stop::op_timeout;
    return destination;
  }
  std::optional<Decision> first_denial;
  for (const IpAddress& address : lookup.addresses) {
    Decision decision = check_address(context, function, audit_request, host.text, address, port);
    if (decision.allowed) {
      destination.addresses.push_back(address);
    } else if (!first_denial) {
      first_denial = std::move(decision);
    }
  }
  if (destination.addresses.empty()) return first_denial->error();
  return destination;
}

// --- SIGPIPE ---

SigpipeGuard::SigpipeGuard() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  if (pthread_sigmask(SIG_BLOCK, &block, &old) != 0) return;
  was_blocked_ = sigismember(&old, SIGPIPE) == 1;
  active_ = true;
}

SigpipeGuard::~SigpipeGuard() {
  if (!active_) return;
  // A SIGPIPE that became pending while we held it blocked is ours: consume it.
  if (!was_pending_) {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe_only;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_only, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
  }
  if (!was_blocked_) {
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  }
}

}  // namespace reglet::runtime::host::net
