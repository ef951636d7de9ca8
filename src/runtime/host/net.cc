// net_connect, net_send, net_recv, net_close (sockets a plugin keeps across calls, by handle) and
// tcp_connect (a one-shot reachability and TLS probe). Decisions where the SPEC is silent are in
// net_README.md next to this file.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "runtime/host/handlers.h"
#include "runtime/host/net_policy.h"
#include "runtime/host/net_state.h"
#include "runtime/host/net_tls.h"
#include "runtime/util/unique_fd.h"

namespace reglet::runtime::host {

namespace {

constexpr size_t kMaxConnections = 64;              // open handles per instance
constexpr int64_t kDefaultConnectTimeoutMs = 5000;  // tcp_connect (Reglet's default), net_connect
constexpr int64_t kDefaultIoTimeoutMs = 30'000;     // net_send, net_recv
constexpr int64_t kDefaultRecvBytes = 64 * 1024;
constexpr size_t kRecvChunk = 64 * 1024;
// Handles are JSON numbers; keep them exactly representable as doubles for any guest language.
constexpr int64_t kMaxHandle = (int64_t{1} << 53) - 1;

struct Connection {
  UniqueFd fd;
  net::TlsSession tls;  // ssl is null for a plain connection; destroyed before fd
  std::string remote;
  std::string local;
  bool eof = false;
};

}  // namespace

struct NetState::Impl {
  std::map<int64_t, std::unique_ptr<Connection>> connections;
  int64_t next_handle = 1;
};

NetState::NetState() : impl_(std::make_unique<Impl>()) {}
// Closing every socket (TLS sessions first) is the connections' own destructors' work.
NetState::~NetState() = default;

namespace {

using net::Deadline;
using net::Stop;

Error io_error(std::string message) {
  return make_error(ErrorCode::io_error, std::move(message));
}

// --- connecting ---

struct Connected {
  UniqueFd fd;
  IpAddress address;
  std::string error;  // empty on success
  Stop stop = Stop::none;
};

// Connects to one address with a non-blocking socket, waiting no longer than the deadline.
Connected connect_one(const IpAddress& address, uint16_t port, const Deadline& deadline) {
  Connected out;
  out.address = address;
  const std::string endpoint = net::format_endpoint(address, port);
  UniqueFd fd(::socket(address.is_v4() ? AF_INET : AF_INET6,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    out.error = "cannot create a socket: " + std::string(std::strerror(errno));
    return out;
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage storage;
  const socklen_t length = net::to_sockaddr(address, port, storage);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) == 0) {
    out.fd = std::move(fd);
    return out;
  }
  if (errno != EINPROGRESS && errno != EINTR) {
    out.error = "cannot connect to " + endpoint + ": " + std::strerror(errno);
    return out;
  }
  while (true) {
    if (Stop stop = deadline.check(); stop != Stop::none) {
      out.stop = stop;
      out.error = "connection to " + endpoint + " timed out";
      return out;
    }
    pollfd pfd{fd.get(), POLLOUT, 0};
    const int ready = ::poll(&pfd, 1, deadline.poll_ms());
    if (ready <= 0) continue;
    int error = 0;
    socklen_t error_length = sizeof error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length) != 0) error = errno;
    if (error == 0) {
      out.fd = std::move(fd);
      return out;
    }
    out.error = "cannot connect to " + endpoint + ": " + std::strerror(error);
    return out;
  }
}

// Tries the checked addresses in order until one answers.
Connected connect_any(const net::Destination& destination, const Deadline& deadline) {
  Connected last;
  for (const IpAddress& address : destination.addresses) {
    last = connect_one(address, destination.port, deadline);
    if (last.fd || last.stop != Stop::none) return last;
  }
  return last;
}

// --- shared request parts ---

struct TlsRequest {
  bool enabled = false;
  std::string server_name;
  bool skip_verify = false;
  std::string ca_pem;
};

Result<TlsRequest> parse_tls_request(const nlohmann::json& request, std::string_view function,
                                     const net::HostName& host) {
  TlsRequest tls;
  auto enabled = net::get_bool(request, function, "tls", false);
  if (!enabled.ok()) return enabled.error();
  tls.enabled = *enabled;
  auto server_name = net::get_string(request, function, "server_name", net::kMaxServerNameLength,
                                     false, host.text);
  if (!server_name.ok()) return server_name.error();
  if (!server_name->empty()) {
    // Validated like a host: it goes into the handshake (SNI) and the name check.
    auto parsed = net::parse_host(*server_name, function, "server_name");
    if (!parsed.ok()) return parsed.error();
    tls.server_name = parsed->text;
    if (!tls.server_name.empty() && tls.server_name.back() == '.') tls.server_name.pop_back();
  }
  auto skip = net::get_bool(request, function, "insecure_skip_verify", false);
  if (!skip.ok()) return skip.error();
  tls.skip_verify = *skip;
  auto ca = net::get_string(request, function, "ca_cert_pem", net::kMaxCaPemBytes, false);
  if (!ca.ok()) return ca.error();
  tls.ca_pem = std::move(*ca);
  return tls;
}

