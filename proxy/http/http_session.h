// One client connection in mode http: requests read one at a time, each sent to a backend picked
// for it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <optional>

#include "proxy/core/timer.h"
#include "proxy/http/message_reader.h"
#include "proxy/http/message_writer.h"
#include "proxy/net/byte_pump.h"
#include "proxy/net/session.h"
#include "proxy/upstream/upstream_connector.h"

namespace readygate {

/// An HTTP/1.x reverse-proxy session. Each request gets a backend of its own from the
/// rotation snapshot (through UpstreamConnector, which reuses pooled keep-alive
/// connections); bodies stream both ways and are re-framed, never buffered whole.
/// Pipelined requests are read one after the other: the next one waits in the socket
/// until the response before it is done. An Upgrade answered with 101 turns the
/// session into a byte tunnel (BytePump, as TCP mode).
///
/// A request is sent again, to another backend, when its connection fails before any
/// response byte, it is idempotent and all of it (at most kReplayBytes) is still at
/// hand; a POST whose bytes may have reached a backend never is.
class HttpSession : public Session,
                    private UpstreamConnector::Client,
                    private StreamConnection::Handler,
                    private BytePump::Owner {
 public:
  static constexpr size_t kReplayBytes = 64 * 1024;

  HttpSession(const SessionContext& context, evutil_socket_t clientFd, const SocketAddress& peer);
  ~HttpSession() override;
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  static SessionFactory factory();

  void start() override;
  void abort(std::string_view reason) override { finish(reason); }
  void closeIfIdle() override;

 private:
  enum class Phase {
    AwaitingRequest,  // between requests (or reading a head)
    Forwarding,       // a request is on its way to a backend, or its response back
    Tunnel,           // after 101 Switching Protocols: bytes both ways
    Closing,          // writing the last bytes, then closing
  };
  enum class TimerPurpose { None, KeepAlive, Header, Response, Idle };

  struct RequestEvents : MessageReader::Events {
    explicit RequestEvents(HttpSession* owner) : session(owner) {}
    HttpSession* session;
    void onHead(MessageHead& head) override { session->onRequestHead(head); }
    void onBody(std::string_view data) override { session->onRequestBody(data); }
    void onMessageEnd() override { session->requestEnded_ = true; }
  };
  struct ResponseEvents : MessageReader::Events {
    explicit ResponseEvents(HttpSession* owner) : session(owner) {}
    HttpSession* session;
    void onHead(MessageHead& head) override { session->onResponseHead(head); }
    void onBody(std::string_view data) override { session->onResponseBody(data); }
    void onMessageEnd() override { session->responseEnded_ = true; }
  };

  // Client side.
  void processClientInput();
  /// The request reader failed: an error response, or the cut when one is under way.
  void requestFailed();
  /// Runs the request's reader over every byte at hand without consuming them.
  void validateBufferedRequest();
  void onRequestHead(MessageHead& head);
  /// Picks target_ by the routes; false when the request was answered (404, 503).
  bool route();
  void onRequestBody(std::string_view data);
  void startForwarding();
  void writeUpstream(std::string_view data);
  // Upstream side.
  void onUpstreamConnected() override;
  void onUpstreamFailed(std::string_view reason) override;
  void processUpstreamInput();
  void onResponseHead(MessageHead& head);
  void onResponseBody(std::string_view data);
  void onUpstreamClosed();
  void finishExchange();
  void startTunnel();
  void onPumpActivity(bool, size_t) override { touch(); }
  void onPumpClosed() override { finish("tunnel_closed"); }
  void onPumpFailed(bool clientSide, int error) override;
  /// Writes what both connections have queued; every entry point ends with it, so the
  /// bytes of one pass leave in one system call per socket.
  void flushWrites();
  struct FlushAtExit {
    explicit FlushAtExit(HttpSession* owner) : session(owner) {}
    ~FlushAtExit() { session->flushWrites(); }
    FlushAtExit(const FlushAtExit&) = delete;
    FlushAtExit& operator=(const FlushAtExit&) = delete;
    HttpSession* session;  // not owned: sessions are deleted later (DeferredDelete)
  };
  void writeClient(std::string_view data);
  // Endings.
  void respondError(int status, std::string_view reason);
  void closeAfterFlush(std::string_view reason);
  void finish(std::string_view reason);
  void armTimer(TimerPurpose purpose, double seconds);
  /// Bytes moved: the idle timer measures from here.
  void touch() { event_base_gettimeofday_cached(base_, &lastActivity_); }
  void releaseUpstream(bool reusable);
  /// One access-log line for the request just answered (http.accessLog).
  void logAccess(int status, std::string_view backend);

  // Both connections' callbacks (told apart by address) while no pump has them.
  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection& connection) override;
  void onClosed(StreamConnection& connection, int error) override;
  void onClientClosed(int error);
  void onTimer();

  event_base* base_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;  // as they were when the request came
  // The service whose backends take the request in flight: this one, or a route's.
  std::shared_ptr<Service> target_;
  std::shared_ptr<const ServiceSettings> targetSettings_;
  BackendLeases& leases_;
  UpstreamPool& pool_;
  SessionOwner& owner_;
  const std::atomic<bool>& draining_;
  std::string clientAddress_;
  SocketAddress peer_;

  std::unique_ptr<StreamConnection> client_;
  std::unique_ptr<StreamConnection> upstream_;
  UpstreamConnector connector_;  // one for the session, connect() per request
  RequestEvents requestEvents_;
  ResponseEvents responseEvents_;
  MessageReader requestReader_;
  MessageReader responseReaderStorage_;  // restarted per response: its buffers are kept
  MessageReader* responseReader_ = nullptr;  // &responseReaderStorage_ while a response is read
  std::optional<BytePump> pump_;                 // after a 101
  Timer timer_;
  TimerPurpose timerPurpose_ = TimerPurpose::None;
  double timerSeconds_ = 0;  // what the timer was armed for (idle: the window)
  timeval lastActivity_{};   // the last byte either way: the idle timer re-arms from it
  timeval connectedAt_{};    // the client connection's start, for its duration

  Phase phase_ = Phase::AwaitingRequest;
  bool finished_ = false;
  bool counted_ = false;
  std::string closeReason_;
  // The request in flight.
  MessageHead request_;
  bool headArrived_ = false;
  bool requestEnded_ = false;
  bool requestComplete_ = false;
  bool requestHasBody_ = false;
  bool forwarding_ = false;
  BodyFraming requestFraming_ = BodyFraming::None;
  double requestBodyBytes_ = 0;
  std::string replay_;  // the request as sent upstream, while it is small and idempotent
  std::string responseHead_;  // the response head for the client, its buffer reused
  bool replayable_ = false;
  timeval requestStartedAt_{};
  // Its response.
  bool responseStarted_ = false;
  bool responseEnded_ = false;
  bool interim_ = false;  // a 1xx before the real response
  bool tunnelPending_ = false;
  bool upstreamKeepAlive_ = false;
  bool keepClient_ = true;
  bool clientEof_ = false;
  BodyFraming responseFraming_ = BodyFraming::None;
  std::string generatedRequestId_;  // when the request came without one
  int responseStatus_ = 0;
  double responseBytes_ = 0;
  double upstreamSeconds_ = 0;  // request head read -> response head
  timeval sentAt_{};            // the request head went upstream
};

}  // namespace readygate
