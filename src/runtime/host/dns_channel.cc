#include "runtime/host/dns_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace reglet::runtime::host::net {
namespace {

// --- socket functions ---

ares_socket_t guarded_socket(int domain, int type, int protocol, void*) {
  return ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

int guarded_close(ares_socket_t fd, void*) {
  return ::close(fd);
}

int guarded_connect(ares_socket_t fd, const sockaddr* address, ares_socklen_t length,
                    void* user_data) {
  auto* guard = static_cast<AresChannel::Guard*>(user_data);
  if (guard->allowed) {
    auto endpoint = from_sockaddr(address, length);
    const bool checked =
        endpoint &&
        std::any_of(guard->allowed->begin(), guard->allowed->end(), [&](const Nameserver& server) {
          return server.address == endpoint->first && server.port == endpoint->second;
        });
    if (!checked) {
      guard->tripped = true;
      errno = EACCES;
      return -1;
    }
  }
  return ::connect(fd, address, length);
}

ares_ssize_t guarded_recvfrom(ares_socket_t fd, void* buffer, size_t length, int flags,
                              sockaddr* from, ares_socklen_t* from_length, void*) {
  return ::recvfrom(fd, buffer, length, flags, from, from_length);
}

ares_ssize_t guarded_sendv(ares_socket_t fd, const iovec* vectors, int count, void*) {
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(vectors);
  message.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd, &message, MSG_NOSIGNAL);
}

constexpr ares_socket_functions kSocketFunctions = {
    guarded_socket, guarded_close, guarded_connect, guarded_recvfrom, guarded_sendv,
};

}  // namespace

void ensure_ares_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

Result<std::unique_ptr<AresChannel>> AresChannel::create(
    ares_options& options, int optmask, std::optional<std::vector<Nameserver>> allowed) {
  ensure_ares_initialized();
  std::unique_ptr<AresChannel> channel(new AresChannel());
  const int status = ares_init_options(&channel->channel_, &options, optmask);
  if (status != ARES_SUCCESS) {
    channel->channel_ = nullptr;
    return make_error(ErrorCode::io_error,
                      std::string("cannot initialise the DNS resolver: ") + ares_strerror(status));
  }
  channel->guard_.allowed = std::move(allowed);
  ares_set_socket_functions(channel->channel_, &kSocketFunctions, &channel->guard_);
  return channel;
}

AresChannel::~AresChannel() {
  // Pending callbacks run now (with ARES_EDESTRUCTION); their state is owned by the caller and
  // declared before the channel, so it is still alive.
  if (channel_ != nullptr) ares_destroy(channel_);
}

std::vector<Nameserver> AresChannel::servers() const {
  std::vector<Nameserver> out;
  ares_addr_port_node* list = nullptr;
  if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return out;
  for (ares_addr_port_node* node = list; node != nullptr; node = node->next) {
    Nameserver server;
    if (node->family == AF_INET) {
      server.address.family = IpAddress::Family::v4;
      std::memcpy(server.address.bytes.data(), &node->addr.addr4, 4);
    } else if (node->family == AF_INET6) {
      // Through the text form, so that IPv4-mapped addresses become IPv4 like everywhere else.
      char text[INET6_ADDRSTRLEN] = {};
      if (ares_inet_ntop(AF_INET6, &node->addr.addr6, text, sizeof text) == nullptr) continue;
      auto parsed = IpAddress::parse(text);
      if (!parsed) continue;
      server.address = *parsed;
    } else {
      continue;
    }
    server.port =
        node->udp_port > 0 && node->udp_port <= 65535 ? static_cast<uint16_t>(node->udp_port) : 53;
    out.push_back(server);
  }
  ares_free_data(list);
  return out;
}

Status AresChannel::set_servers(const std::vector<Nameserver>& servers) {
  std::vector<ares_addr_port_node> nodes(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    ares_addr_port_node& node = nodes[i];
    std::memset(&node, 0, sizeof node);
    const IpAddress& address = servers[i].address;
    if (address.is_v4()) {
      node.family = AF_INET;
      std::memcpy(&node.addr.addr4, address.bytes.data(), 4);
    } else {
      node.family = AF_INET6;
      std::memcpy(&node.addr.addr6, address.bytes.data(), 16);
    }
    node.udp_port = servers[i].port;
    node.tcp_port = servers[i].port;
    node.next = i + 1 < servers.size() ? &nodes[i + 1] : nullptr;
  }
  // Guard first: from here on, nothing but these servers can be reached.
  guard_.allowed = servers;
  const int status = ares_set_servers_ports(channel_, nodes.empty() ? nullptr : nodes.data());
  if (status != ARES_SUCCESS) {
    return make_error(ErrorCode::io_error,
                      std::string("cannot set DNS servers: ") + ares_strerror(status));
  }
  return {};
}

Stop AresChannel::run(const std::function<bool()>& done, const Deadline& deadline) {
  while (!done()) {
    if (Stop stop = deadline.check(); stop != Stop::none) return stop;
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel_, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events == 0) continue;
      fds[count++] = pollfd{sockets[i], events, 0};
    }
    // c-ares' own retry timer, bounded by our slice and deadline.
    int wait_ms = deadline.poll_ms();
    timeval max_wait{wait_ms / 1000, (wait_ms % 1000) * 1000};
    timeval ares_wait{};
    if (ares_timeout(channel_, &max_wait, &ares_wait) != nullptr) {
      wait_ms = std::min<int>(
          wait_ms, static_cast<int>(ares_wait.tv_sec * 1000 + (ares_wait.tv_usec + 999) / 1000));
    }
    const int ready = ::poll(fds, count, wait_ms);
    if (ready <= 0) {
      // Nothing ready (or EINTR): let c-ares run its retry timers. The loop stays bounded by the
      // deadline whatever poll() did.
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (nfds_t i = 0; i < count; ++i) {
      const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (fds[i].revents & (POLLOUT | POLLERR | POLLHUP)) != 0;
      if (!readable && !writable) continue;
      ares_process_fd(channel_, readable ? fds[i].fd : ARES_SOCKET_BAD,
                      writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  return Stop::none;
}

}  // namespace reglet::runtime::host::net
