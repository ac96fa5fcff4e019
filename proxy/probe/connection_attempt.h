// Shared machinery of probes that connect: connect, overall timeout, report once.
#pragma once

#include <string>
#include <string_view>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/socket_address.h"
#include "proxy/core/timer.h"
#include "proxy/probe/prober.h"
#include "proxy/transport/tls_client_context.h"

namespace readygate {

/// One connection-based probe attempt. Subclasses react to the connection; this class
/// owns the socket, the timeout and the promise to call `done` once, on a later pass.
class ConnectionAttempt : public ProbeAttempt {
 public:
  ~ConnectionAttempt() override = default;

 protected:
  ConnectionAttempt(event_base* base, ProbeDone done);

  /// Over TLS (call before begin): after the TCP connect a handshake with `tls` for
  /// `serverName` (SNI, verification), offering `alpn` ("h2") when not empty. onConnected
  /// comes once the handshake is done; a failed one is `tls_handshake`.
  void useTls(const TlsClientContext* tls, std::string serverName, std::string alpn = "");
  /// Starts connecting; the whole attempt (connect and answer) must end within `timeout`.
  void begin(const SocketAddress& address, double timeoutSeconds);
  /// Reports `result` on the next loop pass and closes the connection now.
  void finish(ProbeResult result);
  /// Closes with a reset instead of a FIN, as HAProxy does after its checks: the probe
  /// has its answer, and 10,000 probes a second must not leave 600,000 sockets in
  /// TIME_WAIT on the proxy's host.
  void resetOnClose() { resetOnClose_ = true; }
  bool finished() const { return finished_; }
  event_base* base() const { return base_; }
  bufferevent* connection() const { return connection_.get(); }
  /// The protocol the TLS server chose by ALPN ("" without TLS or without a choice).
  std::string negotiatedProtocol() const;

  virtual void onConnected() = 0;
  virtual void onReadable() {}
  /// The peer closed. Default: a probe that needed an answer did not get one.
  virtual void onEndOfStream() { finish(ProbeResult::failed("connection_closed")); }
  /// An error before onConnected. Default: connect_refused / connect_error.
  virtual void onConnectError(int error);
  /// An error after onConnected.
  virtual void onError(int error);

 private:
  static void onRead(bufferevent*, void* self);
  static void onEvent(bufferevent*, short what, void* self);
  /// Puts a TLS filter over the connected socket; its events count as connecting again.
  void startTls();
  void onTlsFailed();
  void onTimeout();
  void deliver();

  event_base* base_;
  ProbeDone done_;
  BufferEventPtr connection_;
  Timer timeout_;
  Timer deliver_;
  ProbeResult result_;
  const TlsClientContext* tls_ = nullptr;
  std::string serverName_;
  std::string alpn_;
  bool tlsStarted_ = false;
  bool connected_ = false;
  bool finished_ = false;
  bool resetOnClose_ = false;
};

}  // namespace readygate
