// dns_lookup: one DNS query (A, AAAA, CNAME, MX, TXT, NS) to a nameserver the plugin was granted.
// The destination of a DNS query is the nameserver, so that is what is checked:
// network:outbound:<nameserver address>:<port> (53 unless given). Without a nameserver, the
// system's resolvers (/etc/resolv.conf) are used, each checked; those not allowed are left out.
// The answer is evidence: NXDOMAIN and "no such record" are is_not_found, a nameserver that does
// not answer within timeout_ms is is_timeout; only the call's own deadline is a timeout error.
#include <arpa/nameser.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "runtime/host/dns_channel.h"
#include "runtime/host/handlers.h"
#include "runtime/host/net_policy.h"

namespace reglet::runtime::host {
namespace {

constexpr std::string_view kFn = "dns_lookup";
constexpr int64_t kDefaultTimeoutMs = 5000;
constexpr size_t kMaxRecords = 1024;
constexpr size_t kMaxNameserverText = net::kMaxHostLength + 8;

struct RecordType {
  std::string_view name;
  int code;
};
constexpr RecordType kTypes[] = {
    {"A", ns_t_a},   {"AAAA", ns_t_aaaa}, {"CNAME", ns_t_cname},
    {"MX", ns_t_mx}, {"TXT", ns_t_txt},   {"NS", ns_t_ns},
};

std::string rcode_name(int rcode) {
  switch (rcode) {
    case 0:
      return "NOERROR";
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    default:
      return "RCODE" + std::to_string(rcode);
  }
}

struct Answer {
  std::vector<std::string> records;
  nlohmann::json mx = nlohmann::json::array();
  int status = ARES_SUCCESS;  // ARES_ENODATA when the answer holds no record of the type
};

struct AresString {
  char* text = nullptr;
  ~AresString() {
    if (text != nullptr) ares_free_string(text);
  }
};

// CNAME has no c-ares parser: walk the answer section ourselves (names through ares_expand_name,
// which handles compression and bounds).
Answer parse_cname(const unsigned char* abuf, int alen) {
  Answer answer;
  answer.status = ARES_EBADRESP;
  if (alen < 12) return answer;
  const int questions = (abuf[4] << 8) | abuf[5];
  const int answers = (abuf[6] << 8) | abuf[7];
  int offset = 12;
  for (int i = 0; i < questions; ++i) {
    AresString name;
    long length = 0;
    if (ares_expand_name(abuf + offset, abuf, alen, &name.text, &length) != ARES_SUCCESS) {
      return answer;
    }
    offset += static_cast<int>(length) + 4;
    if (offset > alen) return answer;
  }
  for (int i = 0; i < answers; ++i) {
    AresString name;
    long length = 0;
    if (ares_expand_name(abuf + offset, abuf, alen, &name.text, &length) != ARES_SUCCESS) {
      return answer;
    }
    offset += static_cast<int>(length);
    if (offset + 10 > alen) return answer;
    const int type = (abuf[offset] << 8) | abuf[offset + 1];
    const int rdlength = (abuf[offset + 8] << 8) | abuf[offset + 9];
    offset += 10;
    if (offset + rdlength > alen) return answer;
    if (type == ns_t_cname && answer.records.size() < kMaxRecords) {
      AresString target;
      long target_length = 0;
      if (ares_expand_name(abuf + offset, abuf, alen, &target.text, &target_length) ==
          ARES_SUCCESS) {
        answer.records.emplace_back(target.text);
      }
    }
    offset += rdlength;
  }
  answer.status = answer.records.empty() ? ARES_ENODATA : ARES_SUCCESS;
  return answer;
}

Answer parse_answer(int type, const unsigned char* abuf, int alen) {
  Answer answer;
  switch (type) {
    case ns_t_a:
    case ns_t_aaaa: {
      std::vector<ares_addrttl> v4(kMaxRecords);
      std::vector<ares_addr6ttl> v6(kMaxRecords);
      int count = static_cast<int>(kMaxRecords);
      answer.status = type == ns_t_a
                          ? ares_parse_a_reply(abuf, alen, nullptr, v4.data(), &count)
                          : ares_parse_aaaa_reply(abuf, alen, nullptr, v6.data(), &count);
      if (answer.status != ARES_SUCCESS) return answer;
      for (int i = 0; i < count; ++i) {
        char text[INET6_ADDRSTRLEN] = {};
        const void* address = type == ns_t_a ? static_cast<const void*>(&v4[i].ipaddr)
                                             : static_cast<const void*>(&v6[i].ip6addr);
        if (ares_inet_ntop(type == ns_t_a ? AF_INET : AF_INET6, address, text, sizeof text)) {
          answer.records.emplace_back(text);
        }
      }
      break;
    }
    case ns_t_cname:
      return parse_cname(abuf, alen);
    case ns_t_mx: {
      ares_mx_reply* list = nullptr;
      answer.status = ares_parse_mx_reply(abuf, alen, &list);
      if (answer.status != ARES_SUCCESS) return answer;
      for (auto* mx = list; mx != nullptr && answer.records.size() < kMaxRecords; mx = mx->next) {
        answer.records.push_back(std::to_string(mx->priority) + " " + mx->host);
        answer.mx.push_back({{"host", mx->host}, {"pref", mx->priority}});
      }
      ares_free_data(list);
      break;
    }
    case ns_t_txt: {
      ares_txt_ext* list = nullptr;
      answer.status = ares_parse_txt_reply_ext(abuf, alen, &list);
      if (answer.status != ARES_SUCCESS) return answer;
      // A TXT record is a list of strings; like Go's LookupTXT, one record is their
      // concatenation.
      for (auto* txt = list; txt != nullptr; txt = txt->next) {
        if (txt->record_start || answer.records.empty()) {
          if (answer.records.size() >= kMaxRecords) break;
          answer.records.emplace_back();
        }
        answer.records.back().append(reinterpret_cast<const char*>(txt->txt), txt->length);
      }
      ares_free_data(list);
      break;
    }
    case ns_t_ns: {
      hostent* host = nullptr;
      answer.status = ares_parse_ns_reply(abuf, alen, &host);
      if (answer.status != ARES_SUCCESS) return answer;
      for (char** alias = host->h_aliases; alias != nullptr && *alias != nullptr; ++alias) {
        if (answer.records.size() >= kMaxRecords) break;
        answer.records.emplace_back(*alias);
      }
      ares_free_hostent(host);
      break;
    }
    default:
      answer.status = ARES_ENOTIMP;
  }
  if (answer.status == ARES_SUCCESS && answer.records.empty()) answer.status = ARES_ENODATA;
  return answer;
}

}  // namespace

Result<nlohmann::json> dns_lookup(InstanceContext& context, engine::Caller& caller,
                                  const nlohmann::json& request) {
  auto hostname = net::get_string(request, kFn, "hostname", net::kMaxHostLength + 1, true);
  if (!hostname.ok()) return hostname.error();
  auto name = net::parse_host(*hostname, kFn, "hostname");
  if (!name.ok()) return name.error();
  if (name->literal) {
    return make_error(ErrorCode::invalid_argument,
                      "dns_lookup: hostname must be a DNS name, not an IP address");
  }
  auto type_text = net::get_string(request, kFn, "type", 16, false, "A");
  if (!type_text.ok()) return type_text.error();
  std::string upper = *type_text;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const RecordType* type = nullptr;
  for (const RecordType& candidate : kTypes) {
    if (candidate.name == upper) type = &candidate;
  }
  if (type == nullptr) {
    return make_error(ErrorCode::invalid_argument,
                      "dns_lookup: type must be one of A, AAAA, CNAME, MX, TXT, NS");
  }
  auto nameserver_text = net::get_string(request, kFn, "nameserver", kMaxNameserverText, false);
  if (!nameserver_text.ok()) return nameserver_text.error();
  auto timeout = net::get_timeout(request, kFn, kDefaultTimeoutMs);
  if (!timeout.ok()) return timeout.error();

  const auto started = net::Clock::now();
  const net::Deadline deadline(caller.control(), *timeout);
  nlohmann::json audit_request = {{"hostname", *hostname}, {"type", type->name}};
  if (!nameserver_text->empty()) audit_request["nameserver"] = *nameserver_text;

  nlohmann::json response = {
      {"records", nlohmann::json::array()}, {"is_not_found", false}, {"is_timeout", false}};
  auto finish = [&]() {
    response["query_time_ms"] = net::elapsed_ms(started);
    return response;
  };

  // Where the query goes, checked before anything is sent.
  std::optional<net::Destination> explicit_server;
  if (!nameserver_text->empty()) {
    auto parsed = net::parse_host_port(*nameserver_text, 53, kFn, "nameserver");
    if (!parsed.ok()) return parsed.error();
    auto destination = net::resolve_and_check(context, kFn, audit_request, parsed->first,
                                              parsed->second, deadline);
    if (!destination.ok()) return destination.error();
    if (!destination->lookup_error.empty()) {
      response["error"] = "nameserver: " + destination->lookup_error;
      response["is_timeout"] = destination->lookup_timed_out;
      return finish();
    }
    explicit_server = std::move(*destination);
  }

  struct QueryState {
    bool done = false;
    int status = ARES_SUCCESS;
    std::vector<unsigned char> answer;
  } state;  // declared before the channel: ares_destroy may still run its callback

  ares_options options{};
  options.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
  options.tries = 2;
  options.timeout =
      static_cast<int>(std::clamp<int64_t>(deadline.remaining().count() / 2, 50, 5000));
  auto channel =
      net::AresChannel::create(options, ARES_OPT_FLAGS | ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS,
                               std::vector<net::Nameserver>{});
  if (!channel.ok()) return channel.error();

  std::vector<net::Nameserver> servers;
  if (explicit_server) {
    for (const IpAddress& address : explicit_server->addresses) {
      servers.push_back({address, explicit_server->port});
    }
  } else {
    const auto system_servers = (*channel)->servers();
    if (system_servers.empty()) {
      return make_error(ErrorCode::io_error, "dns_lookup: no system nameserver is configured");
    }
    std::optional<Decision> first_denial;
    for (const net::Nameserver& server : system_servers) {
      Decision decision = net::check_address(
          context, kFn, audit_request, server.address.to_string(), server.address, server.port);
      if (decision.allowed) {
        servers.push_back(server);
      } else if (!first_denial) {
        first_denial = std::move(decision);
      }
    }
    if (servers.empty()) return first_denial->error();
  }
  if (auto set = (*channel)->set_servers(servers); !set.ok()) return set.error();
  response["nameserver"] = net::format_endpoint(servers.front().address, servers.front().port);

  ares_query((*channel)->get(), name->text.c_str(), ns_c_in, type->code,
             [](void* arg, int status, int, unsigned char* abuf, int alen) {
               auto* s = static_cast<QueryState*>(arg);
               s->done = true;
               s->status = status;
               if (abuf != nullptr && alen > 0) s->answer.assign(abuf, abuf + alen);
             },
             &state);
  const net::Stop stop = (*channel)->run([&] { return state.done; }, deadline);
  if ((*channel)->guard_tripped()) {
    return make_error(ErrorCode::internal,
                      "dns_lookup: the resolver tried to reach a nameserver that was not checked");
  }
  if (stop == net::Stop::call_timeout || stop == net::Stop::cancelled) {
    return net::stop_error(stop, kFn, "waiting for the nameserver");
  }
  if (stop == net::Stop::op_timeout || state.status == ARES_ETIMEOUT) {
    response["is_timeout"] = true;
    response["error"] = "the nameserver did not answer in time";
    return finish();
  }

  int status = state.status;
  if (state.answer.size() >= 12) response["rcode"] = rcode_name(state.answer[3] & 0x0f);
  if (status == ARES_SUCCESS) {
    Answer answer =
        parse_answer(type->code, state.answer.data(), static_cast<int>(state.answer.size()));
    status = answer.status;
    if (status == ARES_SUCCESS) {
      response["records"] = answer.records;
      if (type->code == ns_t_mx) response["mx_records"] = std::move(answer.mx);
      return finish();
    }
  }
  switch (status) {
    case ARES_ENOTFOUND:  // NXDOMAIN
    case ARES_ENODATA:    // the name exists, without a record of this type
      response["is_not_found"] = true;
      if (type->code == ns_t_mx) response["mx_records"] = nlohmann::json::array();
      break;
    default:
      response["error"] = std::string("DNS query failed: ") + ares_strerror(status);
  }
  return finish();
}

}  // namespace reglet::runtime::host
