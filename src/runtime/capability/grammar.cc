#include "runtime/capability/grammar.h"

#include <string>
#include <utility>

#include "runtime/capability/network.h"

namespace reglet::capability_detail {
namespace {

constexpr std::string_view kNetworkForms =
    "expected network:outbound:<ports> or network:outbound:<host>:<ports>";
constexpr std::string_view kPortForms =
    "ports are '*', a port (1-65535), a range 'low-high', or a comma list of these";

// Errors name the whole capability, so an operator can find the offending grant.
class ErrorFactory {
 public:
  explicit ErrorFactory(std::string capability_text) : text_(std::move(capability_text)) {}
  Error operator()(std::string_view detail) const {
    return make_error(
        ErrorCode::invalid_argument,
        "invalid capability " + quote_for_message(text_) + ": " + std::string(detail));
  }

 private:
  std::string text_;
};

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// fs

Result<GrantSpec> parse_fs(std::string_view pattern, const ErrorFactory& fail) {
  FsGrantSpec spec;
  std::string_view path;
  if (pattern.starts_with("read:")) {
    spec.access = FsAccess::read;
    path = pattern.substr(5);
  } else if (pattern.starts_with("write:")) {
    spec.access = FsAccess::write;
    path = pattern.substr(6);
  } else {
    return fail("expected fs:read:<path-glob> or fs:write:<path-glob>");
  }
  if (path.empty()) {
    return fail("the path after '" + std::string(pattern.substr(0, pattern.find(':') + 1)) +
                "' is empty");
  }
  auto parts = split_path_glob(path);
  if (!parts.ok()) return fail(parts.error().message);
  spec.path = std::move(*parts);
  return GrantSpec{std::move(spec)};
}

// ---------------------------------------------------------------------------------------------
// network

Result<uint16_t> parse_port(std::string_view text, std::string_view list,
                            const ErrorFactory& fail) {
  if (!all_digits(text)) {
    return fail("'" + std::string(text) + "' in port list '" + std::string(list) +
                "' is not a port number (" + std::string(kPortForms) + ")");
  }
  unsigned value = 0;
  for (const char c : text) {
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) break;  // no overflow on absurdly long digit strings
  }
  if (value < 1 || value > 65535) {
    return fail("port '" + std::string(text) + "' is out of range (1-65535)");
  }
  return static_cast<uint16_t>(value);
}

Result<PortSet> parse_ports(std::string_view text, const ErrorFactory& fail) {
  if (text.empty()) return fail("the port list is empty (" + std::string(kPortForms) + ")");
  PortSet ports;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    const std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) {
      return fail("port list '" + std::string(text) + "' has an empty entry");
    }
    if (item == "*") {
      ports.any = true;
    } else if (const size_t dash = item.find('-'); dash != std::string_view::npos) {
      auto low = parse_port(item.substr(0, dash), text, fail);
      if (!low.ok()) return low.error();
      auto high = parse_port(item.substr(dash + 1), text, fail);
      if (!high.ok()) return high.error();
      if (*high < *low) {
        return fail("port range '" + std::string(item) + "' is reversed (write 'low-high')");
      }
      ports.ranges.emplace_back(*low, *high);
    } else {
      auto port = parse_port(item, text, fail);
      if (!port.ok()) return port.error();
      ports.ranges.emplace_back(*port, *port);
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return ports;
}

Result<HostSpec> parse_cidr(std::string_view text, const ErrorFactory& fail) {
  const size_t slash = text.find('/');
  std::string_view address_text = text.substr(0, slash);
  const std::string_view prefix_text = text.substr(slash + 1);
  // Accept "[fd00::]/8" as well as "fd00::/8".
  if (address_text.size() >= 2 && address_text.front() == '[' && address_text.back() == ']') {
    address_text = address_text.substr(1, address_text.size() - 2);
  }
  const auto address = IpAddress::parse(address_text);
  if (!address) {
    return fail("'" + std::string(address_text) + "' in CIDR '" + std::string(text) +
                "' is not an IP address");
  }
  const bool written_as_ipv6 = address_text.find(':') != std::string_view::npos;
  const unsigned written_bits = written_as_ipv6 ? 128 : 32;
  if (!all_digits(prefix_text) || prefix_text.size() > 3) {
    return fail("prefix length '" + std::string(prefix_text) + "' in CIDR '" + std::string(text) +
                "' is not a number");
  }
  unsigned prefix_length = static_cast<unsigned>(std::stoul(std::string(prefix_text)));
  if (prefix_length > written_bits) {
    return fail("prefix length /" + std::to_string(prefix_length) + " in CIDR '" +
                std::string(text) + "' is too long (at most /" + std::to_string(written_bits) +
                ")");
  }
  if (written_as_ipv6 && address->is_v4()) {
    // An IPv4-mapped network ("::ffff:10.0.0.0/104") is an IPv4 network, because mapped
    // addresses are IPv4 once parsed. A shorter prefix would reach outside the mapped range.
    if (prefix_length < 96) {
      return fail("IPv4-mapped CIDR '" + std::string(text) + "' needs a prefix of at least /96");
    }
    prefix_length -= 96;
  }
  if (has_host_bits(*address, prefix_length)) {
    return fail("CIDR '" + std::string(text) +
                "' has bits set after the prefix (write the network "
                "address, e.g. 10.0.0.0/8)");
  }
  HostSpec host;
  host.kind = HostSpec::Kind::network;
  host.address = *address;
  host.prefix_length = prefix_length;
  return host;
}

Result<HostSpec> parse_host(std::string_view text, const ErrorFactory& fail) {
  if (text.empty()) return fail("the host before ':<ports>' is empty");
  // "[fd00::/8]" is accepted like "[fd00::]/8".
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']' &&
      text.find('/') != std::string_view::npos) {
    text = text.substr(1, text.size() - 2);
  }
  if (text.find('/') != std::string_view::npos) return parse_cidr(text, fail);

