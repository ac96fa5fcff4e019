// One request and its response, whichever codec carries the client side: route, backend choice
// and retries, the replay buffer, reading and checking the response, its timers, the access log
// line and the metrics.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/core/timer.h"
#include "proxy/http/http2_upstream.h"
#include "proxy/http/http2_upstream_pool.h"
#include "proxy/http/message_reader.h"
#include "proxy/http/message_writer.h"
#include "proxy/net/session.h"
#include "proxy/upstream/upstream_connector.h"

namespace readygate {

/// The client side of an exchange: the HTTP/1 connection, or one HTTP/2 stream.
/// It owns the client's framing (chunks, HTTP/1.0, Connection) and its socket; the
/// exchange never sees either. The exchange calls these last in whatever it is doing, so
/// the client may end the exchange (and reuse the object) from inside any of them.
class ExchangeClient {
 public:
  virtual ~ExchangeClient() = default;
  /// A head from the backend: an interim 1xx, a 101 accepted for the upgrade, or the
  /// response; `hasBody` says whether a body follows (not for HEAD, 204, 304, length 0).
  virtual void onResponseHead(const MessageHead& response, bool hasBody) = 0;
  virtual void onResponseBody(std::string_view data) = 0;
  /// Trailers came after the response body (an HTTP/2 backend's: gRPC's status), just
  /// before onResponseEnd. HTTP/1 clients do without them.
  virtual void onResponseTrailers(const std::vector<HeaderField>&) {}
  /// The response is complete; the exchange has logged it and let its backend go.
  virtual void onResponseEnd() = 0;
  /// No answer will come from a backend: the client side answers `status` itself (502,
  /// 503, 504). `keepClient` false: the connection cannot carry another request.
  virtual void onLocalResponse(int status, std::string_view reason, bool keepClient) = 0;
  /// A response under way cannot be finished: the client is cut.
  virtual void onExchangeCut(std::string_view reason) = 0;
  /// The 101 and everything before it went to the client: `upstream` carries the new
  /// protocol from here. The exchange keeps owning it (and its lease) until let go.
  virtual void onUpgraded(StreamConnection& upstream) = 0;
  /// The backend can take (more of) the request body now.
  virtual void onRequestBodyWanted() = 0;
  /// Bytes waiting for the client; past bufferBytes the backend is no longer read.
  virtual size_t clientQueued() const = 0;
  /// onClientDrained (to the exchange) is wanted once the client's queue is this low.
  virtual void wantClientDrained(size_t bytes) = 0;
  /// Sends what both sides have queued (the end of every entry point).
  virtual void flushWrites() = 0;
};

/// An exchange lives as long as its request and is then given back to the worker's
/// ExchangePool with its buffers (request head, response reader, replay buffer), so a
/// keep-alive connection between requests holds none of them and a request allocates
/// nothing.
///
/// A request is sent again, to another backend, when its connection fails before any
/// response byte, it is idempotent and all of it (at most kReplayBytes) is still at
/// hand; a POST whose bytes may have reached a backend never is.
///
/// To an HTTP/2 backend (upstreamProtocol h2, h2c) the request is one stream on the
/// worker's multiplexed connection to the backend picked. A stream the backend never
/// began goes to another backend, whatever its method, while its body is still at hand.
class HttpExchange : private UpstreamConnector::Client,
                     private StreamConnection::Handler,
                     private Http2Upstream::StreamHandler,
                     private Http2UpstreamPool::Waiter {
 public:
  static constexpr size_t kReplayBytes = 64 * 1024;

  struct Context {
    event_base* base;
    BackendLeases& leases;
    UpstreamPool& pool;
    BufferPool& buffers;
    Http2UpstreamPool* multiplexed = nullptr;  // not owned: the worker's (ExchangePool's)
  };
  /// What the client side knows of the request's connection.
  struct Origin {
    ExchangeClient* client;     // not owned
    DrainTarget* drainTarget;   // not owned: closed when the backend's drain time is up
    std::shared_ptr<Service> service;  // the listener's
    std::shared_ptr<const ServiceSettings> settings;  // as they are for this request
    const SocketAddress* peer;         // not owned: the client's, for trusted proxies
    const SocketAddress* local = nullptr;  // not owned: where it connected (PROXY header out)
    bool secure = false;               // the client came over TLS
    std::string_view serverName;       // the name its TLS handshake asked for ("" none)
    std::string_view clientSubject;    // mTLS: the verified client certificate ("" none)
  };
  /// A route, a limit or the listener's rules answered the request before any backend saw
  /// it (404, 421, 503, or a redirect to `location`).
  struct Refusal {
    int status;
    std::string_view reason;
    std::string location = {};
  };

  explicit HttpExchange(const Context& context);
  ~HttpExchange() override;
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  /// A new request from `origin`, its head about to be parsed into request().
  void begin(const Origin& origin);
  MessageHead& request() { return request_; }
  const MessageHead& request() const { return request_; }

  /// The head is complete and checked: picks the service whose backends take it and
  /// makes the head sent upstream. A refusal (404, 503) is for the client to answer.
  std::optional<Refusal> prepare(bool hasBody);
  /// Connects (from the pool or anew) and sends what there is of the request.
  void forward();
  bool forwarding() const { return forwarding_; }
  void requestBody(std::string_view data);
  /// The request is complete. `trailers` ("name: value\r\n" lines, HTTP/2's) follow a
  /// chunked body; a body of known length has no place for them and they are dropped.
  void requestEnd(std::string_view trailers = {});
  /// Bytes of the request are waiting for the backend beyond bufferBytes: the client
  /// side stops reading (onRequestBodyWanted follows once it has caught up).
  bool upstreamFull();
  /// The client took what waited for it: the backend is read again.
  void onClientDrained();
  /// Bytes moved on the client side: the idle timer measures from here.
  void touch() { idle_.touch(); }
  bool responseStarted() const { return responseStarted_; }
  StreamConnection* upstream() { return upstream_.get(); }
  /// The service whose metrics count the request (the route's, or the listener's).
  Service& target() { return *target_; }

  /// The client side answered the request itself (`status`), or went away: the backend
  /// connection is closed (never pooled) and the exchange is over. Logged when `status`,
  /// with `reason` (why readygate answered itself); `grpcStatus` (>= 0) when the client
  /// is told a gRPC status instead, for the log and the metrics.
  void endLocally(int status, std::string_view reason = {}, int grpcStatus = -1);
  /// One access-log line (http.accessLog) for `status`, as the exchange stands; `reason`
  /// for readygate's own answers ("-" for a backend's).
  void logAccess(int status, std::string_view backend, std::string_view reason = "-");

 private:
  /// The listener's own answers: the HTTPS redirect, 421 for a name its TLS certificate
  /// was not chosen for.
  std::optional<Refusal> listenerRefusal() const;
  enum class TimerPurpose { None, Response, Idle };

  struct ResponseEvents : MessageReader::Events {
    explicit ResponseEvents(HttpExchange* owner) : exchange(owner) {}
    HttpExchange* exchange;
    void onHead(MessageHead& head) override { exchange->onResponseHead(head); }
    void onBody(std::string_view data) override { exchange->onResponseBody(data); }
    void onMessageEnd() override { exchange->responseEnded_ = true; }
  };
  /// Every entry point from the loop ends with the client's flush, so the bytes of one
  /// pass leave in one system call per socket.
  struct FlushAtExit {
    explicit FlushAtExit(ExchangeClient* owner) : client(owner) {}
    ~FlushAtExit() { client->flushWrites(); }
    FlushAtExit(const FlushAtExit&) = delete;
    FlushAtExit& operator=(const FlushAtExit&) = delete;
    ExchangeClient* client;  // not owned: sessions are deleted later (DeferredDelete)
  };

  void writeUpstream(std::string_view data);
  // Upstream side.
  void onUpstreamConnected() override;
  void onUpstreamFailed(std::string_view reason) override;
  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection& connection) override;
  void onClosed(StreamConnection& connection, int error) override;
  void processUpstreamInput();
  /// `endStream`: an HTTP/2 head that ends the response (no body follows).
  void onResponseHead(MessageHead& head, bool endStream = false);
  void onResponseBody(std::string_view data);
  void onUpstreamClosed();
  // To an HTTP/2 backend.
  void openStream();
  void onStreamHead(MessageHead& head, bool endStream) override;
  void onStreamData(std::string_view data) override;
  void onStreamEnd(std::vector<HeaderField>& trailers) override;
  void onStreamFailed(uint32_t code, bool connectionLost) override;
  void onStreamDrained() override;
  void onConnectionSettled() override { waitOver_.armNow(); }
  void onWaitOver();
  void noteGrpcStatus(const std::vector<HeaderField>& fields);
  void onDeadline();
  void finishExchange();
  void releaseUpstream(bool reusable);
  /// A response that cannot go on: closed upstream, then the client answers or is cut.
  void failResponse(std::string_view reason);
  void armTimer(TimerPurpose purpose, double seconds);
  void onTimer();

