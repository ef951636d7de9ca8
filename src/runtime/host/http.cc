// http_request: one HTTP(S) request with libcurl, where every destination is checked first.
//
// libcurl never follows a redirect or resolves a name itself here:
//   - FOLLOWLOCATION is off; we follow redirects (at most 10), re-resolving and re-checking every
//     hop, so a redirect to a denied destination (another port, 169.254.169.254, a private
//     address) stops the request with capability_denied naming it;
//   - each hop's checked addresses are handed to curl with CURLOPT_RESOLVE (no lookup of its
//     own), and an OPENSOCKETFUNCTION refuses any connection to an address that was not checked
//     (defence in depth; it also makes every socket close-on-exec);
//   - only http and https, no proxy from the environment, no .netrc, no cookies, HSTS or
//     alt-svc files, no signals;
//   - a progress callback stops the transfer at the call's deadline or cancellation, and the
//     body goes into a buffer bounded by max_body_bytes (at most the runtime's
//     max_host_response_bytes, 16 MiB by default), truncated and said so beyond it.
#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>

#include "runtime/host/handlers.h"
#include "runtime/host/net_policy.h"
#include "runtime/host/net_tls.h"

namespace reglet::runtime::host {
namespace {

constexpr std::string_view kFn = "http_request";
constexpr int64_t kDefaultTimeoutMs = 30'000;
constexpr int kMaxRedirects = 10;
constexpr size_t kMaxUrlLength = 8192;
constexpr size_t kMaxMethodLength = 32;
constexpr size_t kMaxRequestHeaders = 100;
constexpr size_t kMaxRequestHeaderBytes = 64 * 1024;
constexpr size_t kMaxResponseHeaderBytes = 256 * 1024;  // kept of one response's headers

using net::Deadline;
using net::Stop;

// --- RAII for libcurl ---

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct CurluDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using CurluPtr = std::unique_ptr<CURLU, CurluDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// A string libcurl allocated.
struct CurlString {
  char* text = nullptr;
  ~CurlString() { curl_free(text); }
  std::string str() const { return text != nullptr ? text : ""; }
};

class Slist {
 public:
  bool append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_.get(), line.c_str());
    if (next == nullptr) return false;
    list_.release();
    list_.reset(next);
    return true;
  }
  curl_slist* get() const { return list_.get(); }

