#include "check/needs.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>

namespace reglet::check {
namespace {

std::string network_capability(const IpAddress& address, uint16_t port) {
  const std::string host = address.is_v4() ? address.to_string() : "[" + address.to_string() + "]";
  return "network:outbound:" + host + ":" + std::to_string(port);
}

// Addresses of a host: an IP literal as is, a name through the system resolver (which reads
// /etc/hosts first). Empty when the name does not resolve.
std::vector<IpAddress> resolve(const std::string& host) {
  if (auto literal = IpAddress::parse(host)) return {*literal};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  std::vector<IpAddress> out;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &results) != 0) return out;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(results, &freeaddrinfo);
  char text[INET6_ADDRSTRLEN + 1];
  for (addrinfo* ai = results; ai; ai = ai->ai_next) {
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) == 0) {
      if (auto address = IpAddress::parse(text)) {
        if (std::find(out.begin(), out.end(), *address) == out.end()) out.push_back(*address);
      }
    }
  }
  return out;
}

void network_needs(const std::string& host, uint16_t port, const GrantSet& grants,
                   std::vector<Need>& needs) {
  const auto addresses = resolve(host);
  if (addresses.empty()) {
    needs.push_back({"network:outbound:" + host + ":" + std::to_string(port), true,
                     "does not resolve now; checked when the plugin connects"});
    return;
  }
  // The runtime connects to the addresses that are allowed; one is enough.
  std::vector<Need> denied;
  for (const IpAddress& address : addresses) {
    Decision decision = CapabilityManager::check_network(grants, host, address, port);
    if (decision.allowed) return;
    denied.push_back({network_capability(address, port), false, {}});
  }
  needs.insert(needs.end(), denied.begin(), denied.end());
}

std::vector<std::string> system_nameservers() {
  std::vector<std::string> servers;
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, address;
    if (words >> keyword >> address && keyword == "nameserver") servers.push_back(address);
  }
  return servers;
}

// A port as a number or, as Reglet's tcp plugin takes it (and as a variable substituted into a
// longer string gives it), a decimal string. Nothing when it is not a valid port: the need cannot
// be worked out, and the host refuses the bad port at the call.
std::optional<uint16_t> port_of(const nlohmann::json& value) {
  int64_t port = 0;
  if (value.is_number_integer()) {
    port = value.get<int64_t>();
  } else if (value.is_string()) {
    static const std::regex kDecimal("[0-9]{1,5}");
    const std::string text = value.get<std::string>();
    if (!std::regex_match(text, kDecimal)) return std::nullopt;
    port = std::stoll(text);
  } else {
    return std::nullopt;
  }
  if (port > 0 && port < 65536) return static_cast<uint16_t>(port);
  return std::nullopt;
}

}  // namespace

nlohmann::json absolutize_paths(const std::string& plugin, nlohmann::json config) {
  auto fix = [&](const char* key) {
    if (config.contains(key) && config[key].is_string()) {
      const std::string value = config[key].get<std::string>();
      if (!value.empty() && value[0] != '/') {
        config[key] = (std::filesystem::current_path() / value).lexically_normal().string();
      }
    }
  };
  if (plugin == "file") fix("path");
  if (plugin == "command") fix("dir");
  return config;
}

std::vector<Need> builtin_needs(const std::string& plugin, const nlohmann::json& config,
                                const GrantSet& grants) {
  std::vector<Need> needs;
  auto add = [&](const Decision& decision) {
    needs.push_back({decision.capability, decision.allowed, decision.reason});
  };
  auto text = [&](const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };

  if (plugin == "file") {
    add(CapabilityManager::check_fs(grants, FsAccess::read, text("path")));
  } else if (plugin == "command") {
    add(CapabilityManager::check_exec(grants, config.contains("run") ? "/bin/sh" : text("command")));
    if (auto env = config.find("env"); env != config.end() && env->is_object()) {
      for (const auto& [name, value] : env->items()) add(CapabilityManager::check_env(grants, name));
    }
    if (config.contains("dir")) add(CapabilityManager::check_fs(grants, FsAccess::read, text("dir")));
  } else if (plugin == "env") {
    add(CapabilityManager::check_env(grants, text("name")));
  } else if (plugin == "tcp") {
    if (auto port = port_of(config.value("port", nlohmann::json()))) {
      network_needs(text("host"), *port, grants, needs);
    }
  } else if (plugin == "dns") {
    const std::string nameserver = text("nameserver");
    if (!nameserver.empty()) {
      // host:port, [v6]:port, or a bare host (port 53)
      static const std::regex kHostPort(R"(^\[?([^\]]+?)\]?(?::(\d+))?$)");
      std::smatch match;
      if (std::regex_match(nameserver, match, kHostPort)) {
        const uint16_t port =
            match[2].matched ? static_cast<uint16_t>(std::stoi(match[2].str())) : 53;
        network_needs(match[1].str(), port, grants, needs);
      }
    } else {
      for (const std::string& server : system_nameservers()) network_needs(server, 53, grants, needs);
    }
  } else if (plugin == "http") {
    static const std::regex kUrl(R"(^(https?)://(\[[^\]]+\]|[^:/?#]+)(?::(\d+))?)",
                                 std::regex::icase);
    std::smatch match;
    const std::string url = text("url");
    if (std::regex_search(url, match, kUrl)) {
      std::string host = match[2].str();
      if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
      const bool https = match[1].str().size() == 5;
      const uint16_t port = match[3].matched ? static_cast<uint16_t>(std::stoi(match[3].str()))
                                             : (https ? 443 : 80);
      network_needs(host, port, grants, needs);
    }
  }
  return needs;
}

std::vector<Need> declared_needs(const PluginInfo& info, const GrantSet& grants) {
  std::vector<Need> needs;
  for (const Capability& declared : info.capabilities) {
    const std::string text = declared.to_string();
    bool granted = false;
    for (const Capability& grant : grants.capabilities()) granted = granted || grant.to_string() == text;
    needs.push_back({text, granted, {}});
  }
  return needs;
}

}  // namespace reglet::check
