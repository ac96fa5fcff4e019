// TLS under a StreamConnection: OpenSSL on the connection's own socket, never blocking.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "proxy/transport/transport.h"

namespace readygate {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
/// Stateless, so an owned SSL costs one pointer (every connection holds one).
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

/// Owns one SSL object bound to the connection's fd. Reads and writes map OpenSSL's
/// WANT_READ/WANT_WRITE onto EAGAIN (with IoResult::wantWrite). Small pieces of one
/// write are gathered into one record, as one send; a record OpenSSL could not send
/// whole is offered again with at least the same bytes, as OpenSSL requires.
class TlsTransport final : public Transport {
 public:
  enum class Role { Server, Client };
  TlsTransport(SslPtr ssl, int fd, Role role);

  IoResult read(int fd, char* into, size_t size) override;
  IoResult write(int fd, const iovec* vectors, int count) override;
  IoResult handshake(int fd) override;
  bool hasBuffered() const override { return SSL_has_pending(ssl_.get()) == 1; }
  void sayGoodbye(int fd) override;

  SSL* ssl() const { return ssl_.get(); }
  /// After the handshake: "TLSv1.3", "TLSv1.2".
  std::string_view version() const { return SSL_get_version(ssl_.get()); }
  /// The protocol ALPN chose ("" when none).
  std::string_view alpn() const override;
  /// The name the client asked for with SNI ("" when none).
  std::string_view serverName() const override;
  /// Why the handshake failed, in OpenSSL's words (after handshake() returned an error).
  const std::string& failure() const;
  /// The reason code of that failure (SSL_R_...), 0 when it was not a TLS protocol error.
  int failureReason() const { return failureReason_; }

 private:
  /// Maps an SSL_* call's result to an IoResult; `bytes` when it did something.
  IoResult outcome(int returned, bool forHandshake);

  SslPtr ssl_;
  std::unique_ptr<std::string> failure_;  // made only when something failed
  size_t retryBytes_ = 0;  // a record OpenSSL holds half-sent: the next write offers these again
  int failureReason_ = 0;
  bool failed_ = false;    // a fatal error: no close_notify, no further calls
  bool goodbyeSaid_ = false;
};

}  // namespace readygate