 private:
  SlistPtr list_;
};

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::string(kFn) + ": " + std::move(message));
}
Error io_error(std::string message) {
  return make_error(ErrorCode::io_error, std::string(kFn) + ": " + std::move(message));
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_token(std::string_view text) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

// --- URLs ---

struct Url {
  CurluPtr handle;
  std::string scheme;
  net::HostName host;
  uint16_t port = 0;
  std::string shown;  // for responses and audit: without user:password
};

std::optional<std::string> url_part(CURLU* url, CURLUPart part, unsigned flags = 0) {
  CurlString value;
  if (curl_url_get(url, part, &value.text, flags) != CURLUE_OK) return std::nullopt;
  return value.str();
}

// Parses `text`, relative to `base` when given (a redirect's Location). Errors are plain
// messages; the caller decides the code (invalid_argument for the request, io_error for a
// server's redirect).
std::variant<Url, std::string> parse_url(std::string_view text, CURLU* base) {
  if (text.size() > kMaxUrlLength) return std::string("the URL is too long");
  if (text.find('\0') != std::string_view::npos) return std::string("the URL holds a NUL byte");
  Url url;
  url.handle.reset(base != nullptr ? curl_url_dup(base) : curl_url());
  if (!url.handle) return std::string("out of memory");
  const unsigned flags = base != nullptr
                             ? CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE | CURLU_URLENCODE
                             : CURLU_NON_SUPPORT_SCHEME;
  const std::string owned(text);
  if (const CURLUcode rc = curl_url_set(url.handle.get(), CURLUPART_URL, owned.c_str(), flags);
      rc != CURLUE_OK) {
    return std::string("invalid URL ") + net::quote(owned) + ": " + curl_url_strerror(rc);
  }
  curl_url_set(url.handle.get(), CURLUPART_FRAGMENT, nullptr, 0);  // never sent anyway
  auto scheme = url_part(url.handle.get(), CURLUPART_SCHEME);
  url.scheme = lower(scheme.value_or(""));
  if (url.scheme != "http" && url.scheme != "https") {
    return "the URL scheme must be http or https, not " + net::quote(url.scheme);
  }
  auto host = url_part(url.handle.get(), CURLUPART_HOST);
  if (!host || host->empty()) return std::string("the URL has no host");
  auto parsed_host = net::parse_host(*host, "URL", "host");
  if (!parsed_host.ok()) return parsed_host.error().message;
  url.host = std::move(*parsed_host);
  auto port = url_part(url.handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  const int port_number = port ? std::atoi(port->c_str()) : 0;
  if (port_number < 1 || port_number > 65535) return std::string("the URL has an invalid port");
  url.port = static_cast<uint16_t>(port_number);
  CurluPtr without_credentials(curl_url_dup(url.handle.get()));
  if (!without_credentials) return std::string("out of memory");
  curl_url_set(without_credentials.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(without_credentials.get(), CURLUPART_PASSWORD, nullptr, 0);
  url.shown = url_part(without_credentials.get(), CURLUPART_URL).value_or("(unprintable URL)");
  return url;
}

// --- one transfer ---

struct Transfer {
  const Deadline* deadline = nullptr;
  CURL* curl = nullptr;
  bool https = false;
  // Body, bounded.
  size_t body_limit = 0;
  std::string body;
  bool truncated = false;
  // Headers of the last response block (1xx blocks are replaced by the final one).
  std::vector<std::pair<std::string, std::string>> headers;
  size_t header_bytes = 0;
  bool headers_truncated = false;
  std::optional<std::string> location;
  // TLS facts, taken while the connection is alive.
  nlohmann::json tls = nlohmann::json::object();
  bool tls_captured = false;
  // Why the progress callback stopped the transfer.
  Stop stop = Stop::none;
  // The socket guard: the only endpoints curl may connect to.
  std::vector<IpAddress> allowed;
  uint16_t port = 0;
  bool guard_tripped = false;
};

void capture_tls(Transfer& transfer) {
  if (transfer.tls_captured || !transfer.https) return;
  transfer.tls_captured = true;
  curl_tlssessioninfo* info = nullptr;
  if (curl_easy_getinfo(transfer.curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK ||
      info == nullptr || info->backend != CURLSSLBACKEND_OPENSSL || info->internals == nullptr) {
    return;
  }
  transfer.tls = net::tls_facts(static_cast<SSL*>(info->internals), /*with_verification=*/false);
}

size_t on_header(char* buffer, size_t size, size_t count, void* user_data) {
  auto& transfer = *static_cast<Transfer*>(user_data);
  const size_t length = size * count;
  std::string_view line(buffer, length);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response block (after a 1xx, or the first): the connection and handshake are done.
    capture_tls(transfer);
    transfer.headers.clear();
    transfer.header_bytes = 0;
    transfer.location.reset();
    return length;
  }
  if (line.empty()) return length;
  if (transfer.header_bytes + line.size() > kMaxResponseHeaderBytes) {
    transfer.headers_truncated = true;
    return length;
  }
  transfer.header_bytes += line.size();
  if ((line.front() == ' ' || line.front() == '\t') && !transfer.headers.empty()) {
    // Obsolete line folding: a continuation of the previous header's value.
    const size_t start = line.find_first_not_of(" \t");
    if (start != std::string_view::npos)
      transfer.headers.back().second += " " + std::string(line.substr(start));
    return length;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return length;
  std::string name = lower(line.substr(0, colon));
  std::string_view value = line.substr(colon + 1);
  const size_t first = value.find_first_not_of(" \t");
  value = first == std::string_view::npos ? std::string_view() : value.substr(first);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (name == "location" && !transfer.location) transfer.location = std::string(value);
  transfer.headers.emplace_back(std::move(name), std::string(value));
  return length;
}

size_t on_body(char* data, size_t size, size_t count, void* user_data) {
  auto& transfer = *static_cast<Transfer*>(user_data);
  const size_t length = size * count;
  const size_t room = transfer.body_limit - transfer.body.size();
  if (length <= room) {
    transfer.body.append(data, length);
    return length;
  }
  // Over the limit: keep what fits and stop reading (curl reports a write error, which we turn
  // back into a truncated response).
  transfer.body.append(data, room);
  transfer.truncated = true;
  return 0;
}

int on_progress(void* user_data, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto& transfer = *static_cast<Transfer*>(user_data);
  const Stop stop = transfer.deadline->check();
  if (stop == Stop::none) return 0;
  transfer.stop = stop;
  return 1;
}

curl_socket_t on_open_socket(void* user_data, curlsocktype purpose, curl_sockaddr* address) {
  auto& transfer = *static_cast<Transfer*>(user_data);
  if (purpose != CURLSOCKTYPE_IPCXN || address == nullptr) return CURL_SOCKET_BAD;
  auto endpoint = net::from_sockaddr(&address->addr, address->addrlen);
  const bool checked = endpoint && endpoint->second == transfer.port &&
                       std::find(transfer.allowed.begin(), transfer.allowed.end(),
                                 endpoint->first) != transfer.allowed.end();
  if (!checked) {
    transfer.guard_tripped = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

struct Request {
  std::string method;
  std::vector<std::pair<std::string, std::string>> headers;  // name as given, value
  std::optional<std::string> body;
  bool verify = true;
  std::string ca_pem;
  size_t body_limit = 0;
};

struct Hop {
  long status = 0;
  std::string protocol;
  std::string remote_addr;
  Transfer transfer;
};

std::string protocol_name(long version) {
  switch (version) {
    case CURL_HTTP_VERSION_1_0:
      return "HTTP/1.0";
    case CURL_HTTP_VERSION_1_1:
      return "HTTP/1.1";
    case CURL_HTTP_VERSION_2_0:
      return "HTTP/2";
    case CURL_HTTP_VERSION_3:
      return "HTTP/3";
    default:
      return "HTTP";
  }
}

bool has_header(const Request& request, std::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [&](const auto& header) { return lower(header.first) == name; });
}

// Performs one request to `url`, connecting only to `addresses`.
Result<Hop> perform(const Url& url, const std::vector<IpAddress>& addresses, const Request& request,
                    const Deadline& deadline) {
  const auto remaining = deadline.remaining();
  if (remaining.count() <= 0) {
    const Stop stop = deadline.check();
    return net::stop_error(stop == Stop::none ? Stop::op_timeout : stop, kFn,
                           "waiting for " + url.shown);
  }
  CurlPtr curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::internal, "http_request: cannot create a curl handle");
  CURL* c = curl.get();
  Hop hop;
  Transfer& transfer = hop.transfer;
  transfer.deadline = &deadline;
  transfer.curl = c;
  transfer.https = url.scheme == "https";
  transfer.body_limit = request.body_limit;
  transfer.allowed = addresses;
  transfer.port = url.port;

  // Names resolve to the checked addresses only; an IP literal needs no entry.
  Slist resolve;
  if (!url.host.literal) {
    std::string list;
    for (const IpAddress& address : addresses) {
      if (!list.empty()) list += ",";
      list += address.is_v4() ? address.to_string() : "[" + address.to_string() + "]";
    }
    std::string name = url.host.text;
    resolve.append(name + ":" + std::to_string(url.port) + ":" + list);
    if (!name.empty() && name.back() == '.') {
      name.pop_back();
      resolve.append(name + ":" + std::to_string(url.port) + ":" + list);
    }
  }
  Slist headers;
  for (const auto& [name, value] : request.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    if (!headers.append(value.empty() ? name + ";" : name + ": " + value)) {
      return make_error(ErrorCode::internal, "http_request: out of memory");
    }
  }
  if (!has_header(request, "expect")) headers.append("Expect:");  // no 100-continue round trip

  char error_buffer[CURL_ERROR_SIZE] = {};
  const long timeout_ms = static_cast<long>(std::max<int64_t>(1, remaining.count()));
  curl_easy_setopt(c, CURLOPT_CURLU, url.handle.get());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED));
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  if (resolve.get() != nullptr) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &on_open_socket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (!has_header(request, "user-agent")) curl_easy_setopt(c, CURLOPT_USERAGENT, "reglet");

  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET" && !request.body) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.body) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body->size()));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body->data());
    } else if (request.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (request.method != "POST")
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  if (transfer.https) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, request.verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, request.verify ? 2L : 0L);
    if (!request.ca_pem.empty()) {
      // The given anchors replace the system store entirely.
      curl_blob blob{const_cast<char*>(request.ca_pem.data()), request.ca_pem.size(),
                     CURL_BLOB_COPY};
      curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
      curl_easy_setopt(c, CURLOPT_CAINFO, static_cast<char*>(nullptr));
      curl_easy_setopt(c, CURLOPT_CAPATH, static_cast<char*>(nullptr));
    }
  }

  CURLcode rc;
  {
    net::SigpipeGuard no_sigpipe;
    rc = curl_easy_perform(c);
  }
  if (transfer.guard_tripped) {
    return make_error(ErrorCode::internal,
                      "http_request: refused a connection to an address that was not checked");
  }
  if (transfer.stop == Stop::call_timeout || transfer.stop == Stop::cancelled) {
    return net::stop_error(transfer.stop, kFn, "waiting for " + url.shown);
  }
  if (rc == CURLE_WRITE_ERROR && transfer.truncated) rc = CURLE_OK;
  if (rc == CURLE_OPERATION_TIMEDOUT || transfer.stop == Stop::op_timeout) {
    const Stop stop = deadline.check();
    return net::stop_error(stop == Stop::none ? Stop::op_timeout : stop, kFn,
                           "waiting for " + url.shown);
  }
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    return io_error(url.shown + ": " + detail);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &hop.status);
  long version = 0;
  curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &version);
  hop.protocol = protocol_name(version);
  char* primary_ip = nullptr;
  long primary_port = 0;
  curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &primary_ip);
  curl_easy_getinfo(c, CURLINFO_PRIMARY_PORT, &primary_port);
  if (primary_ip != nullptr) {
    if (auto ip = IpAddress::parse(primary_ip)) {
      hop.remote_addr = net::format_endpoint(*ip, static_cast<uint16_t>(primary_port));
    }
  }
  return hop;
}

