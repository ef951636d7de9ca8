#include "support/loopback_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace reglet::test {
namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "loopback_servers: %s (errno %d: %s)\n", what.c_str(), errno,
               std::strerror(errno));
  ERR_print_errors_fp(stderr);
  std::abort();
}

// --- OpenSSL RAII ---

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
void free_bio(BIO* bio) {
  BIO_free(bio);
}
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, free_bio>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

X509Ptr read_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("cannot read a test certificate");
  return cert;
}

PkeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("cannot read a test key");
  return key;
}

SslCtxPtr server_context(const TestCertificate& certificate) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) fail("SSL_CTX_new");
  X509Ptr cert = read_cert(certificate.cert_pem);
  PkeyPtr key = read_key(certificate.key_pem);
  if (SSL_CTX_use_certificate(ctx.get(), cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1) {
    fail("cannot load the server certificate");
  }
  return ctx;
}

void block_sigpipe_in_this_thread() {
  // A client that goes away mid-write must not kill the test process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

sockaddr_storage make_address(const std::string& bind, uint16_t port, socklen_t& length) {
  sockaddr_storage storage{};
  if (bind.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, bind.c_str(), &in6->sin6_addr) != 1) fail("bad bind address " + bind);
    length = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    if (inet_pton(AF_INET, bind.c_str(), &in->sin_addr) != 1) fail("bad bind address " + bind);
    length = sizeof(sockaddr_in);
  }
  return storage;
}

uint16_t bound_port(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) fail("getsockname");
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

// Plain or TLS reads and writes on a blocking socket.
struct Stream {
  int fd;
  SSL* ssl;
  ssize_t read(char* buffer, size_t size) {
    if (ssl != nullptr) {
      size_t got = 0;
      return SSL_read_ex(ssl, buffer, size, &got) == 1 ? static_cast<ssize_t>(got) : -1;
    }
    return ::recv(fd, buffer, size, 0);
  }
  bool write_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl != nullptr) {
        size_t written = 0;
        n = SSL_write_ex(ssl, data.data(), data.size(), &written) == 1
                ? static_cast<ssize_t>(written)
                : -1;
      } else {
        n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      }
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

// --- ServerCore ---

class ServerCore {
 public:
  using Serve = std::function<void(int fd)>;

  ServerCore(const std::string& bind, Serve serve) : serve_(std::move(serve)) {
    socklen_t length = 0;
    sockaddr_storage address = make_address(bind, 0, length);
    listen_fd_ = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) fail("socket");
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) fail("bind");
    if (::listen(listen_fd_, 64) != 0) fail("listen");
    port_ = bound_port(listen_fd_);
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    if (stop_fd_ < 0) fail("eventfd");
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~ServerCore() {
    stopping_ = true;
    cv_.notify_all();
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mutex_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
      workers.swap(workers_);
    }
    for (auto& worker : workers) worker.join();
    ::close(listen_fd_);
    ::close(stop_fd_);
  }

  uint16_t port() const { return port_; }
  size_t connections() const { return connections_; }
  size_t finished() const { return finished_; }

  // Sleeps unless the server is stopping; false when it is.
  bool sleep_for(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    return !cv_.wait_for(lock, duration, [this] { return stopping_.load(); });
  }

 private:
  void accept_loop() {
    block_sigpipe_in_this_thread();
    while (!stopping_) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (::poll(fds, 2, -1) <= 0) continue;
      if (fds[1].revents != 0) break;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard lock(mutex_);
      if (stopping_) {
        ::close(fd);
        break;
      }
      open_.insert(fd);
      workers_.emplace_back([this, fd] {
        block_sigpipe_in_this_thread();
        serve_(fd);
        std::lock_guard inner(mutex_);
        open_.erase(fd);
        ::close(fd);
        ++finished_;
      });
    }
  }

  Serve serve_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::set<int> open_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> finished_{0};
};

// --- TestCertificate ---