std::string join_host_port(const net::HostName& host, uint16_t port) {
  const bool v6 = host.literal && !host.literal->is_v4();
  return (v6 ? "[" + host.text + "]" : host.text) + ":" + std::to_string(port);
}

nlohmann::json audit_request_of(const nlohmann::json& request) {
  // What the decision was about; never payloads.
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"host", "port", "tls", "server_name"}) {
    if (request.contains(key)) out[key] = request[key];
  }
  return out;
}

// --- handles ---

Result<Connection*> find_connection(InstanceContext& context, const nlohmann::json& request,
                                    std::string_view function) {
  if (!request.contains("handle")) {
    return make_error(ErrorCode::invalid_argument, std::string(function) + ": handle is required");
  }
  auto handle = net::get_int(request, function, "handle", 1, kMaxHandle, 0);
  if (!handle.ok()) return handle.error();
  auto& connections = context.net().impl().connections;
  auto found = connections.find(*handle);
  if (found == connections.end()) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(function) + ": handle " + std::to_string(*handle) +
                          " is not an open connection of this plugin instance");
  }
  return found->second.get();
}

}  // namespace

// --- net_connect ---

Result<nlohmann::json> net_connect(InstanceContext& context, engine::Caller& caller,
                                   const nlohmann::json& request) {
  constexpr std::string_view kFn = "net_connect";
  auto host_text = net::get_string(request, kFn, "host", net::kMaxHostLength + 2, true);
  if (!host_text.ok()) return host_text.error();
  auto host = net::parse_host(*host_text, kFn);
  if (!host.ok()) return host.error();
  auto port = net::get_port(request, kFn);
  if (!port.ok()) return port.error();
  auto timeout = net::get_timeout(request, kFn, kDefaultConnectTimeoutMs);
  if (!timeout.ok()) return timeout.error();
  auto tls = parse_tls_request(request, kFn, *host);
  if (!tls.ok()) return tls.error();

  auto& state = context.net().impl();
  if (state.connections.size() >= kMaxConnections) {
    return io_error("net_connect: this plugin instance already has " +
                    std::to_string(kMaxConnections) + " open connections; close one first");
  }
  const Deadline deadline(caller.control(), *timeout);
  auto destination =
      net::resolve_and_check(context, kFn, audit_request_of(request), *host, *port, deadline);
  if (!destination.ok()) return destination.error();
  if (!destination->lookup_error.empty()) {
    if (destination->lookup_timed_out) return net::stop_error(Stop::op_timeout, kFn, "resolving");
    return io_error("net_connect: " + destination->lookup_error);
  }
  Connected connected = connect_any(*destination, deadline);
  if (connected.stop != Stop::none) return net::stop_error(connected.stop, kFn, "connecting");
  if (!connected.fd) return io_error("net_connect: " + connected.error);

  auto connection = std::make_unique<Connection>();
  connection->fd = std::move(connected.fd);
  connection->remote = net::remote_endpoint(connection->fd.get());
  connection->local = net::local_endpoint(connection->fd.get());
  nlohmann::json response = {{"remote_addr", connection->remote},
                             {"local_addr", connection->local}};
  if (tls->enabled) {
    net::TlsOptions options;
    options.server_name = tls->server_name;
    options.require_verified = !tls->skip_verify;
    options.ca_pem = tls->ca_pem;
    auto handshake = net::tls_handshake(connection->fd.get(), options, deadline);
    if (auto* failure = std::get_if<net::TlsFailure>(&handshake)) {
      if (failure->stop != Stop::none) {
        return net::stop_error(failure->stop, kFn, "in the TLS handshake");
      }
      return io_error("net_connect: " + failure->message);
    }
    connection->tls = std::move(std::get<net::TlsSession>(handshake));
    response.update(net::tls_facts(connection->tls.ssl.get(), /*with_verification=*/true));
  }
  const int64_t handle = state.next_handle++;
  state.connections.emplace(handle, std::move(connection));
  response["handle"] = handle;
  return response;
}

// --- net_send ---

