// Address helpers shared by the network grammar and the network matcher.
#pragma once

#include <string>

#include "reglet/capability.h"

namespace reglet::capability_detail {

// Bits in an address of this family: 32 or 128.
unsigned address_bits(const IpAddress& address);

// True when `address` lies in network/prefix_length. Families must agree: an IPv4 grant never
// matches an IPv6 address (IPv4-mapped addresses are already IPv4 after parsing).
bool address_in_network(const IpAddress& address, const IpAddress& network, unsigned prefix_length);

// True when any bit after the first `prefix_length` is set ("10.0.0.1/8").
bool has_host_bits(const IpAddress& network, unsigned prefix_length);

// The address as it appears in a capability: IPv6 in brackets so the port stays separable.
std::string address_for_capability(const IpAddress& address);

}  // namespace reglet::capability_detail
