// IpAddress: strict parsing, canonical text and the "special address" classification of SPEC §3.
#include <arpa/inet.h>

#include <cstdio>
#include <optional>
#include <string>

#include "reglet/capability.h"
#include "runtime/capability/network.h"

namespace reglet {
namespace {

// Strict dotted quad: exactly four decimal parts of 0..255 without leading zeros. The shorthand
// forms inet_aton accepts ("127.1", "0x7f.1", "017.0.0.1") are rejected: they are how addresses
// get smuggled past checks that parse differently from the resolver.
std::optional<std::array<uint8_t, 4>> parse_ipv4(std::string_view text) {
  std::array<uint8_t, 4> octets{};
  size_t pos = 0;
  for (size_t part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - start;
    if (digits == 0 || value > 255) return std::nullopt;
    if (digits > 1 && text[start] == '0') return std::nullopt;
    octets[part] = static_cast<uint8_t>(value);
  }
  if (pos != text.size()) return std::nullopt;
  return octets;
}

bool is_ipv4_mapped(const std::array<uint8_t, 16>& bytes) {
  for (size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

IpAddress ipv4_from(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.family = IpAddress::Family::v4;
  address.bytes[0] = a;
  address.bytes[1] = b;
  address.bytes[2] = c;
  address.bytes[3] = d;
  return address;
}

bool is_special_ipv4(const uint8_t* octets) {
  struct Range {
    std::array<uint8_t, 4> network;
    unsigned prefix_length;
  };
  // Everything that is not a public unicast destination.
  static constexpr std::array<Range, 11> kSpecialRanges{{
      {{0, 0, 0, 0}, 8},       // "this network", including the unspecified 0.0.0.0
      {{10, 0, 0, 0}, 8},      // RFC 1918 private
      {{100, 64, 0, 0}, 10},   // RFC 6598 carrier-grade NAT
      {{127, 0, 0, 0}, 8},     // loopback
      {{169, 254, 0, 0}, 16},  // link-local, including cloud metadata 169.254.169.254
      {{172, 16, 0, 0}, 12},   // RFC 1918 private
      {{192, 0, 0, 0}, 24},    // IETF protocol assignments
      {{192, 168, 0, 0}, 16},  // RFC 1918 private
      {{198, 18, 0, 0}, 15},   // benchmarking
      {{224, 0, 0, 0}, 4},     // multicast
      {{240, 0, 0, 0}, 4},     // reserved, including broadcast 255.255.255.255
  }};
  const IpAddress address = ipv4_from(octets[0], octets[1], octets[2], octets[3]);
  for (const Range& range : kSpecialRanges) {
    const IpAddress network =
        ipv4_from(range.network[0], range.network[1], range.network[2], range.network[3]);
    if (capability_detail::address_in_network(address, network, range.prefix_length)) return true;
  }
  return false;
}

bool starts_with_bytes(const std::array<uint8_t, 16>& bytes,
                       std::initializer_list<uint8_t> prefix) {
  size_t i = 0;
  for (const uint8_t expected : prefix) {
    if (bytes[i++] != expected) return false;
  }
  return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // Longest valid form: 8 groups of 4 hex digits with 7 colons (39), or with a trailing dotted
  // quad (45), plus brackets.
  if (text.empty() || text.size() > 47) return std::nullopt;
  bool bracketed = false;
  if (text.front() == '[') {
    if (text.size() < 2 || text.back() != ']') return std::nullopt;
    text = text.substr(1, text.size() - 2);
    bracketed = true;
  }
  if (text.find(':') == std::string_view::npos) {
    if (bracketed) return std::nullopt;  // brackets are for IPv6 only
    const auto octets = parse_ipv4(text);
    if (!octets) return std::nullopt;
    return ipv4_from((*octets)[0], (*octets)[1], (*octets)[2], (*octets)[3]);
  }
  // inet_pton does the IPv6 grammar ("::", embedded dotted quads); screening the characters first
  // keeps zone ids ("fe80::1%eth0") and anything else unexpected out.
  for (const char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return std::nullopt;
  }
  char buffer[64] = {};
  text.copy(buffer, text.size());
  IpAddress address;
  address.family = Family::v6;
  if (::inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return std::nullopt;
  if (is_ipv4_mapped(address.bytes)) {
    return ipv4_from(address.bytes[12], address.bytes[13], address.bytes[14], address.bytes[15]);
  }
  return address;
}

std::string IpAddress::to_string() const {
  char buffer[64];
  if (is_v4()) {
    std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3]);
    return buffer;
  }
  if (is_ipv4_mapped(bytes)) {
    // Only reachable for an address built by hand; parse() turns these into IPv4.
    std::snprintf(buffer, sizeof buffer, "::ffff:%u.%u.%u.%u", bytes[12], bytes[13], bytes[14],
                  bytes[15]);
    return buffer;
  }
  // RFC 5952: lowercase hex without leading zeros, the longest run (first on a tie) of two or
  // more zero groups written as "::".
  std::array<unsigned, 8> groups{};
  for (size_t i = 0; i < 8; ++i) groups[i] = (bytes[2 * i] << 8) | bytes[2 * i + 1];
  size_t best_start = 8;
  size_t best_length = 0;
  for (size_t i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < 8 && groups[end] == 0) ++end;
    if (end - i > best_length) {
      best_start = i;
      best_length = end - i;
    }
    i = end;
  }
  if (best_length < 2) best_start = 8;

  std::string text;
  for (size_t i = 0; i < 8;) {
    if (i == best_start) {
      text += "::";
      i += best_length;
      continue;
    }
    if (!text.empty() && text.back() != ':') text += ':';
    std::snprintf(buffer, sizeof buffer, "%x", groups[i]);
    text += buffer;
    ++i;
  }
  return text;
}

bool IpAddress::is_special() const {
  if (is_v4()) return is_special_ipv4(bytes.data());

  // IPv4-mapped (only when built by hand) and the deprecated IPv4-compatible ::/96, which also
  // holds "::" and "::1". Nothing in ::/96 is a routable public destination.
  if (is_ipv4_mapped(bytes)) return is_special_ipv4(bytes.data() + 12);
  bool first_twelve_zero = true;
  for (size_t i = 0; i < 12; ++i) first_twelve_zero = first_twelve_zero && bytes[i] == 0;
  if (first_twelve_zero) return true;

  if ((bytes[0] & 0xfe) == 0xfc) return true;                      // fc00::/7 unique local
  if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local
  if (bytes[0] == 0xff) return true;                               // ff00::/8 multicast
  if (starts_with_bytes(bytes, {0x01, 0x00, 0, 0, 0, 0, 0, 0})) return true;  // 100::/64 discard

  // NAT64: 64:ff9b::/96 translates to the embedded IPv4 address, so it is exactly as special as
  // that address. The local-use prefix 64:ff9b:1::/48 (RFC 8215) is private to its network.
  if (starts_with_bytes(bytes, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {
    return is_special_ipv4(bytes.data() + 12);
  }
  if (starts_with_bytes(bytes, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) return true;
  // 6to4: 2002:AABB:CCDD::/48 tunnels to the IPv4 address AA.BB.CC.DD.
  if (starts_with_bytes(bytes, {0x20, 0x02})) return is_special_ipv4(bytes.data() + 2);
  return false;
}

namespace capability_detail {

unsigned address_bits(const IpAddress& address) {
  return address.is_v4() ? 32 : 128;
}

bool address_in_network(const IpAddress& address, const IpAddress& network,
                        unsigned prefix_length) {
  if (address.family != network.family) return false;
  if (prefix_length > address_bits(address)) return false;
  const unsigned whole_bytes = prefix_length / 8;
  for (unsigned i = 0; i < whole_bytes; ++i) {
    if (address.bytes[i] != network.bytes[i]) return false;
  }
  const unsigned remaining_bits = prefix_length % 8;
  if (remaining_bits == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - remaining_bits));
  return (address.bytes[whole_bytes] & mask) == (network.bytes[whole_bytes] & mask);
}

bool has_host_bits(const IpAddress& network, unsigned prefix_length) {
  const unsigned total_bits = address_bits(network);
  for (unsigned bit = prefix_length; bit < total_bits; ++bit) {
    if (network.bytes[bit / 8] & (0x80 >> (bit % 8))) return true;
  }
  return false;
}

std::string address_for_capability(const IpAddress& address) {
  return address.is_v4() ? address.to_string() : "[" + address.to_string() + "]";
}

}  // namespace capability_detail
}  // namespace reglet