Result<nlohmann::json> net_send(InstanceContext& context, engine::Caller& caller,
                                const nlohmann::json& request) {
  constexpr std::string_view kFn = "net_send";
  auto found = find_connection(context, request, kFn);
  if (!found.ok()) return found.error();
  Connection& connection = **found;
  auto encoded =
      net::get_string(request, kFn, "data_b64", context.options().max_host_response_bytes, true);
  if (!encoded.ok()) return encoded.error();
  auto data = net::base64_decode(*encoded);
  if (!data) {
    return make_error(ErrorCode::invalid_argument, "net_send: data_b64 is not valid base64");
  }
  auto timeout = net::get_timeout(request, kFn, kDefaultIoTimeoutMs);
  if (!timeout.ok()) return timeout.error();
  const Deadline deadline(caller.control(), *timeout);

  net::SigpipeGuard no_sigpipe;
  size_t sent = 0;
  while (sent < data->size()) {
    const char* next = data->data() + sent;
    const size_t left = data->size() - sent;
    short wait_events = POLLOUT;
    if (SSL* ssl = connection.tls.ssl.get()) {
      ERR_clear_error();
      size_t written = 0;
      if (SSL_write_ex(ssl, next, left, &written) == 1) {
        sent += written;
        continue;
      }
      const int error = SSL_get_error(ssl, 0);
      if (error == SSL_ERROR_WANT_READ) {
        wait_events = POLLIN;
      } else if (error != SSL_ERROR_WANT_WRITE) {
        const std::string detail = net::openssl_errors();
        return io_error("net_send: the TLS connection failed" +
                        (detail.empty() ? std::string() : ": " + detail));
      }
    } else {
      const ssize_t n = ::send(connection.fd.get(), next, left, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return io_error("net_send: " + std::string(std::strerror(errno)));
      }
    }
    if (Stop stop = deadline.check(); stop != Stop::none) {
      // Partly sent before the request's own timeout: say how much, so the plugin can resume.
      if (stop == Stop::op_timeout && sent > 0) {
        return nlohmann::json{{"bytes_sent", sent}, {"timed_out", true}};
      }
      return net::stop_error(stop, kFn, "sending");
    }
    pollfd pfd{connection.fd.get(), wait_events, 0};
    ::poll(&pfd, 1, deadline.poll_ms());
  }
  return nlohmann::json{{"bytes_sent", sent}};
}

// --- net_recv ---

Result<nlohmann::json> net_recv(InstanceContext& context, engine::Caller& caller,
                                const nlohmann::json& request) {
  constexpr std::string_view kFn = "net_recv";
  auto found = find_connection(context, request, kFn);
  if (!found.ok()) return found.error();
  Connection& connection = **found;
  const auto limit = static_cast<int64_t>(context.options().max_host_response_bytes);
  auto max_bytes =
      net::get_int(request, kFn, "max_bytes", 1, limit, std::min(kDefaultRecvBytes, limit));
  if (!max_bytes.ok()) return max_bytes.error();
  auto timeout = net::get_timeout(request, kFn, kDefaultIoTimeoutMs);
  if (!timeout.ok()) return timeout.error();
  const Deadline deadline(caller.control(), *timeout);

  const auto wanted = static_cast<size_t>(*max_bytes);
  std::string data;
  bool eof = connection.eof;
  net::SigpipeGuard no_sigpipe;  // a TLS read may write (key updates, alerts)
  // Returns as soon as some data has arrived (taking what is already there, up to max_bytes),
  // like recv(2); waits only while nothing has.
  while (!eof && data.size() < wanted) {
    const size_t chunk = std::min(kRecvChunk, wanted - data.size());
    const size_t old_size = data.size();
    data.resize(old_size + chunk);
    short wait_events = POLLIN;
    bool would_block = false;
    if (SSL* ssl = connection.tls.ssl.get()) {
      ERR_clear_error();
      size_t got = 0;
      if (SSL_read_ex(ssl, data.data() + old_size, chunk, &got) == 1) {
        data.resize(old_size + got);
        continue;
      }
      data.resize(old_size);
      const int error = SSL_get_error(ssl, 0);
      if (error == SSL_ERROR_ZERO_RETURN) {
        eof = true;
      } else if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        would_block = true;
        if (error == SSL_ERROR_WANT_WRITE) wait_events = POLLOUT;
      } else {
        const std::string detail = net::openssl_errors();
        if (!data.empty()) break;  // hand over what arrived; the error shows on the next call
        return io_error("net_recv: the TLS connection failed" +
                        (detail.empty() ? std::string() : ": " + detail));
      }
    } else {
      const ssize_t n = ::recv(connection.fd.get(), data.data() + old_size, chunk, MSG_DONTWAIT);
      if (n > 0) {
        data.resize(old_size + static_cast<size_t>(n));
        continue;
      }
      data.resize(old_size);
      if (n == 0) {
        eof = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        would_block = true;
      } else {
        if (!data.empty()) break;
        return io_error("net_recv: " + std::string(std::strerror(errno)));
      }
    }
    if (!would_block) continue;
    if (!data.empty()) break;
    if (Stop stop = deadline.check(); stop != Stop::none) {
      return net::stop_error(stop, kFn, "waiting for data");
    }
    pollfd pfd{connection.fd.get(), wait_events, 0};
    ::poll(&pfd, 1, deadline.poll_ms());
  }
  connection.eof = eof;
  // eof may come with the last bytes; later calls return no data and eof again.
  return nlohmann::json{{"data_b64", net::base64_encode(data)}, {"eof", eof}};
}

