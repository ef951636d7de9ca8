// TLS with OpenSSL for net_connect and tcp_connect (http_request's TLS is libcurl's), and the
// certificate facts every network function reports in the same form:
//   tls_version        "TLS 1.3" (Go's tls.VersionName form, as Reglet's plugins report it)
//   tls_cipher_suite   the IANA name ("TLS_AES_128_GCM_SHA256"), as Go's tls.CipherSuiteName
//   tls_cert_subject   RFC 2253 ("CN=example.com,O=Example"), as Go's pkix.Name.String()
//   tls_cert_issuer    idem
//   tls_cert_not_after RFC 3339 in UTC ("2030-01-02T03:04:05Z")
//   tls_cert_not_before
//   tls_cert_days_remaining  whole days until not_after, rounded down (negative once expired)
//   tls_verified / tls_verify_error  the chain + host name verification result
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "reglet/error.h"
#include "runtime/host/net_policy.h"

namespace reglet::runtime::host::net {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

struct TlsOptions {
  // Name sent as SNI (a DNS name only) and checked against the certificate (name or IP).
  std::string server_name;
  // Fail the handshake when the certificate does not verify (net_connect). tcp_connect
  // handshakes without failing and reports the verification result instead.
  bool require_verified = true;
  // PEM trust anchors replacing the system store (a private CA); empty: the system store.
  std::string ca_pem;
};

struct TlsSession {
  SslCtxPtr ctx;
  SslPtr ssl;
};

// Handshakes on the connected non-blocking socket `fd` within `deadline`. On failure: the
// message, and the stop reason when the deadline cut it (Stop::none for a TLS failure).
struct TlsFailure {
  std::string message;
  Stop stop = Stop::none;
};
std::variant<TlsSession, TlsFailure> tls_handshake(int fd, const TlsOptions& options,
                                                   const Deadline& deadline);

// Facts about an established session (see above). `with_verification` adds tls_verified and
// tls_verify_error from OpenSSL's verification result.
nlohmann::json tls_facts(SSL* ssl, bool with_verification);

// Certificate facts alone (tls_cert_*), for tests and for callers holding only the X509.
nlohmann::json certificate_facts(X509* cert);
std::string rfc3339(const ASN1_TIME* time);

// Loads PEM certificates into the context's trust store (replacing the default paths).
Status load_ca_pem(SSL_CTX* ctx, std::string_view pem);

// The last OpenSSL errors of this thread as text (and clears them).
std::string openssl_errors();

}  // namespace reglet::runtime::host::net
