// GrantSet: capabilities compiled into matchers. Resolution of the grants themselves (symlinks in
// their literal prefix) happens once, here in add(); matching afterwards does no I/O.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <optional>
#include <variant>
#include <vector>

#include "reglet/capability.h"
#include "runtime/capability/glob.h"
#include "runtime/capability/grammar.h"
#include "runtime/capability/network.h"

namespace reglet {

using capability_detail::ExecGrantSpec;
using capability_detail::FsGrantSpec;
using capability_detail::GrantSpec;
using capability_detail::HostSpec;
using capability_detail::NetworkGrantSpec;
using capability_detail::PathGlob;
using capability_detail::PathGlobParts;
using capability_detail::TokenPattern;

struct GrantSet::Matcher {
  struct Fs {
    FsAccess access;
    PathGlob glob;
    // For a fully literal grant whose last component is a symlink: the link itself (directory
    // part resolved, name kept), which is what lstat/readlink of that path check. Matching it
    // for followed requests grants nothing more: a resolved path never ends in a symlink.
    std::optional<PathGlob> link;
  };
  struct Env {
    TokenPattern name;
  };
  struct ExecPath {
    PathGlob glob;
  };
  struct ExecName {
    TokenPattern name;
    std::vector<std::string> directories;  // the search path, each directory resolved
  };
  using Network = NetworkGrantSpec;

