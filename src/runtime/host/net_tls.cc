#include "runtime/host/net_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

namespace reglet::runtime::host::net {
namespace {

// A subject or issuer is attacker-controlled text; keep it to a sane size.
constexpr size_t kMaxNameText = 4096;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string version_name(int version) {
  switch (version) {
    case TLS1_3_VERSION:
      return "TLS 1.3";
    case TLS1_2_VERSION:
      return "TLS 1.2";
    case TLS1_1_VERSION:
      return "TLS 1.1";
    case TLS1_VERSION:
      return "TLS 1.0";
    case SSL3_VERSION:
      return "SSL 3.0";
    default:
      return "unknown";
  }
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  // RFC 2253 order and escaping (Go's pkix.Name.String()), but UTF-8 kept as UTF-8.
  const unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  if (length <= 0 || data == nullptr) return {};
  std::string out(data, static_cast<size_t>(length));
  if (out.size() > kMaxNameText) out.resize(kMaxNameText);
  return out;
}

std::optional<time_t> to_unix(const ASN1_TIME* time) {
  if (time == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  return timegm(&tm);
}

bool wait_for(int fd, short events, const Deadline& deadline) {
  pollfd pfd{fd, events, 0};
  const int ready = ::poll(&pfd, 1, deadline.poll_ms());
  return ready > 0;
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!out.empty()) out += "; ";
    if (out.size() < 1024) out += buffer;
  }
  return out;
}

std::string rfc3339(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return {};
  char buffer[32];
  if (std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return {};
  return buffer;
}

nlohmann::json certificate_facts(X509* cert) {
  nlohmann::json out = nlohmann::json::object();
  if (cert == nullptr) return out;
  out["tls_cert_subject"] = name_text(X509_get_subject_name(cert));
  out["tls_cert_issuer"] = name_text(X509_get_issuer_name(cert));
  out["tls_cert_not_before"] = rfc3339(X509_get0_notBefore(cert));
  out["tls_cert_not_after"] = rfc3339(X509_get0_notAfter(cert));
  if (auto not_after = to_unix(X509_get0_notAfter(cert))) {
    const double seconds = std::difftime(*not_after, std::time(nullptr));
    out["tls_cert_days_remaining"] = static_cast<int64_t>(std::floor(seconds / 86400.0));
  }
  return out;
}

nlohmann::json tls_facts(SSL* ssl, bool with_verification) {
  nlohmann::json out = nlohmann::json::object();
  if (ssl == nullptr) return out;
  out["tls_version"] = version_name(SSL_version(ssl));
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
    const char* standard = SSL_CIPHER_standard_name(cipher);
    out["tls_cipher_suite"] = standard != nullptr ? standard : SSL_CIPHER_get_name(cipher);
  }
  X509Ptr cert(SSL_get1_peer_certificate(ssl));
  out.update(certificate_facts(cert.get()));
  if (with_verification) {
    const long result = SSL_get_verify_result(ssl);
    const bool verified = cert != nullptr && result == X509_V_OK;
    out["tls_verified"] = verified;
    if (!verified) {
      out["tls_verify_error"] = cert == nullptr ? "the server sent no certificate"
                                                : X509_verify_cert_error_string(result);
    }
  }
  return out;
}

Status load_ca_pem(SSL_CTX* ctx, std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(ErrorCode::internal, "cannot read ca_cert_pem");
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return make_error(ErrorCode::internal, "cannot create a trust store");
  SSL_CTX_set_cert_store(ctx, store);  // the context owns it from here
  int loaded = 0;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      ERR_clear_error();
      continue;  // a duplicate
    }
    ++loaded;
  }
  ERR_clear_error();  // the end of the PEM data reads as an error
  if (loaded == 0) {
    return make_error(ErrorCode::invalid_argument, "ca_cert_pem holds no PEM certificate");
  }
  return {};
}

std::variant<TlsSession, TlsFailure> tls_handshake(int fd, const TlsOptions& options,
                                                   const Deadline& deadline) {
  SigpipeGuard no_sigpipe;
  ERR_clear_error();
  TlsSession session;
  session.ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!session.ctx) return TlsFailure{"cannot create a TLS context: " + openssl_errors()};
  SSL_CTX* ctx = session.ctx.get();
  if (options.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
  } else if (auto loaded = load_ca_pem(ctx, options.ca_pem); !loaded.ok()) {
    return TlsFailure{loaded.error().message};
  }
  // Without SSL_VERIFY_PEER OpenSSL still verifies the chain and records the result, which is
  // what tcp_connect reports.
  SSL_CTX_set_verify(ctx, options.require_verified ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A peer that closes without close_notify is an end of stream for net_recv, not an error.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

  session.ssl.reset(SSL_new(ctx));
  if (!session.ssl) return TlsFailure{"cannot create a TLS session: " + openssl_errors()};
  SSL* ssl = session.ssl.get();
  if (SSL_set_fd(ssl, fd) != 1) return TlsFailure{"cannot attach TLS: " + openssl_errors()};
  if (!options.server_name.empty()) {
    if (auto ip = IpAddress::parse(options.server_name)) {
      // No SNI for addresses (RFC 6066); verify the certificate's IP SAN instead.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip->to_string().c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, options.server_name.c_str());
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, options.server_name.c_str());
    }
  }
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int rc = SSL_connect(ssl);
    if (rc == 1) return session;
    const int error = SSL_get_error(ssl, rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (Stop stop = deadline.check(); stop != Stop::none) {
        return TlsFailure{"TLS handshake timed out", stop};
      }
      wait_for(fd, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
      continue;
    }
    const long verify = SSL_get_verify_result(ssl);
    if (options.require_verified && verify != X509_V_OK) {
      ERR_clear_error();
      return TlsFailure{std::string("TLS certificate verification failed: ") +
                        X509_verify_cert_error_string(verify)};
    }
    std::string detail = openssl_errors();
    if (detail.empty()) {
      detail = error == SSL_ERROR_SYSCALL && errno != 0 ? std::strerror(errno)
                                                        : "the peer closed the connection";
    }
    return TlsFailure{"TLS handshake failed: " + detail};
  }
}

}  // namespace reglet::runtime::host::net
