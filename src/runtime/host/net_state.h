// Per-instance network state: the sockets (plain or TLS) a plugin opened with net_connect, by
// handle. Handles belong to one instance; every socket is closed when the instance is discarded.
#pragma once

#include <memory>

namespace reglet::runtime::host {

class NetState {
 public:
  NetState();
  ~NetState();
  NetState(const NetState&) = delete;
  NetState& operator=(const NetState&) = delete;

  struct Impl;  // defined in net.cc
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace reglet::runtime::host