  std::variant<Fs, Env, ExecPath, ExecName, Network> rule;
};

namespace {

// Resolves the literal part of a path glob (everything before its first wildcard segment) the way
// requests are resolved, so that the grant and the request meet in the same namespace:
// "/lib/**" becomes "/usr/lib/**" where /lib links to /usr/lib. With `keep_final_name`, the last
// segment is never resolved even when literal (exec: the name executed is the name checked).
Result<PathGlob> resolve_path_glob(const PathGlobParts& parts, bool keep_final_name,
                                   const std::string& capability_text) {
  size_t literal_count = parts.first_wildcard;
  if (keep_final_name && literal_count == parts.segments.size() && literal_count > 0) {
    --literal_count;
  }
  std::string prefix = "/";
  for (size_t i = 0; i < literal_count; ++i) {
    if (i > 0) prefix += '/';
    prefix += parts.literal_prefix[i];
  }
  auto canonical = canonicalize_path(prefix);
  if (!canonical.ok()) {
    return make_error(ErrorCode::invalid_argument,
                      "cannot resolve grant " +
                          capability_detail::quote_for_message(capability_text) + ": " +
                          canonical.error().message);
  }
  const std::vector<std::string> rest(parts.segments.begin() + static_cast<long>(literal_count),
                                      parts.segments.end());
  auto glob = PathGlob::compile(capability_detail::join_path_glob(*canonical, rest));
  if (!glob.ok()) {
    return make_error(ErrorCode::invalid_argument,
                      "grant " + capability_detail::quote_for_message(capability_text) +
                          " resolves to an unusable pattern: " + glob.error().message);
  }
  return glob;
}

std::vector<std::string> resolved_search_directories() {
  std::vector<std::string> directories;
  std::string_view search = kExecSearchPath;
  while (!search.empty()) {
    const size_t colon = search.find(':');
    const std::string_view directory = search.substr(0, colon);
    search = colon == std::string_view::npos ? std::string_view() : search.substr(colon + 1);
    auto canonical = canonicalize_path(directory);
    // A directory that cannot be resolved cannot hold a resolved executable either.
    if (!canonical.ok()) continue;
    if (std::find(directories.begin(), directories.end(), *canonical) == directories.end()) {
      directories.push_back(std::move(*canonical));
    }
  }
  return directories;
}

Result<GrantSet::Matcher> build_matcher(GrantSpec spec, const std::string& capability_text) {
  using Matcher = GrantSet::Matcher;
  if (auto* fs = std::get_if<FsGrantSpec>(&spec)) {
    auto glob = resolve_path_glob(fs->path, /*keep_final_name=*/false, capability_text);
    std::optional<PathGlob> link;
    if (glob && fs->path.first_wildcard == fs->path.segments.size()) {
      auto literal = resolve_path_glob(fs->path, /*keep_final_name=*/true, capability_text);
      if (literal) link = std::move(*literal);
    }
    if (!glob.ok()) return glob.error();
    return Matcher{Matcher::Fs{fs->access, std::move(*glob), std::move(link)}};
  }
  if (auto* exec = std::get_if<ExecGrantSpec>(&spec)) {
    if (exec->bare_name) {
      return Matcher{Matcher::ExecName{std::move(exec->name), resolved_search_directories()}};
    }
    auto glob = resolve_path_glob(exec->path, /*keep_final_name=*/true, capability_text);
    if (!glob.ok()) return glob.error();
    return Matcher{Matcher::ExecPath{std::move(*glob)}};
  }
  if (auto* env = std::get_if<capability_detail::EnvGrantSpec>(&spec)) {
    return Matcher{Matcher::Env{std::move(env->name)}};
  }
  return Matcher{std::get<NetworkGrantSpec>(std::move(spec))};
}

}  // namespace

Status GrantSet::add(const Capability& capability) {
  auto spec = capability_detail::parse_grant_spec(capability);
  if (!spec.ok()) return spec.error();
  // Granting the same thing twice changes nothing; keep the list free of repeats.
  if (std::find(capabilities_.begin(), capabilities_.end(), capability) != capabilities_.end()) {
    return {};
  }
  auto matcher = build_matcher(std::move(*spec), capability.to_string());
  if (!matcher.ok()) return matcher.error();
  capabilities_.push_back(capability);
  matchers_.push_back(std::make_shared<const Matcher>(std::move(*matcher)));
  return {};
}

bool GrantSet::allows_fs(FsAccess access, std::string_view canonical_path) const {
  for (const auto& matcher : matchers_) {
    const auto* fs = std::get_if<Matcher::Fs>(&matcher->rule);
    if (fs != nullptr && fs->access == access &&
        (fs->glob.matches(canonical_path) || (fs->link && fs->link->matches(canonical_path)))) {
      return true;
    }
  }
  return false;
}

bool GrantSet::allows_env(std::string_view name) const {
  if (name.empty() || name.find('=') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return false;  // not a variable name at all
  }
  for (const auto& matcher : matchers_) {
    const auto* env = std::get_if<Matcher::Env>(&matcher->rule);
    if (env != nullptr && env->name.matches(name)) return true;
  }
  return false;
}

bool GrantSet::allows_exec(std::string_view resolved_path) const {
  if (resolved_path.empty() || resolved_path.front() != '/') return false;
  const size_t last_slash = resolved_path.rfind('/');
  const std::string_view directory =
      last_slash == 0 ? std::string_view("/") : resolved_path.substr(0, last_slash);
  const std::string_view name = resolved_path.substr(last_slash + 1);
  for (const auto& matcher : matchers_) {
    if (const auto* path = std::get_if<Matcher::ExecPath>(&matcher->rule)) {
      if (path->glob.matches(resolved_path)) return true;
    } else if (const auto* bare = std::get_if<Matcher::ExecName>(&matcher->rule)) {
      if (name.empty() || !bare->name.matches(name)) continue;
      for (const std::string& allowed_directory : bare->directories) {
        if (allowed_directory == directory) return true;
      }
    }
  }
  return false;
}

bool GrantSet::allows_network(std::string_view host, const IpAddress& address,
                              uint16_t port) const {
  const bool special = address.is_special();
  const std::string normalized_host = capability_detail::normalize_host(host);
  for (const auto& matcher : matchers_) {
    const auto* network = std::get_if<Matcher::Network>(&matcher->rule);
    if (network == nullptr || !network->ports.contains(port)) continue;
    switch (network->host.kind) {
      case HostSpec::Kind::any_public:
        if (!special) return true;
        break;
      case HostSpec::Kind::name_glob:
        // A name says nothing about where it resolves to; a name that happens to resolve into a
        // private or loopback range must not reach it (SPEC §3).
        if (!special && network->host.name.matches(normalized_host)) return true;
        break;
      case HostSpec::Kind::address:
        if (address == network->host.address) return true;
        break;
      case HostSpec::Kind::network:
        if (capability_detail::address_in_network(address, network->host.address,
                                                  network->host.prefix_length)) {
          return true;
        }
        break;
    }
  }
  return false;
}

}  // namespace reglet
