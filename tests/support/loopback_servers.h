// Real network servers for tests, on loopback with ports the OS picks (bind port 0), served by
// background threads and stopped (threads joined, sockets closed) by their destructors:
//   TestCertificate  a certificate made at run time with OpenSSL (self-signed or signed by
//                    another TestCertificate), with a known subject, issuer and validity
//   TcpServer        a TCP (optionally TLS) listener: hold, echo, greet-then-echo, or close
//   HttpServer       an HTTP/1.1 (optionally HTTPS) server driven by a handler function
//   DnsServer        a UDP DNS responder for a small test zone (A, AAAA, CNAME, MX, TXT, NS,
//                    NXDOMAIN, chosen rcodes, silence)
//   closed_port()    a loopback port nothing listens on
// Shared by the host-function tests and the built-in plugins' end-to-end tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace reglet::test {

// ---------------------------------------------------------------------------------------------
// Certificates

struct CertificateOptions {
  std::string common_name = "localhost";
  std::string organization = "Reglet Test";
  // Validity relative to now. The default is valid from an hour ago for 30 days and an hour,
  // so that days remaining reads 30.
  std::chrono::seconds not_before_offset{-3600};
  std::chrono::seconds valid_for{30 * 86400 + 2 * 3600};
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  bool is_ca = true;  // a self-signed certificate doubles as its own trust anchor
};

struct TestCertificate {
  std::string cert_pem;
  std::string key_pem;
  std::string subject;    // RFC 2253 order, e.g. "CN=localhost,O=Reglet Test"
  std::string issuer;     // idem
  std::string not_after;  // RFC 3339 UTC, e.g. "2030-01-02T03:04:05Z"
  int64_t not_after_unix = 0;

  // Self-signed when `issuer` is null; otherwise signed by it (its subject becomes the issuer).
  // Aborts the test process on an OpenSSL failure (a broken test setup, not a test result).
  static TestCertificate generate(const CertificateOptions& options = {},
                                  const TestCertificate* issuer = nullptr);
};

// ---------------------------------------------------------------------------------------------
// Servers

// Accept loop + one thread per connection; the destructor stops everything.
class ServerCore;

class TcpServer {
 public:
  enum class Mode {
    hold,               // keep the connection open, read and discard until the peer closes
    echo,               // send back whatever arrives
    greet_then_echo,    // send `greeting` first (a banner), then echo
    close_immediately,  // accept and close at once
  };
  // With `tls`, a TLS server with that certificate. `greeting` is for greet_then_echo.
  explicit TcpServer(Mode mode = Mode::echo, const TestCertificate* tls = nullptr,
                     std::string greeting = {}, std::string bind = "127.0.0.1");
  ~TcpServer();

  uint16_t port() const;
  size_t connections() const;  // accepted so far
  size_t finished() const;     // connections that have ended (the peer closed, or we did)
  // Bytes received across all connections (plain text after TLS).
  std::string received() const;

 private:
  std::unique_ptr<ServerCore> core_;
  Mode mode_;
  std::string greeting_;
  mutable std::mutex mutex_;
  std::string received_;
};

// A loopback port with no listener (bound, then closed): connecting is refused.
uint16_t closed_port();

// A loopback listener whose accept queue is full and never drained: connection attempts hang
// until the client gives up, which gives connect timeouts without an unroutable address.
class StalledListener {
 public:
  StalledListener();
  ~StalledListener();
  StalledListener(const StalledListener&) = delete;
  StalledListener& operator=(const StalledListener&) = delete;
  uint16_t port() const { return port_; }

 private:
  int listen_fd_ = -1;
  std::vector<int> fillers_;
  uint16_t port_ = 0;
};

class HttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;                                        // "/path?query"
    std::string version;                                       // "HTTP/1.1"
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
    std::string body;
    std::string header(std::string_view name) const;  // "" when absent
  };
  struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0};       // before anything is sent
    std::chrono::milliseconds body_delay{0};  // between the headers and the body
    bool close_without_response = false;
    std::string raw;  // when set, sent verbatim instead of a built response

    static Response make(int status, std::string body = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
      Response response;
      response.status = status;
      response.body = std::move(body);
      response.headers = std::move(headers);
      return response;
    }
    static Response redirect(int status, std::string location) {
      return make(status, {}, {{"Location", std::move(location)}});
    }
    static Response verbatim(std::string bytes) {
      Response response;
      response.raw = std::move(bytes);
      return response;
    }
  };
  using Handler = std::function<Response(const Request&)>;

  explicit HttpServer(Handler handler, const TestCertificate* tls = nullptr,
                      std::string bind = "127.0.0.1");
  ~HttpServer();

  uint16_t port() const;
  // "http://127.0.0.1:PORT/path" ("https://" with TLS).
  std::string url(std::string_view path = "/") const;
  std::vector<Request> requests() const;

 private:
  void serve(int fd, void* ssl);
  std::unique_ptr<ServerCore> core_;
  Handler handler_;
  bool tls_;
  std::string bind_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
};

class DnsServer {
 public:
  explicit DnsServer(std::string bind = "127.0.0.1");
  ~DnsServer();

  uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  size_t queries() const;

  // Names are case-insensitive, without the final dot.
  void add_a(const std::string& name, const std::string& ipv4);
  void add_aaaa(const std::string& name, const std::string& ipv6);
  void add_cname(const std::string& name, const std::string& target);
  void add_mx(const std::string& name, uint16_t preference, const std::string& host);
  void add_txt(const std::string& name, std::vector<std::string> strings);
  void add_ns(const std::string& name, const std::string& host);
  void set_silent(const std::string& name);            // never answer (timeouts)
  void set_rcode(const std::string& name, int rcode);  // e.g. 2 (SERVFAIL), 5 (REFUSED)

  struct Record {
    uint16_t type;
    std::string rdata;   // wire format, names uncompressed
    std::string target;  // CNAME target (for chasing)
  };

 private:
  void run();
  std::string answer(const std::string& query);

  int fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::string bind_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Record>> zone_;
  std::set<std::string> silent_;
  std::map<std::string, int> rcodes_;
  std::atomic<size_t> queries_{0};
};

}  // namespace reglet::test