// --- net_close ---

Result<nlohmann::json> net_close(InstanceContext& context, engine::Caller&,
                                 const nlohmann::json& request) {
  constexpr std::string_view kFn = "net_close";
  auto found = find_connection(context, request, kFn);
  if (!found.ok()) return found.error();
  auto& connections = context.net().impl().connections;
  for (auto it = connections.begin(); it != connections.end(); ++it) {
    if (it->second.get() == *found) {
      if (SSL* ssl = it->second->tls.ssl.get()) {
        // One non-blocking close_notify attempt; never waits for the peer's.
        net::SigpipeGuard no_sigpipe;
        SSL_shutdown(ssl);
        ERR_clear_error();
      }
      connections.erase(it);
      break;
    }
  }
  return nlohmann::json::object();
}

// --- tcp_connect ---

Result<nlohmann::json> tcp_connect(InstanceContext& context, engine::Caller& caller,
                                   const nlohmann::json& request) {
  constexpr std::string_view kFn = "tcp_connect";
  auto host_text = net::get_string(request, kFn, "host", net::kMaxHostLength + 2, true);
  if (!host_text.ok()) return host_text.error();
  auto host = net::parse_host(*host_text, kFn);
  if (!host.ok()) return host.error();
  auto port = net::get_port(request, kFn);
  if (!port.ok()) return port.error();
  auto timeout = net::get_timeout(request, kFn, kDefaultConnectTimeoutMs);
  if (!timeout.ok()) return timeout.error();
  auto tls = parse_tls_request(request, kFn, *host);
  if (!tls.ok()) return tls.error();

  const auto started = net::Clock::now();
  const Deadline deadline(caller.control(), *timeout);
  nlohmann::json response = {{"address", join_host_port(*host, *port)}};
  // A probe's failure is evidence (connected: false and why), not a host error.
  auto not_connected = [&](std::string error, bool timed_out) {
    response["connected"] = false;
    response["error"] = std::move(error);
    response["is_timeout"] = timed_out;
    response["response_time_ms"] = net::elapsed_ms(started);
    return response;
  };

  auto destination =
      net::resolve_and_check(context, kFn, audit_request_of(request), *host, *port, deadline);
  if (!destination.ok()) return destination.error();
  if (!destination->lookup_error.empty()) {
    return not_connected(destination->lookup_error, destination->lookup_timed_out);
  }
  Connected connected = connect_any(*destination, deadline);
  if (connected.stop == Stop::call_timeout || connected.stop == Stop::cancelled) {
    return net::stop_error(connected.stop, kFn, "connecting");
  }
  if (!connected.fd) return not_connected(connected.error, connected.stop == Stop::op_timeout);
  response["remote_addr"] = net::remote_endpoint(connected.fd.get());
  response["local_addr"] = net::local_endpoint(connected.fd.get());
  if (tls->enabled) {
    net::TlsOptions options;
    options.server_name = tls->server_name;
    // Report certificate facts even for certificates that do not verify (self-signed, expired,
    // wrong name): finding those is what a compliance probe is for. tls_verified says.
    options.require_verified = false;
    options.ca_pem = tls->ca_pem;
    auto handshake = net::tls_handshake(connected.fd.get(), options, deadline);
    if (auto* failure = std::get_if<net::TlsFailure>(&handshake)) {
      if (failure->stop == Stop::call_timeout || failure->stop == Stop::cancelled) {
        return net::stop_error(failure->stop, kFn, "in the TLS handshake");
      }
      return not_connected(failure->message, failure->stop == Stop::op_timeout);
    }
    auto& session = std::get<net::TlsSession>(handshake);
    response.update(net::tls_facts(session.ssl.get(), /*with_verification=*/true));
    net::SigpipeGuard no_sigpipe;
    SSL_shutdown(session.ssl.get());
    ERR_clear_error();
  }
  response["connected"] = true;
  response["is_timeout"] = false;
  response["response_time_ms"] = net::elapsed_ms(started);
  return response;
}

}  // namespace reglet::runtime::host