bool is_followed_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// --- request validation ---

Result<Request> parse_request(const InstanceContext& context, const nlohmann::json& json) {
  Request request;
  auto method = net::get_string(json, kFn, "method", kMaxMethodLength, false, "GET");
  if (!method.ok()) return method.error();
  request.method = *method;
  std::transform(request.method.begin(), request.method.end(), request.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (!is_token(request.method)) return invalid("method must be an HTTP token such as GET");
  if (request.method == "CONNECT") return invalid("method CONNECT is not supported");

  if (auto headers = json.find("headers"); headers != json.end() && !headers->is_null()) {
    if (!headers->is_object()) return invalid("headers must be an object of strings");
    if (headers->size() > kMaxRequestHeaders) {
      return invalid("at most " + std::to_string(kMaxRequestHeaders) + " headers");
    }
    size_t total = 0;
    for (const auto& [name, value] : headers->items()) {
      if (!is_token(name)) return invalid("header name " + net::quote(name) + " is not valid");
      if (!value.is_string()) return invalid("header " + net::quote(name) + " must be a string");
      const auto& text = value.get_ref<const std::string&>();
      if (text.find_first_of("\r\n") != std::string::npos || text.find('\0') != std::string::npos) {
        return invalid("header " + net::quote(name) + " holds a line break or NUL byte");
      }
      const std::string lowered = lower(name);
      // libcurl frames the body itself; letting a plugin override the framing would only
      // produce broken or smuggled requests.
      if (lowered == "content-length" || lowered == "transfer-encoding" || lowered == "host" ||
          lowered == "connection") {
        return invalid("header " + net::quote(name) + " is set by the host and cannot be given");
      }
      total += name.size() + text.size();
      if (total > kMaxRequestHeaderBytes) return invalid("headers are too large");
      request.headers.emplace_back(name, text);
    }
  }
  auto body =
      net::get_string(json, kFn, "body_b64", context.options().max_host_response_bytes, false);
  if (!body.ok()) return body.error();
  if (json.contains("body_b64") && !json["body_b64"].is_null()) {
    auto decoded = net::base64_decode(*body);
    if (!decoded) return invalid("body_b64 is not valid base64");
    request.body = std::move(*decoded);
  }
  auto skip = net::get_bool(json, kFn, "insecure_skip_verify", false);
  if (!skip.ok()) return skip.error();
  request.verify = !*skip;
  auto ca = net::get_string(json, kFn, "ca_cert_pem", net::kMaxCaPemBytes, false);
  if (!ca.ok()) return ca.error();
  request.ca_pem = std::move(*ca);
  if (!request.ca_pem.empty() &&
      request.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return invalid("ca_cert_pem holds no PEM certificate");
  }
  const auto limit = static_cast<int64_t>(context.options().max_host_response_bytes);
  auto max_body = net::get_int(json, kFn, "max_body_bytes", 0, INT64_MAX, limit);
  if (!max_body.ok()) return max_body.error();
  request.body_limit = static_cast<size_t>(std::min(*max_body, limit));
  return request;
}

void drop_credentials(Request& request) {
  std::erase_if(request.headers, [](const auto& header) {
    const std::string name = lower(header.first);
    return name == "authorization" || name == "cookie" || name == "proxy-authorization";
  });
}

}  // namespace