  event_base* base_;
  UpstreamPool& pool_;
  ExchangeClient* client_ = nullptr;  // not owned: set by begin()
  DrainTarget* drainTarget_ = nullptr;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;
  const SocketAddress* peer_ = nullptr;
  // Its host, for X-Forwarded-For and the log: formatted here, and again only when the
  // next request comes from another peer (an idle client connection keeps no copy).
  std::string clientAddress_;
  SocketAddress clientAddressOf_;
  const SocketAddress* local_ = nullptr;  // not owned: the address the client reached
  std::string hostIfMissing_;             // the upstream Host of an HTTP/1.0 request without one
  bool secure_ = false;
  std::string_view serverName_;  // the client connection's SNI
  std::string_view clientSubject_;  // the client connection's verified certificate
  // The service whose backends take the request: the listener's, or a route's.
  std::shared_ptr<Service> target_;
  std::shared_ptr<const ServiceSettings> targetSettings_;
  UpstreamConnector connector_;
  std::unique_ptr<StreamConnection> upstream_;
  ResponseEvents responseEvents_;
  MessageReader responseReader_;  // restarted per response: its buffers are kept
  bool reading_ = false;          // responseReader_ is reading this exchange's response
  Timer timer_;
  TimerPurpose timerPurpose_ = TimerPurpose::None;
  IdleWindow idle_;  // from the last byte either way
  Timer deadline_;   // grpc-timeout: the whole call's
  Timer waitOver_;   // the connection waited for settled: look again on the next pass
  const Backend* waitingOn_ = nullptr;  // not owned (the lease's): the backend waited for
  Http2UpstreamPool* multiplexedPool_;  // not owned: the worker's
  bool multiplexed_ = false;    // this request goes to an HTTP/2 backend
  Http2Upstream* stream_ = nullptr;  // not owned (the pool's): the connection carrying it
  int32_t streamId_ = 0;
  std::vector<HeaderField> h2Fields_;  // the request head for an HTTP/2 backend
  std::string requestTrailers_;        // until the stream is open
  std::vector<HeaderField> responseTrailers_;
  size_t unconsumed_ = 0;  // response bytes whose window waits for the client to catch up
  bool requestHasBody_ = false;
  std::string grpcStatus_;  // for the access log: the response's grpc-status ("" none)

