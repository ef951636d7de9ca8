// Capabilities (SPEC §3): parsing, canonicalisation and matching. Deny by default: a request is
// allowed only when a grant given to that plugin matches it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "reglet/error.h"

namespace reglet {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are stored as IPv4.
struct IpAddress {
  enum class Family : uint8_t { v4, v6 };
  Family family = Family::v4;
  std::array<uint8_t, 16> bytes{};  // network byte order; IPv4 uses the first four

  static std::optional<IpAddress> parse(std::string_view text);  // "1.2.3.4", "::1", "[::1]"
  std::string to_string() const;                                 // canonical text, no brackets
  bool is_v4() const { return family == Family::v4; }
  // Loopback, private (RFC 1918, CGNAT 100.64/10, IPv6 ULA fc00::/7), link-local (169.254/16
  // with cloud metadata, fe80::/10), unspecified, multicast, broadcast and reserved ranges, and
  // their IPv6 counterparts (including NAT64 64:ff9b::/96 of a special IPv4 address). Reachable
  // only through a grant that names the address or its range as an IP or CIDR.
  bool is_special() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// A capability as written: "kind:pattern", e.g. "fs:read:/etc/**" is {fs, "read:/etc/**"}.
struct Capability {
  std::string kind;
  std::string pattern;

  // Validates the grammar of SPEC §3 for the four kinds (fs, network, env, exec) and explains
  // what is wrong in the error (invalid_argument).
  static Result<Capability> parse(std::string_view text);
  std::string to_string() const { return kind + ":" + pattern; }
  friend bool operator==(const Capability&, const Capability&) = default;
  friend auto operator<=>(const Capability&, const Capability&) = default;
};

enum class FsAccess : uint8_t { read, write };

// Makes `path` absolute (relative paths against `base`), removes "." and "..", and resolves every
// symlink (at most 40 hops). For a path that does not exist, the longest existing prefix is
// resolved and the rest is appended lexically. Fails (invalid_argument) on empty paths, NUL
// bytes or symlink loops.
Result<std::string> canonicalize_path(std::string_view path, std::string_view base = "/");

// The fixed search path for bare executable names (never the caller's PATH).
inline constexpr std::string_view kExecSearchPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Resolves the path to execute: a bare name is looked up in kExecSearchPath (first existing,
// executable regular file); an absolute path is taken as given. Symlinks are resolved in the
// directory part only, never in the final name. Relative paths with a '/' are rejected.
Result<std::string> resolve_executable(std::string_view command);

// The grants of one plugin, compiled for matching. Matching functions take already resolved
// inputs (canonical path, resolved executable, resolved address) and do no I/O.
class GrantSet {
 public:
  // Adds a grant. An fs grant is canonicalised up to its first wildcard segment, so that
  // fs:read:/lib/** matches /usr/lib/... where /lib links to /usr/lib.
  Status add(const Capability& capability);
  const std::vector<Capability>& capabilities() const { return capabilities_; }
  bool empty() const { return capabilities_.empty(); }

  bool allows_fs(FsAccess access, std::string_view canonical_path) const;
  bool allows_env(std::string_view name) const;
  bool allows_exec(std::string_view resolved_path) const;
  // `host` is the name the request used (or the address literal); `address` is one resolved
  // address of it. Special addresses only match IP/CIDR grants.
  bool allows_network(std::string_view host, const IpAddress& address, uint16_t port) const;

  struct Matcher;  // implementation detail, public for the implementation file

 private:
  std::vector<Capability> capabilities_;
  std::vector<std::shared_ptr<const Matcher>> matchers_;
};

// The outcome of a check, with what was needed in capability form for messages and audit.
struct Decision {
  bool allowed = false;
  std::string capability;  // e.g. "fs:read:/etc/shadow", "network:outbound:10.0.0.1:22"
  std::string resolved;    // canonical path, resolved executable or checked address
  // Why the request could not even be checked (the executable does not exist, the path has a
  // symlink loop, the variable name is malformed); empty when it was simply not granted.
  std::string reason;
  Error error() const;  // capability_denied naming `capability` (and `reason`, if any)
};

// Grants by plugin name. Thread-safe: grants may be added while other threads check.
class CapabilityManager {
 public:
  Status grant(std::string_view plugin, std::string_view capability_text);
  Status grant(std::string_view plugin, const Capability& capability);
  // A snapshot of one plugin's grants (an empty set when it has none).
  std::shared_ptr<const GrantSet> grants(std::string_view plugin) const;

  // Checks that canonicalise first (SPEC §3) and then match.
  static Decision check_fs(const GrantSet& grants, FsAccess access, std::string_view path,
                           std::string_view base = "/");
  static Decision check_env(const GrantSet& grants, std::string_view name);
  static Decision check_exec(const GrantSet& grants, std::string_view command);
  static Decision check_network(const GrantSet& grants, std::string_view host,
                                const IpAddress& address, uint16_t port);

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const GrantSet>, std::less<>> grants_;
};

}  // namespace reglet