  HostSpec host;
  if (const auto address = IpAddress::parse(text)) {
    host.kind = HostSpec::Kind::address;
    host.address = *address;
    return host;
  }
  if (text.find_first_of(":[]") != std::string_view::npos) {
    return fail("'" + std::string(text) + "' is not a valid IPv6 address");
  }
  bool digits_and_dots = true;
  for (const char c : text)
    digits_and_dots = digits_and_dots && ((c >= '0' && c <= '9') || c == '.');
  if (digits_and_dots) {
    return fail("'" + std::string(text) + "' is not a valid IPv4 address");
  }
  if (text.size() > 255) return fail("the host pattern is longer than 255 characters");
  for (const char c : text) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '*' ||
                         c == '?';
    if (!allowed) {
      return fail("host pattern " + quote_for_message(text) +
                  " may contain only letters, digits, '-', '_', '.', '*' and '?'");
    }
  }
  if (text.find("..") != std::string_view::npos || text.front() == '.') {
    return fail("host pattern '" + std::string(text) + "' has an empty label");
  }
  std::string_view name = text;
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);  // the root dot
  auto pattern = TokenPattern::compile(
      name, TokenPattern::Syntax{.classes_and_escapes = false, .case_insensitive = true});
  if (!pattern.ok()) return fail(pattern.error().message);
  host.kind = HostSpec::Kind::name_glob;
  host.name = std::move(*pattern);
  return host;
}

Result<GrantSpec> parse_network(std::string_view pattern, const ErrorFactory& fail) {
  const size_t colon = pattern.find(':');
  const std::string_view direction = pattern.substr(0, colon);
  if (direction != "outbound") {
    if (all_digits(direction) || direction == "*") {
      return fail("the direction is missing (" + std::string(kNetworkForms) + ")");
    }
    return fail("network direction '" + std::string(direction) +
                "' is not supported; only 'outbound' is (" + std::string(kNetworkForms) + ")");
  }
  if (colon == std::string_view::npos) {
    return fail("the ports are missing (" + std::string(kNetworkForms) + ")");
  }
  const std::string_view rest = pattern.substr(colon + 1);
  if (rest.empty()) return fail("the ports are missing (" + std::string(kNetworkForms) + ")");

  // The host is everything before the LAST ':', so IPv6 hosts need no brackets ("::1:22"). With
  // brackets, the port separator must come after the ']'.
  std::string_view host_text;
  std::string_view ports_text = rest;
  bool host_given = false;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("'[' in the host is never closed by ']'");
    const size_t separator = rest.find(':', close);
    if (separator == std::string_view::npos) {
      return fail("the ports are missing after the host (" + std::string(kNetworkForms) + ")");
    }
    host_text = rest.substr(0, separator);
    ports_text = rest.substr(separator + 1);
    host_given = true;
  } else if (const size_t separator = rest.rfind(':'); separator != std::string_view::npos) {
    host_text = rest.substr(0, separator);
    ports_text = rest.substr(separator + 1);
    host_given = true;
  }

  NetworkGrantSpec spec;
  if (host_given) {
    auto host = parse_host(host_text, fail);
    if (!host.ok()) return host.error();
    spec.host = std::move(*host);
  }
  auto ports = parse_ports(ports_text, fail);
  if (!ports.ok()) {
    const char first = ports_text.empty() ? '\0' : ports_text.front();
    const bool looks_like_host = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') ||
                                 ports_text.find('.') != std::string_view::npos;
    if (!host_given && looks_like_host) {
      // "network:outbound:example.com": most likely a host whose ports were forgotten.
      return fail("'" + std::string(ports_text) +
                  "' is not a port list; a host needs ':<ports>' "
                  "after it (" +
                  std::string(kNetworkForms) + ")");
    }
    return ports.error();
  }
  spec.ports = std::move(*ports);
  return GrantSpec{std::move(spec)};
}

