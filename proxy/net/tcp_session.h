// One proxied TCP connection: a byte pump between a client and the upstream its connector found.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "proxy/core/libevent_handles.h"
#include "proxy/net/session.h"
#include "proxy/upstream/upstream_connector.h"

namespace readygate {

/// Forwards bytes both ways between a client and one backend of `service`; backend
/// choice, retries, accounting and drain come from UpstreamConnector.
/// Runs on one worker's loop; owned by that worker.
///
/// Backpressure: when the peer's output buffer passes the service's bufferBytes, reading
/// from this side stops until the peer has written it down to half of that, so memory
/// per session stays bounded whatever the speeds of the two ends.
/// Half-close: an EOF from one side is passed on as shutdown(SHUT_WR) once everything
/// before it has been written; the session ends when both directions are closed.
class TcpSession : public Session, private UpstreamConnector::Client {
 public:
  TcpSession(event_base* base, std::shared_ptr<Service> service, evutil_socket_t clientFd,
             BackendLeases& leases, SessionOwner& owner);
  ~TcpSession() override;
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  static SessionFactory factory();

  void start() override;
  void abort(std::string_view reason) override { finish(reason); }

 private:
  /// One end of the pair. `eof` means it sent FIN; `shutdownSent` means we sent it ours.
  struct Side {
    BufferEventPtr bev;
    bool eof = false;
    bool shutdownSent = false;
    bool pausedByPeer = false;
  };

  void onUpstreamConnected() override;
  void onUpstreamFailed(std::string_view reason) override;
  void forward(Side& from, Side& to);
  /// Moves what `from` received to `to`'s output (zero-copy), counting the bytes.
  evbuffer* moveInput(Side& from, Side& to);
  void onDrained(Side& to, Side& from);
  void onEndOfStream(Side& from, Side& to);
  void passShutdownIfFlushed(Side& from, Side& to);
  void finishIfBothClosed();
  void finish(std::string_view reason);
  void touch();

  static void onClientRead(bufferevent*, void* self);
  static void onUpstreamRead(bufferevent*, void* self);
  static void onClientWrite(bufferevent*, void* self);
  static void onUpstreamWrite(bufferevent*, void* self);
  static void onClientEvent(bufferevent*, short what, void* self);
  static void onUpstreamEvent(bufferevent*, short what, void* self);
  static void onIdleCheck(evutil_socket_t, short, void* self);

  event_base* base_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;  // as they were when the client came
  SessionOwner& owner_;
  Side client_;
  Side upstream_;
  bool upstreamConnected_ = false;
  bool finished_ = false;
  std::string backendName_ = "-";  // for the close line, after the connector let go
  std::unique_ptr<UpstreamConnector> connector_;
  EventPtr idleTimer_;
  timeval lastActivity_{};
  timeval startedAt_{};
  bool counted_ = false;  // counted in the service's traffic, to be uncounted once
};

}  // namespace readygate