Result<nlohmann::json> http_request(InstanceContext& context, engine::Caller& caller,
                                    const nlohmann::json& json) {
  ensure_curl_initialized();
  auto url_text = net::get_string(json, kFn, "url", kMaxUrlLength, true);
  if (!url_text.ok()) return url_text.error();
  auto parsed = parse_url(*url_text, nullptr);
  if (auto* message = std::get_if<std::string>(&parsed)) return invalid(*message);
  Url url = std::move(std::get<Url>(parsed));
  auto request = parse_request(context, json);
  if (!request.ok()) return request.error();
  auto follow = net::get_bool(json, kFn, "follow_redirects", true);
  if (!follow.ok()) return follow.error();
  auto timeout = net::get_timeout(json, kFn, kDefaultTimeoutMs);
  if (!timeout.ok()) return timeout.error();

  const auto started = net::Clock::now();
  const Deadline deadline(caller.control(), *timeout);
  nlohmann::json redirects = nlohmann::json::array();
  for (int hop_index = 0;; ++hop_index) {
    nlohmann::json audit_request = {{"method", request->method}, {"url", url.shown}};
    if (hop_index > 0) audit_request["redirect"] = hop_index;
    auto destination =
        net::resolve_and_check(context, kFn, audit_request, url.host, url.port, deadline);
    if (!destination.ok()) return destination.error();
    if (!destination->lookup_error.empty()) {
      if (destination->lookup_timed_out) {
        return net::stop_error(Stop::op_timeout, kFn, "resolving " + url.host.text);
      }
      return io_error(destination->lookup_error);
    }
    auto hop = perform(url, destination->addresses, *request, deadline);
    if (!hop.ok()) return hop.error();
    Transfer& transfer = hop->transfer;

    if (*follow && is_followed_redirect(hop->status) && transfer.location &&
        !transfer.location->empty()) {
      if (hop_index >= kMaxRedirects) {
        return io_error("more than " + std::to_string(kMaxRedirects) + " redirects (last " +
                        url.shown + ")");
      }
      auto next = parse_url(*transfer.location, url.handle.get());
      if (auto* message = std::get_if<std::string>(&next)) {
        return io_error("redirect from " + url.shown + " to an unusable location: " + *message);
      }
      Url& target = std::get<Url>(next);
      redirects.push_back(
          {{"url", url.shown}, {"status", hop->status}, {"location", target.shown}});
      // Browser and curl semantics: 303 turns into GET (except HEAD), and so do 301/302 after
      // a POST; 307/308 repeat the request as it was.
      if ((hop->status == 303 && request->method != "HEAD") ||
          ((hop->status == 301 || hop->status == 302) && request->method == "POST")) {
        request->method = "GET";
        request->body.reset();
      }
      // Credentials are for the origin they were given for, not wherever it redirects to.
      if (target.scheme != url.scheme || lower(target.host.text) != lower(url.host.text) ||
          target.port != url.port) {
        drop_credentials(*request);
      }
      url = std::move(target);
      continue;
    }

    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : transfer.headers) {
      auto existing = headers.find(name);
      if (existing == headers.end()) {
        headers[name] = value;
      } else {
        existing->get_ref<std::string&>() += ", " + value;
      }
    }
    nlohmann::json response = {
        {"status_code", hop->status},
        {"headers", std::move(headers)},
        {"body_b64", net::base64_encode(transfer.body)},
        {"body_size", transfer.body.size()},
        {"truncated", transfer.truncated},
        {"response_time_ms", net::elapsed_ms(started)},
        {"protocol", hop->protocol},
        {"redirects", std::move(redirects)},
        {"url", url.shown},
        {"remote_addr", hop->remote_addr},
    };
    if (transfer.headers_truncated) response["headers_truncated"] = true;
    response.update(transfer.tls);
    return response;
  }
}

}  // namespace reglet::runtime::host
