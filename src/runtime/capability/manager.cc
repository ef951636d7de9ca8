// CapabilityManager: grants by plugin, and the checks that resolve a request before matching it.
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "reglet/capability.h"
#include "runtime/capability/grammar.h"
#include "runtime/capability/network.h"

namespace reglet {
namespace {

// Request text goes into messages and audit logs as is, unless it holds control bytes (a NUL, a
// newline) that could garble them.
std::string printable(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return capability_detail::quote_for_message(text);
  }
  return std::string(text);
}

}  // namespace

Error Decision::error() const {
  std::string message = "capability denied: " + capability;
  if (reason.empty()) {
    message += " is not granted";
  } else {
    message += ": " + reason;
  }
  return make_error(ErrorCode::capability_denied, std::move(message));
}

Status CapabilityManager::grant(std::string_view plugin, std::string_view capability_text) {
  auto capability = Capability::parse(capability_text);
  if (!capability.ok()) return capability.error();
  return grant(plugin, *capability);
}

Status CapabilityManager::grant(std::string_view plugin, const Capability& capability) {
  if (plugin.empty()) return make_error(ErrorCode::invalid_argument, "plugin name is empty");
  // Copy-on-write: readers keep whatever snapshot they hold. The new set is built outside the
  // lock because add() resolves paths (file system I/O); if another grant for the same plugin
  // landed meanwhile, start again from its result rather than overwrite it.
  while (true) {
    std::shared_ptr<const GrantSet> current;
    {
      std::shared_lock lock(mutex_);
      if (auto found = grants_.find(plugin); found != grants_.end()) current = found->second;
    }
    auto updated = current ? std::make_shared<GrantSet>(*current) : std::make_shared<GrantSet>();
    if (auto status = updated->add(capability); !status.ok()) return status;

    std::unique_lock lock(mutex_);
    auto found = grants_.find(plugin);
    const std::shared_ptr<const GrantSet> now = found == grants_.end() ? nullptr : found->second;
    if (now != current) continue;
    if (found == grants_.end()) {
      grants_.emplace(std::string(plugin), std::move(updated));
    } else {
      found->second = std::move(updated);
    }
    return {};
  }
}

std::shared_ptr<const GrantSet> CapabilityManager::grants(std::string_view plugin) const {
  {
    std::shared_lock lock(mutex_);
    if (auto found = grants_.find(plugin); found != grants_.end()) return found->second;
  }
  static const auto kNoGrants = std::make_shared<const GrantSet>();
  return kNoGrants;
}

Decision CapabilityManager::check_fs(const GrantSet& grants, FsAccess access, std::string_view path,
                                     std::string_view base) {
  const std::string prefix = access == FsAccess::read ? "fs:read:" : "fs:write:";
  Decision decision;
  auto canonical = canonicalize_path(path, base);
  if (!canonical.ok()) {
    decision.capability = prefix + printable(path);
    decision.reason = canonical.error().message;
    return decision;
  }
  decision.capability = prefix + *canonical;
  decision.allowed = grants.allows_fs(access, *canonical);
  decision.resolved = std::move(*canonical);
  return decision;
}

Decision CapabilityManager::check_env(const GrantSet& grants, std::string_view name) {
  Decision decision;
  decision.capability = "env:" + printable(name);
  decision.resolved = std::string(name);
  if (name.empty() || name.find('=') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    decision.reason = "not a valid variable name (empty, or contains '=' or a NUL byte)";
    return decision;
  }
  decision.allowed = grants.allows_env(name);
  return decision;
}

Decision CapabilityManager::check_exec(const GrantSet& grants, std::string_view command) {
  Decision decision;
  auto resolved = resolve_executable(command);
  if (!resolved.ok()) {
    decision.capability = "exec:" + printable(command);
    decision.reason = resolved.error().message;
    return decision;
  }
  decision.capability = "exec:" + *resolved;
  decision.allowed = grants.allows_exec(*resolved);
  decision.resolved = std::move(*resolved);
  return decision;
}

Decision CapabilityManager::check_network(const GrantSet& grants, std::string_view host,
                                          const IpAddress& address, uint16_t port) {
  Decision decision;
  decision.capability = "network:outbound:" + capability_detail::address_for_capability(address) +
                        ":" + std::to_string(port);
  decision.resolved = address.to_string();
  decision.allowed = grants.allows_network(host, address, port);
  return decision;
}

}  // namespace reglet