  MessageHead request_;
  bool forwarding_ = false;
  bool requestComplete_ = false;
  BodyFraming requestFraming_ = BodyFraming::None;
  std::string replay_;  // the request as sent upstream, while it is small and idempotent
  bool replayable_ = false;
  std::string generatedRequestId_;  // when the request came without one
  std::string upstreamName_;        // upstreamTls: the Host as SNI (the connector's view of it)
  timeval requestStartedAt_{};
  bool responseStarted_ = false;
  bool responseEnded_ = false;
  bool idleAfterHead_ = false;  // a head came: the idle timer takes over at the pass's end
  bool interim_ = false;  // a 1xx before the real response
  bool tunnelPending_ = false;
  bool upstreamKeepAlive_ = false;
  int responseStatus_ = 0;
  double responseBytes_ = 0;
  double upstreamSeconds_ = 0;  // request head read -> response head
  timeval sentAt_{};            // the request head went upstream
};

/// A worker's idle exchanges, handed out per request and given back at its end (never
/// freed inside a callback: only sweep() lets spare ones go).
class ExchangePool : public WorkerLocal {
 public:
  /// Makes the worker's multiplexed connections (Http2UpstreamPool) too, for the
  /// exchanges it hands out.
  explicit ExchangePool(const HttpExchange::Context& context);
  ~ExchangePool() override;
  std::unique_ptr<HttpExchange> acquire();
  void release(std::unique_ptr<HttpExchange> exchange);
  void sweep() override;
  /// The pool in `slot` (a worker's), made there on first use.
  static ExchangePool& of(std::unique_ptr<WorkerLocal>& slot, const HttpExchange::Context& context);

 private:
  static constexpr size_t kKeptAfterSweep = 64;
  SteadyClock clock_;
  std::unique_ptr<Http2UpstreamPool> multiplexed_;  // before context_, which points at it
  HttpExchange::Context context_;
  std::vector<std::unique_ptr<HttpExchange>> free_;
};

}  // namespace readygate