// ---------------------------------------------------------------------------------------------
// env and exec

Result<GrantSpec> parse_env(std::string_view pattern, const ErrorFactory& fail) {
  if (pattern.find('=') != std::string_view::npos) {
    return fail("a variable name cannot contain '='");
  }
  auto name = TokenPattern::compile(
      pattern, TokenPattern::Syntax{.classes_and_escapes = false, .case_insensitive = false});
  if (!name.ok()) return fail(name.error().message);
  return GrantSpec{EnvGrantSpec{std::move(*name)}};
}

Result<GrantSpec> parse_exec(std::string_view pattern, const ErrorFactory& fail) {
  ExecGrantSpec spec;
  if (pattern.front() == '/') {
    if (pattern.back() == '/') {
      return fail("'" + std::string(pattern) +
                  "' names a directory, not an executable (use '<dir>/*' for every program in it)");
    }
    auto parts = split_path_glob(pattern);
    if (!parts.ok()) return fail(parts.error().message);
    const std::string& final_segment = parts->segments.back();
    if (parts->first_wildcard == parts->segments.size() &&
        (final_segment == "." || final_segment == "..")) {
      return fail("'" + std::string(pattern) + "' names a directory, not an executable");
    }
    spec.path = std::move(*parts);
    return GrantSpec{std::move(spec)};
  }
  if (pattern.find('/') != std::string_view::npos) {
    return fail(
        "expected an absolute path ('/usr/bin/uname') or a bare name ('uname'), not the "
        "relative path '" +
        std::string(pattern) + "'");
  }
  if (pattern == "." || pattern == "..")
    return fail("'" + std::string(pattern) + "' is not a program name");
  auto name = TokenPattern::compile(pattern, TokenPattern::Syntax{});
  if (!name.ok()) return fail(name.error().message);
  spec.bare_name = true;
  spec.name = std::move(*name);
  return GrantSpec{std::move(spec)};
}

}  // namespace

Result<GrantSpec> parse_grant_spec(const Capability& capability) {
  const ErrorFactory fail(capability.to_string());
  if (capability.kind.find('\0') != std::string::npos ||
      capability.pattern.find('\0') != std::string::npos) {
    return fail("it contains a NUL byte");
  }
  const std::string_view pattern = capability.pattern;
  if (capability.kind != "fs" && capability.kind != "network" && capability.kind != "env" &&
      capability.kind != "exec") {
    return fail("unknown kind " + quote_for_message(capability.kind) +
                " (expected fs, network, env or exec)");
  }
  if (pattern.empty()) {
    return fail("the pattern after '" + capability.kind + ":' is empty");
  }
  if (capability.kind == "fs") return parse_fs(pattern, fail);
  if (capability.kind == "network") return parse_network(pattern, fail);
  if (capability.kind == "env") return parse_env(pattern, fail);
  return parse_exec(pattern, fail);
}

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMaxShown = 200;
  std::string quoted = "'";
  const std::string_view shown = text.substr(0, kMaxShown);
  for (const char c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      constexpr std::string_view kHex = "0123456789abcdef";
      quoted += "\\x";
      quoted += kHex[byte >> 4];
      quoted += kHex[byte & 0xf];
    } else {
      quoted += c;
    }
  }
  quoted += '\'';
  if (text.size() > kMaxShown) quoted += "... (" + std::to_string(text.size()) + " bytes)";
  return quoted;
}

std::string normalize_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  std::string normalized(host);
  for (char& c : normalized) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return normalized;
}

bool PortSet::contains(uint16_t port) const {
  if (port == 0) return false;
  if (any) return true;
  for (const auto& [low, high] : ranges) {
    if (port >= low && port <= high) return true;
  }
  return false;
}

}  // namespace reglet::capability_detail
