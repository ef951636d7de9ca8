// The capability grammar of SPEC §3, parsed into structured form. Capability::parse uses it to
// validate; GrantSet::add uses it to build matchers, so both always agree on what a string means.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "reglet/capability.h"
#include "runtime/capability/glob.h"

namespace reglet::capability_detail {

struct FsGrantSpec {
  FsAccess access = FsAccess::read;
  PathGlobParts path;
};

struct PortSet {
  bool any = false;
  std::vector<std::pair<uint16_t, uint16_t>> ranges;  // inclusive

  bool contains(uint16_t port) const;
};

struct HostSpec {
  enum class Kind : uint8_t {
    any_public,  // no host given: any name or address, public addresses only
    name_glob,   // "*.example.com": matched against the requested name, public addresses only
    address,     // one IP, special or not
    network,     // a CIDR, special or not
  };
  Kind kind = Kind::any_public;
  TokenPattern name;           // name_glob
  IpAddress address;           // address, network
  unsigned prefix_length = 0;  // network
};

struct NetworkGrantSpec {
  HostSpec host;
  PortSet ports;
};

struct EnvGrantSpec {
  TokenPattern name;
};

struct ExecGrantSpec {
  bool bare_name = false;
  TokenPattern name;   // bare_name: matched against the final name of the resolved path
  PathGlobParts path;  // otherwise: an absolute path glob
};

using GrantSpec = std::variant<FsGrantSpec, NetworkGrantSpec, EnvGrantSpec, ExecGrantSpec>;

// Parses and validates one capability. Errors are invalid_argument and say which capability and
// what is wrong with it.
Result<GrantSpec> parse_grant_spec(const Capability& capability);

// Quotes text for an error message: control bytes (NUL included) become \xNN and very long text
// is shortened, so a hostile string cannot garble logs.
std::string quote_for_message(std::string_view text);

// Host names compare case-insensitively and without a final root dot ("Example.COM." is
// "example.com"); brackets around an IPv6 literal are dropped.
std::string normalize_host(std::string_view host);

}  // namespace reglet::capability_detail