TestCertificate TestCertificate::generate(const CertificateOptions& options,
                                          const TestCertificate* issuer) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EVP_EC_gen");
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(cert.get()), static_cast<int64_t>(serial >> 2) + 1);
  const long not_before = static_cast<long>(options.not_before_offset.count());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  not_before + static_cast<long>(options.valid_for.count()));
  X509_set_pubkey(cert.get(), key.get());

  X509_NAME* name = X509_get_subject_name(cert.get());
  // Added O first, CN last: RFC 2253 prints the sequence backwards, "CN=...,O=...".
  auto add = [&](const char* field, const std::string& value) {
    if (value.empty()) return;
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("O", options.organization);
  add("CN", options.common_name);

  X509Ptr issuer_cert;
  PkeyPtr issuer_key;
  if (issuer != nullptr) {
    issuer_cert = read_cert(issuer->cert_pem);
    issuer_key = read_key(issuer->key_pem);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert.get()));
  } else {
    X509_set_issuer_name(cert.get(), name);
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert.get() : cert.get(), cert.get(), nullptr, nullptr,
                 0);
  auto extension = [&](int nid, const std::string& value) {
    X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext) fail("extension " + value);
    X509_add_ext(cert.get(), ext.get(), -1);
  };
  extension(NID_basic_constraints, options.is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  extension(NID_subject_key_identifier, "hash");
  std::string alt_names;
  for (const auto& dns : options.dns_names)
    alt_names += (alt_names.empty() ? "" : ",") + ("DNS:" + dns);
  for (const auto& ip : options.ip_addresses)
    alt_names += (alt_names.empty() ? "" : ",") + ("IP:" + ip);
  if (!alt_names.empty()) extension(NID_subject_alt_name, alt_names);

  if (X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) == 0) {
    fail("X509_sign");
  }

  TestCertificate out;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  out.cert_pem = bio_text(cert_bio.get());
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_text(key_bio.get());

  // Written out by hand (not with OpenSSL's printer) so that tests compare against an
  // independent expectation.
  auto rfc2253 = [](const std::string& cn, const std::string& o) {
    std::string text;
    if (!cn.empty()) text += "CN=" + cn;
    if (!o.empty()) text += (text.empty() ? "" : ",") + ("O=" + o);
    return text;
  };
  out.subject = rfc2253(options.common_name, options.organization);
  out.issuer = issuer != nullptr ? issuer->subject : out.subject;
  std::tm tm{};
  ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  out.not_after = buffer;
  out.not_after_unix = static_cast<int64_t>(timegm(&tm));
  return out;
}

// --- TcpServer ---

TcpServer::TcpServer(Mode mode, const TestCertificate* tls, std::string greeting, std::string bind)
    : mode_(mode), greeting_(std::move(greeting)) {
  std::shared_ptr<SSL_CTX> ctx;
  if (tls != nullptr) ctx.reset(server_context(*tls).release(), SSL_CTX_free);
  core_ = std::make_unique<ServerCore>(bind, [this, ctx](int fd) {
    if (mode_ == Mode::close_immediately) return;
    SslPtr ssl;
    if (ctx) {
      ssl.reset(SSL_new(ctx.get()));
      SSL_set_fd(ssl.get(), fd);
      if (SSL_accept(ssl.get()) != 1) {
        ERR_clear_error();
        return;
      }
    }
    Stream stream{fd, ssl.get()};
    if (mode_ == Mode::greet_then_echo && !stream.write_all(greeting_)) return;
    char buffer[16384];
    while (true) {
      const ssize_t n = stream.read(buffer, sizeof buffer);
      if (n <= 0) break;
      {
        std::lock_guard lock(mutex_);
        received_.append(buffer, static_cast<size_t>(n));
      }
      if (mode_ != Mode::hold &&
          !stream.write_all(std::string_view(buffer, static_cast<size_t>(n)))) {
        break;
      }
    }
    if (ssl) SSL_shutdown(ssl.get());
    ERR_clear_error();
  });
}

TcpServer::~TcpServer() {
  core_.reset();
}
uint16_t TcpServer::port() const {
  return core_->port();
}
size_t TcpServer::connections() const {
  return core_->connections();
}
size_t TcpServer::finished() const {
  return core_->finished();
}
std::string TcpServer::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t length = 0;
  sockaddr_storage address = make_address("127.0.0.1", 0, length);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) fail("bind");
  const uint16_t port = bound_port(fd);
  ::close(fd);  // never listened: connections are refused
  return port;
}

StalledListener::StalledListener() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  socklen_t length = 0;
  sockaddr_storage address = make_address("127.0.0.1", 0, length);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) fail("bind");
  if (::listen(listen_fd_, 0) != 0) fail("listen");
  port_ = bound_port(listen_fd_);
  address = make_address("127.0.0.1", port_, length);
  // Fill the queue (a backlog of 0 still admits one or two): non-blocking connects that are
  // never accepted.
  for (int i = 0; i < 3; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&address), length);
    fillers_.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

StalledListener::~StalledListener() {
  for (int fd : fillers_) ::close(fd);
  ::close(listen_fd_);
}

// --- HttpServer ---

std::string HttpServer::Request::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

namespace {
std::string reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 418:
      return "I'm a teapot";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}
}  // namespace

