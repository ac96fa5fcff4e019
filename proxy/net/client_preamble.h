// What a new client connection goes through before its session: a PROXY header, a TLS handshake.
#pragma once

#include <memory>
#include <string>

#include "proxy/core/socket_address.h"
#include "proxy/core/timer.h"
#include "proxy/net/session.h"
#include "proxy/transport/stream_connection.h"
#include "proxy/transport/tls_transport.h"
#include "proxy/upstream/service.h"

namespace readygate {

/// Reads the PROXY header, when the listener takes one, then runs the TLS handshake,
/// when it terminates TLS, both under one deadline (the handshake timeout; a plaintext
/// listener's header gets kProxyHeaderTimeoutSeconds). The header is read without ever
/// taking a byte past it (the TLS hello behind it belongs to OpenSSL): what has come is
/// peeked, and only bytes known to be the header's are taken. Owned by its worker.
class ClientPreamble : private StreamConnection::Handler {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    /// The connection is ready for its session. Called last: the owner may delete the
    /// preamble from here.
    virtual void onPreambleDone(ClientPreamble& preamble, ClientConnection client) = 0;
    /// Refused or failed (`reason` logged and counted already); the socket is closed.
    virtual void onPreambleFailed(ClientPreamble& preamble) = 0;
  };

  static constexpr double kProxyHeaderTimeoutSeconds = 10;

  ClientPreamble(event_base* base, BufferPool& buffers, int fd, const SocketAddress& peer,
                 std::shared_ptr<Service> service, Owner& owner);
  ~ClientPreamble() override;
  ClientPreamble(const ClientPreamble&) = delete;
  ClientPreamble& operator=(const ClientPreamble&) = delete;

  void start();
  /// Ends it now (shutdown): closed, nothing reported.
  void abort();

 private:
  static void onProxyReadable(evutil_socket_t fd, short, void* self);
  void readProxyHeader();
  /// After the header (or without one): TLS, or done.
  void secure();
  void onHandshake(StreamConnection& connection, int error) override;
  void onInput(StreamConnection&) override {}
  void onDrained(StreamConnection&) override {}
  void onClosed(StreamConnection&, int) override {}
  void onDeadline();
  void fail(std::string_view reason);
  void done();
  double secondsSinceAccept() const;

  event_base* base_;
  BufferPool& buffers_;
  int fd_;  // owned until connection_ takes it
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;  // as at accept
  Owner& owner_;
  ClientConnection client_;
  std::string header_;  // what of the PROXY header was taken off the socket so far
  EventPtr proxyEvent_;
  TlsTransport* tls_ = nullptr;  // not owned: client_.connection's transport
  Timer deadline_;
  timeval acceptedAt_{};
};

}  // namespace readygate
