// One client connection in mode http speaking HTTP/2 (h2 by ALPN, or h2c with prior
// knowledge): the socket and the H2ServerSession, each stream an HttpExchange.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/core/libevent_handles.h"
#include "proxy/core/timer.h"
#include "proxy/http/h2_server_session.h"
#include "proxy/http/http_exchange.h"
#include "proxy/net/session.h"

namespace readygate {

/// Each stream is an exchange from the worker's pool, as an HTTP/1 request is: routes,
/// backend choice, retries, limits, the access log and the metrics are the same code.
/// The connection owns the socket and the session; a stream owns its exchange while its
/// request is in flight. What one stream may hold: its request body up to the stream
/// window (the window reopens only as the backend takes it) and its response up to
/// bufferBytes (then the backend is not read until the client's window lets it go); all
/// streams' responses together up to kConnectionResponseBytes, so a client that never
/// opens its window costs about that much, not 100 streams × bufferBytes.
///
/// Ends: the graceful close (shutdown, maxStreamsPerConnection, keep-alive timeout) is
/// the two-step GOAWAY; the connection closes once the session has nothing left to say
/// and every byte is written.
class Http2Connection : public Session,
                        private StreamConnection::Handler,
                        private H2ServerSession::Events {
 public:
  /// What the connection needs of its worker.
  struct WorkerParts {
    event_base* base;
    std::shared_ptr<Service> service;
    ExchangePool& exchanges;
    SessionOwner& owner;
  };
  Http2Connection(const SessionContext& context, ClientConnection client);
  /// From an HTTP/1 session that saw the h2c preface: it counted the connection, which
  /// began at `connectedAt`; the preface waits in the connection's input.
  Http2Connection(const WorkerParts& worker, ClientConnection client, timeval connectedAt);
  ~Http2Connection() override;
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  void start() override;
  void abort(std::string_view reason) override { finish(reason); }
  /// Shutdown: the two-step GOAWAY; open streams finish first.
  void closeIfIdle() override;

 private:
  class Stream;
  friend class Stream;

  // H2ServerSession::Events.
  void onRequestHead(int32_t id, MessageHead& head, bool endStream) override;
  void onRequestData(int32_t id, std::string_view data) override;
  void onRequestEnd(int32_t id, std::string_view trailers) override;
  void onStreamClosed(int32_t id, uint32_t errorCode) override;
  void onResponseDrained(int32_t id) override;
  void onStreamRefused(int32_t id, std::string_view reason, bool delivered) override;
  void onConnectionDrained() override;
  /// `id`'s backend waits until the connection's queued responses come down.
  void waitForRoom(int32_t id);

  // The client's socket.
  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection& connection) override;
  void onClosed(StreamConnection& connection, int error) override;

  Stream* find(int32_t id);
  /// A stream has output (a backend's response came): flushWrites runs once this loop
  /// pass has handled every event already due, so the responses of all streams that
  /// came in one pass leave in one send, not one each.
  void scheduleFlush();
  /// Hands the session's output to the socket (as much as bufferBytes allows), sends it
  /// and the streams' upstream bytes, then closes when all is said.
  void flushWrites();
  /// The counters the session kept since the last call, into the service's metrics.
  void publishCounters();
  void updateIdleTimeout();
  /// The session has nothing more to say and all of it is written: FIN, then what the
  /// client still sends is read and dropped until it closes (or kLingerSeconds, or
  /// kLingerBytes).
  void linger();
  void onSettingsTimer();
  void onCloseTimer();
  void onIdleTimer();
  /// The HSTS field of a TLS listener's answers (none in cleartext).
  const std::vector<HeaderField>& hstsFields();
  void finish(std::string_view reason);
  double now() const;

  event_base* base_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;  // as at the connection's start
  SessionOwner& owner_;
  SocketAddress peer_;
  SocketAddress local_;
  std::string clientSubject_;
  bool secure_;
  std::unique_ptr<StreamConnection> client_;
  ExchangePool& exchanges_;  // the worker's
  H2ServerSession session_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  /// Closed inside a callback of theirs: freed at the next entry point of the connection.
  std::vector<std::unique_ptr<Stream>> closed_;
  /// Streams whose exchange wrote upstream during this pass (flushed at its end).
  std::vector<int32_t> upstreamDirty_;
  /// Streams whose backends stopped being read because the connection's queue was full.
  std::vector<int32_t> waitingForRoom_;
  std::vector<HeaderField> hsts_;  // hstsFields()' answer, kept
  EventPtr flushEvent_;  // scheduleFlush's: made on first use
  bool flushScheduled_ = false;
  Timer settingsTimer_;
  Timer closeTimer_;  // the graceful close's wait for its PING
  Timer idleTimer_;
  IdleWindow idle_;
  double idleWindow_ = -1;  // the window idle_ measures now
  size_t lingerBytes_ = 0;  // dropped since the lingering close began
  timeval connectedAt_{};
  bool receiving_ = false;  // inside session_.receive(): output waits until it returns
  bool finished_ = false;
  bool counted_ = false;
  bool handedOver_;
  bool closingTimerArmed_ = false;
  bool lingering_ = false;
};

}  // namespace readygate
