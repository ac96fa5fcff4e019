// A TLS listener's OpenSSL context: versions, ciphers, ALPN, SNI's choice of certificate, tickets.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "proxy/transport/server_certificates.h"
#include "proxy/transport/ticket_keys.h"
#include "proxy/transport/tls_transport.h"

namespace readygate {

struct TlsServerOptions {
  enum class ClientAuth { None, Optional, Required };
  int minVersion = TLS1_2_VERSION;  // TLS1_2_VERSION or TLS1_3_VERSION
  bool strictSni = false;           // refuse a handshake whose name no certificate has
  /// mTLS: Required refuses a client without a certificate that verifies against the
  /// trust set; Optional asks for one and lets the session know (verifiedClientSubject).
  ClientAuth clientAuth = ClientAuth::None;
  std::vector<std::string> alpn{"http/1.1"};  // what the listener speaks, preferred first
};

/// Shared by every worker (SSL_CTX is safe to make connections from on many threads);
/// immutable but for the certificates, which a watcher swaps whole: a handshake reads
/// the set once, so it sees the old set or the new, never a mix. Open connections keep
/// the certificate they were made with.
class TlsServerContext {
 public:
  /// A context serving `certificates` (at least one), or why OpenSSL would not make one.
  static std::variant<std::shared_ptr<TlsServerContext>, std::string> create(
      const TlsServerOptions& options, std::shared_ptr<const ServerCertificates> certificates,
      std::shared_ptr<TicketKeyRing> tickets);
  ~TlsServerContext();

  /// A new server-side SSL object for one accepted connection.
  SslPtr newSsl() const;
  std::shared_ptr<const ServerCertificates> certificates() const { return certificates_.load(); }
  /// Any thread: new handshakes use `certificates` from now on.
  void replaceCertificates(std::shared_ptr<const ServerCertificates> certificates) {
    certificates_.store(std::move(certificates));
  }
  /// Any thread: new handshakes verify client certificates against `trust` (CAs, CRLs).
  void replaceClientTrust(std::shared_ptr<X509_STORE> trust) { clientTrust_.store(std::move(trust)); }

  /// What a finished handshake came to, as the metric's `result` label: ok, unknown_sni,
  /// no_shared_cipher, protocol_version, client_certificate, other (the caller knows
  /// timeouts).
  static const char* resultOf(const TlsTransport& transport, int error);

 private:
  TlsServerContext(SslCtxPtr context, const TlsServerOptions& options);
  static int onCertificateWanted(SSL* ssl, void* self);
  static int onServerName(SSL* ssl, int* alert, void* self);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outLength,
                    const unsigned char* offered, unsigned int offeredLength, void* self);

  SslCtxPtr context_;
  std::shared_ptr<TicketKeyRing> tickets_;  // the SSL_CTX's ex data points at it
  bool strictSni_;
  TlsServerOptions::ClientAuth clientAuth_;
  std::string alpnWire_;  // the listener's protocols in ALPN's length-prefixed form
  std::atomic<std::shared_ptr<const ServerCertificates>> certificates_;
  std::atomic<std::shared_ptr<X509_STORE>> clientTrust_;  // mTLS only
};

}  // namespace readygate
