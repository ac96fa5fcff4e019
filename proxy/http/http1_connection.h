// One client connection in mode http, HTTP/1.x: the codec that reads requests one at a time and
// frames their responses, with keep-alive, pipelining, limits and the header timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/core/timer.h"
#include "proxy/http/http_exchange.h"
#include "proxy/http/message_reader.h"
#include "proxy/net/byte_pump.h"
#include "proxy/net/session.h"

namespace readygate {

/// Each request is an HttpExchange from the worker's pool (route, backend, retries, the
/// response's reading, its log line); this connection owns only the client's socket and
/// its HTTP/1 framing. Bodies stream both ways and are re-framed, never buffered whole.
/// Pipelined requests are read one after the other: the next one waits in the socket
/// until the response before it is done. An Upgrade answered with 101 turns the
/// connection into a byte tunnel (BytePump, as TCP mode).
class Http1Connection : public Session,
                        private ExchangeClient,
                        private StreamConnection::Handler,
                        private BytePump::Owner {
 public:
  Http1Connection(const SessionContext& context, ClientConnection client);
  ~Http1Connection() override;
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  void start() override;
  void abort(std::string_view reason) override { finish(reason); }
  void closeIfIdle() override;

 private:
  enum class Phase : uint8_t {
    AwaitingRequest,  // between requests (or reading a head)
    Forwarding,       // a request is on its way to a backend, or its response back
    Tunnel,           // after 101 Switching Protocols: bytes both ways
    Closing,          // writing the last bytes, then closing
  };
  enum class TimerPurpose : uint8_t { None, KeepAlive, Header, Closing };

  struct RequestEvents : MessageReader::Events {
    explicit RequestEvents(Http1Connection* owner) : connection(owner) {}
    Http1Connection* connection;
    MessageHead* headForNextMessage() override { return &connection->beginExchange(); }
    void onHead(MessageHead& head) override { connection->onRequestHead(head); }
    void onBody(std::string_view data) override { connection->onRequestBody(data); }
    void onMessageEnd() override { connection->requestEnded_ = true; }
  };
  struct FlushAtExit {
    explicit FlushAtExit(Http1Connection* owner) : connection(owner) {}
    ~FlushAtExit() { connection->flushWrites(); }
    FlushAtExit(const FlushAtExit&) = delete;
    FlushAtExit& operator=(const FlushAtExit&) = delete;
    Http1Connection* connection;  // not owned: sessions are deleted later (DeferredDelete)
  };

  /// A cleartext client that opens with HTTP/2's preface (h2c with prior knowledge) gets
  /// an Http2Connection: true when the bytes so far are that preface or its beginning
  /// (then nothing is read as HTTP/1; once it is whole, the connection is handed over).
  bool handOverIfHttp2();

  // Requests.
  /// The exchange the next request is parsed into (a new one from the pool).
  MessageHead& beginExchange();
  void processClientInput();
  /// The request reader failed: an error response, or the cut when one is under way.
  void requestFailed();
  /// Runs the request's reader over every byte at hand without consuming them.
  void validateBufferedRequest();
  void onRequestHead(MessageHead& head);
  void onRequestBody(std::string_view data);
  void releaseExchange();
  MessageReader& reader();

  // ExchangeClient: the response side.
  void onResponseHead(const MessageHead& response, bool hasBody) override;
  void onResponseBody(std::string_view data) override;
  void onResponseEnd() override;
  void onLocalResponse(int status, std::string_view reason, bool keepClient) override;
  void onExchangeCut(std::string_view reason) override { finish(reason); }
  void onUpgraded(StreamConnection& upstream) override;
  void onRequestBodyWanted() override;
  size_t clientQueued() const override { return client_->queued(); }
  void wantClientDrained(size_t bytes) override { client_->setDrainMark(bytes); }
  /// Writes what both connections have queued; every entry point ends with it, so the
  /// bytes of one pass leave in one system call per socket.
  void flushWrites() override;

  // The client's connection.
  void onInput(StreamConnection& connection) override;
  void onDrained(StreamConnection& connection) override;
  void onClosed(StreamConnection& connection, int error) override;
  void onReadTimeout(StreamConnection& connection) override;
  // The tunnel.
  void onPumpActivity(bool, size_t) override { touch(); }
  void onPumpClosed() override { finish("tunnel_closed"); }
  void onPumpFailed(bool clientSide, int error) override;

  void writeClient(std::string_view data);
  // Endings.
  /// A local answer; `location` for a redirect.
  void respondError(int status, std::string_view reason, std::string_view location = {});
  void closeAfterFlush(std::string_view reason);
  void finish(std::string_view reason);
  void armTimer(TimerPurpose purpose, double seconds);
  void onTimer();
  /// Bytes moved: the idle timers measure from here.
  void touch();

  event_base* base_;
  std::shared_ptr<Service> service_;
  std::shared_ptr<const ServiceSettings> settings_;  // as they were when the request came
  SessionOwner& owner_;
  const std::atomic<bool>& draining_;
  SocketAddress peer_;
  SocketAddress local_;  // for sendProxyProtocol, and a Host for HTTP/1.0 without one
  // mTLS: the verified client, for clientSubjectHeader; null when none. (The SNI name for
  // the 421 rule is not copied: the transport has it.) Memory per idle client is a
  // benchmark target, so what most connections leave empty takes a pointer, not a string.
  std::unique_ptr<const std::string> clientSubject_;
  std::unique_ptr<StreamConnection> client_;
  ExchangePool& exchanges_;                 // the worker's
  std::unique_ptr<HttpExchange> exchange_;  // the request in flight, if any
  RequestEvents requestEvents_;
  /// Made when a request's bytes come, dropped between requests (reader()).
  std::unique_ptr<MessageReader> requestReader_;
  std::unique_ptr<BytePump> pump_;  // after a 101 (rare: not carried by every connection)
  Timer timer_;
  IdleWindow idle_;        // while closing: from the last byte that moved
  timeval connectedAt_{};  // the client connection's start, for its duration
  std::unique_ptr<const std::string> closeReason_;  // while Closing: what finish() will say
  double requestBodyBytes_ = 0;  // of the request in flight

  // The small fields last, together: every idle client carries this object, so padding
  // between them is memory too.
  int inputDepth_ = 0;  // processClientInput calls under way (it can be reentered)
  TimerPurpose timerPurpose_ = TimerPurpose::None;
  Phase phase_ = Phase::AwaitingRequest;
  BodyFraming responseFraming_ = BodyFraming::None;  // as written to the client
  bool secure_;  // TLS: X-Forwarded-Proto https, HSTS
  bool finished_ = false;
  bool counted_ = false;
  // The request in flight, as the client sent it.
  bool headArrived_ = false;
  bool requestEnded_ = false;
  bool requestComplete_ = false;
  bool requestHasBody_ = false;
  bool keepClient_ = true;
  bool clientEof_ = false;
  bool servedRequest_ = false;  // a request began here: no h2c preface can follow
};

}  // namespace readygate