HttpServer::HttpServer(Handler handler, const TestCertificate* tls, std::string bind)
    : handler_(std::move(handler)), tls_(tls != nullptr), bind_(std::move(bind)) {
  std::shared_ptr<SSL_CTX> ctx;
  if (tls != nullptr) ctx.reset(server_context(*tls).release(), SSL_CTX_free);
  core_ = std::make_unique<ServerCore>(bind_, [this, ctx](int fd) {
    SslPtr ssl;
    if (ctx) {
      ssl.reset(SSL_new(ctx.get()));
      SSL_set_fd(ssl.get(), fd);
      if (SSL_accept(ssl.get()) != 1) {
        ERR_clear_error();
        return;
      }
    }
    serve(fd, ssl.get());
    if (ssl) SSL_shutdown(ssl.get());
    ERR_clear_error();
  });
}

HttpServer::~HttpServer() {
  core_.reset();
}
uint16_t HttpServer::port() const {
  return core_->port();
}

std::string HttpServer::url(std::string_view path) const {
  const std::string host = bind_.find(':') != std::string::npos ? "[" + bind_ + "]" : bind_;
  return std::string(tls_ ? "https://" : "http://") + host + ":" + std::to_string(port()) +
         std::string(path);
}

std::vector<HttpServer::Request> HttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void HttpServer::serve(int fd, void* ssl_ptr) {
  Stream stream{fd, static_cast<SSL*>(ssl_ptr)};
  std::string data;
  char buffer[16384];
  size_t header_end;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > 64 * 1024) return;
    const ssize_t n = stream.read(buffer, sizeof buffer);
    if (n <= 0) return;
    data.append(buffer, static_cast<size_t>(n));
  }
  Request request;
  const std::string head = data.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return;
  request.method = request_line.substr(0, sp1);
  request.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.version = request_line.substr(sp2 + 1);
  size_t content_length = 0;
  while (line_end != std::string::npos && line_end < head.size()) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (name == "content-length") content_length = std::strtoul(value.c_str(), nullptr, 10);
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  if (content_length > (16u << 20)) return;
  request.body = data.substr(header_end + 4);
  while (request.body.size() < content_length) {
    const ssize_t n = stream.read(buffer, sizeof buffer);
    if (n <= 0) return;
    request.body.append(buffer, static_cast<size_t>(n));
  }
  request.body.resize(std::min(request.body.size(), content_length));
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  Response response = handler_(request);
  if (response.delay.count() > 0 && !core_->sleep_for(response.delay)) return;
  if (response.close_without_response) return;
  if (!response.raw.empty()) {
    stream.write_all(response.raw);
    return;
  }
  std::string head_out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) + "\r\n";
  bool has_length = false;
  for (const auto& [name, value] : response.headers) {
    if (lower(name) == "content-length") has_length = true;
    head_out += name + ": " + value + "\r\n";
  }
  if (!has_length) head_out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  head_out += "Connection: close\r\n\r\n";
  if (!stream.write_all(head_out)) return;
  if (request.method == "HEAD" || response.body.empty()) return;
  if (response.body_delay.count() > 0 && !core_->sleep_for(response.body_delay)) return;
  stream.write_all(response.body);
}

// --- DnsServer ---

