// A c-ares channel owned by one call, driven by our own poll() loop so that it honours the call's
// deadline and cancellation, with socket functions that:
//   - create every socket non-blocking and close-on-exec;
//   - send with MSG_NOSIGNAL (a TCP fallback to a vanished server must not raise SIGPIPE);
//   - when given a list of checked nameservers, refuse to connect anywhere else (defence in
//     depth: the server list is already set to exactly those, this makes it impossible for a
//     c-ares default or a future option to send a query to an unchecked address).
#pragma once

#include <ares.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "reglet/capability.h"
#include "reglet/error.h"
#include "runtime/host/net_policy.h"

namespace reglet::runtime::host::net {

struct Nameserver {
  IpAddress address;
  uint16_t port = 53;
};

class AresChannel {
 public:
  // `optmask`/`options` as for ares_init_options. `allowed` (when set) is the only set of
  // nameservers this channel may talk to.
  static Result<std::unique_ptr<AresChannel>> create(
      ares_options& options, int optmask, std::optional<std::vector<Nameserver>> allowed);
  ~AresChannel();
  AresChannel(const AresChannel&) = delete;
  AresChannel& operator=(const AresChannel&) = delete;

  ares_channel get() const { return channel_; }

  // The servers the channel is configured with (from /etc/resolv.conf, unless set).
  std::vector<Nameserver> servers() const;
  // Sets the servers, and the guard to exactly these.
  Status set_servers(const std::vector<Nameserver>& servers);

  // Processes the channel's I/O until `done()` is true or the deadline passes / the call is
  // cancelled; returns why it stopped (Stop::none when done).
  Stop run(const std::function<bool()>& done, const Deadline& deadline);

  // True when the guard refused a connection to an address that was not checked (a bug).
  bool guard_tripped() const { return guard_.tripped; }

  struct Guard {
    std::optional<std::vector<Nameserver>> allowed;
    bool tripped = false;
  };

 private:
  AresChannel() = default;
  ares_channel channel_ = nullptr;
  // Referenced by the socket functions registered with the channel: lives as long as it.
  Guard guard_;
};

// ares_library_init, once per process.
void ensure_ares_initialized();

}  // namespace reglet::runtime::host::net
