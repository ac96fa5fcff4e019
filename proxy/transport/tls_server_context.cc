// TlsServerContext implementation.
#include "proxy/transport/tls_server_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy/transport/tls_errors.h"

namespace readygate {
namespace {

/// TLS 1.2 suites with forward secrecy only (ECDHE), AEAD only; TLS 1.3's are all both.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// The SSL's flag that its name matched no certificate under strictSni.
int unknownNameIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

/// Whether the client's signature_algorithms offer ECDSA. A client that sends none (TLS 1.2
/// allows it) is taken to want RSA, as RFC 5246 7.4.1.4.1 says.
bool takesEcdsa(SSL* ssl) {
  int offered = SSL_get_sigalgs(ssl, -1, nullptr, nullptr, nullptr, nullptr, nullptr);
  for (int i = 0; i < offered; ++i) {
    int sign = 0;
    SSL_get_sigalgs(ssl, i, &sign, nullptr, nullptr, nullptr, nullptr);
    if (sign == EVP_PKEY_EC) return true;
  }
  return false;
}

}  // namespace

TlsServerContext::TlsServerContext(SslCtxPtr context, const TlsServerOptions& options)
    : context_(std::move(context)), strictSni_(options.strictSni), clientAuth_(options.clientAuth) {
  for (const std::string& protocol : options.alpn) {
    alpnWire_.push_back(static_cast<char>(protocol.size()));
    alpnWire_ += protocol;
  }
}

TlsServerContext::~TlsServerContext() = default;

std::variant<std::shared_ptr<TlsServerContext>, std::string> TlsServerContext::create(
    const TlsServerOptions& options, std::shared_ptr<const ServerCertificates> certificates,
    std::shared_ptr<TicketKeyRing> tickets) {
  if (!tickets) return std::string("no ticket keys");
  if (!certificates || certificates->all().empty()) return std::string("no certificate");
  ERR_clear_error();
  SslCtxPtr context(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!context) return "SSL_CTX_new: " + takeOpensslError();
  SSL_CTX* raw = context.get();
  if (SSL_CTX_set_min_proto_version(raw, options.minVersion) != 1 ||
      SSL_CTX_set_max_proto_version(raw, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1) {
    return "TLS settings: " + takeOpensslError();
  }
  // No renegotiation (a client could make the server work for nothing), no compression
  // (CRIME), the server's order of ciphers, and a FIN without close_notify read as an end.
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
  SSL_CTX_set_read_ahead(raw, 1);  // one recv per readiness, not one per record header
  // Resumption by tickets only: a server-side cache would be per worker, a ticket is good
  // on any worker (the key ring is shared).
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(raw, 1);
  // A session resumed with a client certificate must come from this listener's kind.
  static const unsigned char kSessionContext[] = "readygate";
  SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_timeout(raw, static_cast<long>(tickets->ticketLifetimeSeconds()));
  SSL_CTX_set_ex_data(raw, TicketKeyRing::ringIndex(), tickets.get());
  SSL_CTX_set_tlsext_ticket_key_evp_cb(raw, &TicketKeyRing::ticketCallback);
  std::shared_ptr<TlsServerContext> made(new TlsServerContext(std::move(context), options));
  made->tickets_ = std::move(tickets);
  made->certificates_.store(std::move(certificates));
  SSL_CTX_set_cert_cb(raw, &TlsServerContext::onCertificateWanted, made.get());
  SSL_CTX_set_tlsext_servername_callback(raw, &TlsServerContext::onServerName);
  SSL_CTX_set_tlsext_servername_arg(raw, made.get());
  if (!made->alpnWire_.empty()) {
    SSL_CTX_set_alpn_select_cb(raw, &TlsServerContext::onAlpn, made.get());
  }
  return made;
}

SslPtr TlsServerContext::newSsl() const {
  SslPtr ssl(SSL_new(context_.get()));
  if (!ssl || clientAuth_ == TlsServerOptions::ClientAuth::None) return ssl;
  std::shared_ptr<X509_STORE> trust = clientTrust_.load();
  if (!trust) return nullptr;  // mTLS without a trust set: refuse all
  // The SSL takes its own reference: the set may be swapped (a CRL update) meanwhile.
  SSL_set1_verify_cert_store(ssl.get(), trust.get());
  if (clientAuth_ == TlsServerOptions::ClientAuth::Required) {
    SSL_set_verify(ssl.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    // Optional: the handshake goes on whatever the certificate; SSL_get_verify_result says.
    SSL_set_verify(ssl.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  }
  return ssl;
}

int TlsServerContext::onServerName(SSL* ssl, int* alert, void* self) {
  auto* context = static_cast<TlsServerContext*>(self);
  if (!context->strictSni_) return SSL_TLSEXT_ERR_OK;
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr && context->certificates()->choose(name).matched) return SSL_TLSEXT_ERR_OK;
  SSL_set_ex_data(ssl, unknownNameIndex(), context);  // any non-null: the flag
  *alert = SSL_AD_UNRECOGNIZED_NAME;
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

int TlsServerContext::onCertificateWanted(SSL* ssl, void* self) {
  auto* context = static_cast<TlsServerContext*>(self);
  std::shared_ptr<const ServerCertificates> certificates = context->certificates();
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const ServerCertificate* chosen =
      certificates->choose(name ? name : "", takesEcdsa(ssl)).certificate;
  if (chosen == nullptr) return 0;
  // The SSL takes its own references: the set may be swapped out under the connection.
  // No chain is passed when there is none: OpenSSL would copy even an empty stack, two
  // allocations that every connection would hold for its life.
  STACK_OF(X509)* chain = sk_X509_num(chosen->chain.get()) > 0 ? chosen->chain.get() : nullptr;
  return SSL_use_cert_and_key(ssl, chosen->certificate.get(), chosen->key.get(), chain, 1) == 1
             ? 1
             : 0;
}

int TlsServerContext::onAlpn(SSL*, const unsigned char** out, unsigned char* outLength,
                             const unsigned char* offered, unsigned int offeredLength,
                             void* self) {
  auto* context = static_cast<TlsServerContext*>(self);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outLength,
                            reinterpret_cast<const unsigned char*>(context->alpnWire_.data()),
                            static_cast<unsigned int>(context->alpnWire_.size()), offered,
                            offeredLength) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // nothing in common: go on without ALPN, as nginx does
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

const char* TlsServerContext::resultOf(const TlsTransport& transport, int error) {
  if (error == 0) return "ok";
  if (SSL_get_ex_data(transport.ssl(), unknownNameIndex()) != nullptr) return "unknown_sni";
  switch (transport.failureReason()) {
    case SSL_R_NO_SHARED_CIPHER:
      return "no_shared_cipher";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return "client_certificate";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return "protocol_version";
    default:
      return "other";
  }
}

}  // namespace readygate
