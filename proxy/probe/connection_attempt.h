// Shared machinery of probes that connect: connect, overall timeout, report once.
#pragma once

#include <string_view>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/socket_address.h"
#include "proxy/probe/prober.h"

namespace readygate {

/// One connection-based probe attempt. Subclasses react to the connection; this class
/// owns the socket, the timeout and the promise to call `done` once, on a later pass.
class ConnectionAttempt : public ProbeAttempt {
 public:
  ~ConnectionAttempt() override = default;

 protected:
  ConnectionAttempt(event_base* base, ProbeDone done);

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
  /// Hands the connection to `wrap` (e.g. a TLS filter takes it over) and puts what it
  /// returns in charge; its events count as connecting again until it says CONNECTED.
  void wrapConnection(const std::function<bufferevent*(bufferevent* underlying)>& wrap);

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

  event_base* base_;
  ProbeDone done_;
  BufferEventPtr connection_;
  EventPtr timeout_;
  EventPtr deliver_;
  ProbeResult result_;
  bool connected_ = false;
  bool finished_ = false;
  bool resetOnClose_ = false;
};

}  // namespace readygate