namespace {

constexpr uint16_t kTypeA = 1, kTypeNs = 2, kTypeCname = 5, kTypeMx = 15, kTypeTxt = 16,
                   kTypeAaaa = 28;

std::string encode_name(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

std::string u16(uint16_t value) {
  return std::string{static_cast<char>(value >> 8), static_cast<char>(value & 0xff)};
}

std::string normalize(std::string name) {
  name = lower(name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

DnsServer::DnsServer(std::string bind) : bind_(std::move(bind)) {
  socklen_t length = 0;
  sockaddr_storage address = make_address(bind_, 0, length);
  fd_ = ::socket(address.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("socket");
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0) fail("bind");
  port_ = bound_port(fd_);
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  thread_ = std::thread([this] { run(); });
}

DnsServer::~DnsServer() {
  const uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
  ::close(fd_);
  ::close(stop_fd_);
}

uint16_t DnsServer::port() const {
  return port_;
}
std::string DnsServer::address() const {
  const std::string host = bind_.find(':') != std::string::npos ? "[" + bind_ + "]" : bind_;
  return host + ":" + std::to_string(port_);
}
size_t DnsServer::queries() const {
  return queries_;
}

void DnsServer::add_a(const std::string& name, const std::string& ipv4) {
  in_addr address{};
  if (inet_pton(AF_INET, ipv4.c_str(), &address) != 1) fail("bad IPv4 " + ipv4);
  std::lock_guard lock(mutex_);
  zone_[normalize(name)].push_back({kTypeA, std::string(reinterpret_cast<char*>(&address), 4), {}});
}

void DnsServer::add_aaaa(const std::string& name, const std::string& ipv6) {
  in6_addr address{};
  if (inet_pton(AF_INET6, ipv6.c_str(), &address) != 1) fail("bad IPv6 " + ipv6);
  std::lock_guard lock(mutex_);
  zone_[normalize(name)].push_back(
      {kTypeAaaa, std::string(reinterpret_cast<char*>(&address), 16), {}});
}

void DnsServer::add_cname(const std::string& name, const std::string& target) {
  std::lock_guard lock(mutex_);
  zone_[normalize(name)].push_back({kTypeCname, encode_name(normalize(target)), normalize(target)});
}

void DnsServer::add_mx(const std::string& name, uint16_t preference, const std::string& host) {
  std::lock_guard lock(mutex_);
  zone_[normalize(name)].push_back({kTypeMx, u16(preference) + encode_name(normalize(host)), {}});
}

void DnsServer::add_txt(const std::string& name, std::vector<std::string> strings) {
  std::string rdata;
  for (const auto& s : strings) {
    if (s.size() > 255) fail("TXT string over 255 bytes");
    rdata += static_cast<char>(s.size());
    rdata += s;
  }
  std::lock_guard lock(mutex_);
  zone_[normalize(name)].push_back({kTypeTxt, rdata, {}});
}

void DnsServer::add_ns(const std::string& name, const std::string& host) {
  std::lock_guard lock(mutex_);
  zone_[normalize(name)].push_back({kTypeNs, encode_name(normalize(host)), {}});
}

void DnsServer::set_silent(const std::string& name) {
  std::lock_guard lock(mutex_);
  silent_.insert(normalize(name));
}

void DnsServer::set_rcode(const std::string& name, int rcode) {
  std::lock_guard lock(mutex_);
  rcodes_[normalize(name)] = rcode;
}

void DnsServer::run() {
  while (true) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) <= 0) continue;
    if (fds[1].revents != 0) return;
    char buffer[4096];
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const ssize_t n =
        ::recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n <= 0) continue;
    ++queries_;
    const std::string reply = answer(std::string(buffer, static_cast<size_t>(n)));
    if (reply.empty()) continue;
    ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_length);
  }
}

std::string DnsServer::answer(const std::string& query) {
  if (query.size() < 12) return {};
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(query[i]); };
  if (((byte(4) << 8) | byte(5)) != 1) return {};
  // The question: labels (no compression in queries), type, class.
  size_t offset = 12;
  std::string name;
  while (offset < query.size() && byte(offset) != 0) {
    const size_t length = byte(offset);
    if (length > 63 || offset + 1 + length >= query.size()) return {};
    if (!name.empty()) name += '.';
    name += query.substr(offset + 1, length);
    offset += 1 + length;
  }
  if (offset + 5 > query.size()) return {};
  const size_t question_end = offset + 5;
  const uint16_t qtype = static_cast<uint16_t>((byte(offset + 1) << 8) | byte(offset + 2));
  name = normalize(name);

  std::lock_guard lock(mutex_);
  if (silent_.count(name) != 0) return {};
  int rcode = 0;
  std::vector<std::pair<std::string, const Record*>> answers;  // owner name, record
  if (auto forced = rcodes_.find(name); forced != rcodes_.end()) {
    rcode = forced->second;
  } else if (auto records = zone_.find(name); records == zone_.end()) {
    rcode = 3;  // NXDOMAIN
  } else {
    for (const Record& record : records->second) {
      if (record.type == qtype) answers.emplace_back(name, &record);
    }
    if (answers.empty() && qtype != kTypeCname) {
      // Follow one CNAME, as a recursive resolver's answer would.
      for (const Record& record : records->second) {
        if (record.type != kTypeCname) continue;
        answers.emplace_back(name, &record);
        if (auto target = zone_.find(record.target); target != zone_.end()) {
          for (const Record& chased : target->second) {
            if (chased.type == qtype) answers.emplace_back(record.target, &chased);
          }
        }
        break;
      }
    }
  }
  std::string reply;
  reply += query.substr(0, 2);                                 // id
  reply += static_cast<char>(0x80 | 0x04 | (byte(2) & 0x01));  // QR, AA, RD copied
  reply += static_cast<char>(0x80 | (rcode & 0x0f));           // RA, rcode
  reply += u16(1) + u16(static_cast<uint16_t>(answers.size())) + u16(0) + u16(0);
  reply += query.substr(12, question_end - 12);
  for (const auto& [owner, record] : answers) {
    reply += owner == name ? std::string("\xc0\x0c", 2) : encode_name(owner);
    reply += u16(record->type) + u16(1);          // class IN
    reply += std::string("\x00\x00\x01\x2c", 4);  // TTL 300
    reply += u16(static_cast<uint16_t>(record->rdata.size())) + record->rdata;
  }
  return reply;
}

}  // namespace reglet::test
