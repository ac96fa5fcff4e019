// Http2Connection implementation, and its streams as the exchanges' client side.
#include "proxy/http/http2_connection.h"

#include <algorithm>

#include "proxy/core/log.h"
#include "proxy/http/grpc_status.h"
#include "proxy/http/message_writer.h"
#include "proxy/http/request_checks.h"

namespace readygate {
namespace {

/// The graceful close waits this long for the PING that measures the round trip; a
/// client that does not answer gets the final GOAWAY anyway.
constexpr double kGracefulPingSeconds = 1;
/// After the last GOAWAY: how long what the client still sends is read and dropped
/// before the close. Closing with unread bytes makes the kernel send RST, and a client
/// that gets RST may lose the GOAWAY (and the last responses) still in its buffer.
constexpr double kLingerSeconds = 2;
/// ... and how much of it: a client still flooding is not read for free for 2 s.
constexpr size_t kLingerBytes = 256 * 1024;
/// What all streams of a connection may hold of responses the client has not taken yet.
constexpr size_t kConnectionResponseBytes = 1 << 20;

uint32_t maxHeaderListOf(const ServiceSettings& settings) {
  int bytes = settings.http2.maxHeaderListBytes > 0 ? settings.http2.maxHeaderListBytes
                                                    : settings.http.maxHeaderBytes;
  return static_cast<uint32_t>(bytes);
}

}  // namespace

/// One stream: the exchange's client side. Its request body waits here (unconsumed, so
/// inside the client's window) until the backend wants it.
class Http2Connection::Stream final : public ExchangeClient, public DrainTarget {
 public:
  Stream(Http2Connection& connection, int32_t id) : connection_(connection), id_(id) {}
  ~Stream() override { release(); }

  Http2Connection& connection_;
  int32_t id_;
  std::unique_ptr<HttpExchange> exchange_;
  std::string pendingBody_;  // request bytes the backend has not asked for yet
  std::string trailers_;
  std::vector<HeaderField> responseTrailers_;  // the backend's, until the body ends
  double requestBodyBytes_ = 0;
  bool bodyWanted_ = false;     // the backend is connected and takes body bytes
  bool requestEnded_ = false;   // the client sent all of it
  bool endDelivered_ = false;   // and the exchange was told
  bool hasBody_ = false;
  bool responseStarted_ = false;

  void release() {
    if (!exchange_) return;
    exchange_->endLocally(0);  // whatever it holds of a backend goes
    connection_.exchanges_.release(std::move(exchange_));
  }

  /// What waits goes to the backend as far as it takes it; then the end.
  void deliver() {
    if (!exchange_ || !bodyWanted_) return;
    if (!pendingBody_.empty()) {
      if (exchange_->upstreamFull()) return;  // onRequestBodyWanted again once it drains
      exchange_->requestBody(pendingBody_);
      connection_.session_.consume(id_, pendingBody_.size());
      pendingBody_.clear();
      connection_.upstreamDirty_.push_back(id_);
    }
    if (requestEnded_ && !endDelivered_) {
      endDelivered_ = true;
      exchange_->requestEnd(trailers_);
      connection_.upstreamDirty_.push_back(id_);
    }
  }

  /// readygate answers the stream itself (a refusal, no backend, a timeout). A gRPC
  /// client gets a gRPC status in a trailers-only answer (HTTP 200), as gRPC asks, not a
  /// bare HTTP error it would report as UNKNOWN or INTERNAL.
  void respondLocally(int status, std::string_view reason, std::string_view location = {}) {
    bool grpc = exchange_ && isGrpcRequest(exchange_->request());
    int grpcCode = grpc && !responseStarted_ ? grpcStatusForLocalAnswer(status).code : -1;
    if (exchange_) exchange_->endLocally(status, reason, grpcCode);
    release();
    if (responseStarted_) {
      connection_.session_.resetStream(id_, kH2InternalError, false);
      return;
    }
    responseStarted_ = true;
    if (grpc) {
      GrpcStatus answer = grpcStatusForLocalAnswer(status);
      MessageHead head;
      head.status = 200;
      head.headers = {{"content-type", "application/grpc"},
                      {"grpc-status", std::to_string(answer.code)},
                      {"grpc-message", "readygate: " + std::string(reason)}};
      connection_.session_.submitResponse(id_, head, false);
      return;
    }
    std::string body = errorBody(status, reason);
    MessageHead head;
    head.status = status;
    head.headers = {{"content-type", "text/plain; charset=utf-8"}, {"server", "readygate"}};
    if (status == 503) head.headers.push_back({"retry-after", "1"});
    if (!location.empty()) head.headers.push_back({"location", std::string(location)});
    head.contentLength = body.size();
    connection_.session_.submitResponse(id_, head, true, connection_.hstsFields());
    connection_.session_.sendBody(id_, body);
    connection_.session_.endBody(id_);
  }

  // ExchangeClient.
  void onResponseHead(const MessageHead& response, bool hasBody) override {
    if (response.status >= 100 && response.status < 200) {
      if (response.status == 101) {
        onExchangeCut("unexpected_101");  // HTTP/2 has no upgrade; nothing asked for one
        return;
      }
      connection_.session_.submitInterim(id_, response.status);
      return;
    }
    responseStarted_ = true;
    connection_.session_.submitResponse(id_, response, hasBody, connection_.hstsFields(),
                                        connection_.settings_->http.via);
  }
  void onResponseBody(std::string_view data) override {
    connection_.session_.sendBody(id_, data);
  }
  void onResponseTrailers(const std::vector<HeaderField>& trailers) override {
    responseTrailers_ = trailers;
  }
  void onResponseEnd() override {
    connection_.session_.endBody(id_, responseTrailers_);
    responseTrailers_.clear();
    release();
  }
  void onLocalResponse(int status, std::string_view reason, bool) override {
    respondLocally(status, reason);
  }
  void onExchangeCut(std::string_view reason) override {
    logEvent(LogLevel::Debug, "http2_stream_cut",
             {{"service", connection_.service_->name()}, {"stream", id_}, {"reason", reason}});
    release();
    connection_.session_.resetStream(id_, kH2InternalError, false);
  }
  void onUpgraded(StreamConnection&) override { onExchangeCut("unexpected_upgrade"); }
  void onRequestBodyWanted() override {
    bodyWanted_ = true;
    deliver();
  }
  /// This stream's queue, or "full" while the connection's queues together are.
  size_t clientQueued() const override {
    size_t own = connection_.session_.queuedBody(id_);
    if (connection_.session_.queuedBodyTotal() < kConnectionResponseBytes) return own;
    return std::max(own, connection_.settings_->bufferHighWatermark);
  }
  void wantClientDrained(size_t bytes) override {
    connection_.session_.setDrainMark(id_, bytes);
    if (connection_.session_.queuedBodyTotal() >= kConnectionResponseBytes) {
      connection_.waitForRoom(id_);
    }
  }
  void flushWrites() override {
    if (exchange_ && exchange_->upstream()) exchange_->upstream()->flush();
    connection_.scheduleFlush();
  }

  // DrainTarget: the backend's drain time is up; only this stream goes.
  void closeForDrain() override {
    release();
    connection_.session_.resetStream(id_, kH2Cancel, false);
    connection_.flushWrites();
  }
};

Http2Connection::Http2Connection(const SessionContext& context, ClientConnection client)
    : Http2Connection(
          WorkerParts{context.base, context.service,
                      ExchangePool::of(context.perWorker,
                                       HttpExchange::Context{context.base, context.leases,
                                                             context.pool, context.buffers}),
                      context.owner},
          std::move(client), timeval{}) {
  handedOver_ = false;
}

Http2Connection::Http2Connection(const WorkerParts& worker, ClientConnection client,
                                 timeval connectedAt)
    : base_(worker.base),
      service_(worker.service),
      settings_(service_->settings()),
      owner_(worker.owner),
      peer_(client.peer),
      local_(client.local),
      clientSubject_(std::move(client.clientSubject)),
      secure_(client.secure),
      client_(std::move(client.connection)),
      exchanges_(worker.exchanges),
      session_(settings_->http2, maxHeaderListOf(*settings_), *this),
      settingsTimer_(Timer::calling<&Http2Connection::onSettingsTimer>(base_, this)),
      closeTimer_(Timer::calling<&Http2Connection::onCloseTimer>(base_, this)),
      idleTimer_(Timer::calling<&Http2Connection::onIdleTimer>(base_, this)),
      idle_(base_),
      connectedAt_(connectedAt),
      handedOver_(true) {}

Http2Connection::~Http2Connection() {
  streams_.clear();  // their exchanges go back first, while the pool is known alive
  closed_.clear();
}

const std::vector<HeaderField>& Http2Connection::hstsFields() {
  // Kept between responses: made again only when a reload changes the value.
  if (!secure_ || settings_->hstsHeader.empty()) {
    hsts_.clear();
  } else if (hsts_.empty() || hsts_.front().value != settings_->hstsHeader) {
    hsts_ = {{"strict-transport-security", settings_->hstsHeader}};
  }
  return hsts_;
}

void Http2Connection::start() {
  ServiceTraffic& traffic = service_->traffic();
  if (!handedOver_) {
    ServiceTraffic::add(traffic.connectionsTotal);
    traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
    event_base_gettimeofday_cached(base_, &connectedAt_);
  }
  counted_ = true;
  ServiceTraffic::add(traffic.http2Connections);
  client_->setHandler(this);
  client_->setNoDelay();
  if (!session_.start()) {
    finish("http2_no_memory");
    return;
  }
  settingsTimer_.arm(settings_->http2.settingsTimeoutSeconds);
  updateIdleTimeout();
  client_->resumeReading();
  flushWrites();
  // h2c: the preface may already wait in the buffer (the HTTP/1 session saw it there).
  if (!finished_ && !client_->input().empty()) onInput(*client_);
}

double Http2Connection::now() const {
  timeval tv;
  event_base_gettimeofday_cached(base_, &tv);
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

Http2Connection::Stream* Http2Connection::find(int32_t id) {
  auto found = streams_.find(id);
  return found == streams_.end() ? nullptr : found->second.get();
}

// ---- requests ----

void Http2Connection::onRequestHead(int32_t id, MessageHead& head, bool endStream) {
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.http2Streams);
  traffic.http2StreamsActive.fetch_add(1, std::memory_order_relaxed);
  auto made = std::make_unique<Stream>(*this, id);
  Stream& stream = *made;
  streams_[id] = std::move(made);
  updateIdleTimeout();
  // Each request sees the settings and routes of now, as a kept-alive HTTP/1 one does.
  settings_ = service_->settings();
  stream.exchange_ = exchanges_.acquire();
  stream.exchange_->begin(HttpExchange::Origin{
      static_cast<ExchangeClient*>(&stream), static_cast<DrainTarget*>(&stream), service_,
      settings_, &peer_, &local_, secure_, client_->transport().serverName(), clientSubject_});
  MessageHead& request = stream.exchange_->request();
  request = std::move(head);
  request.keepAlive = true;
  stream.hasBody_ = !endStream;
  const HttpSettings& http = settings_->http;
  if (request.target.size() > static_cast<size_t>(http.maxUrlBytes)) {
    stream.respondLocally(414, "uri_too_long");
    return;
  }
  if (std::optional<std::string> refused = prepareRequest(request)) {
    stream.respondLocally(400, *refused);
    return;
  }
  if (http.maxBodyBytes > 0 && request.contentLength &&
      static_cast<double>(*request.contentLength) > http.maxBodyBytes) {
    stream.respondLocally(413, "body_too_large");
    return;
  }
  if (std::optional<HttpExchange::Refusal> refusal = stream.exchange_->prepare(stream.hasBody_)) {
    stream.respondLocally(refusal->status, refusal->reason, refusal->location);
    return;
  }
  // A request with a body connects now and its body waits here; one without waits for
  // its end (onRequestEnd, at once), as an HTTP/1 request does.
  if (stream.hasBody_) stream.exchange_->forward();
}

void Http2Connection::onRequestData(int32_t id, std::string_view data) {
  Stream* stream = find(id);
  if (stream == nullptr || !stream->exchange_) {
    session_.consume(id, data.size());  // answered already: nobody wants it
    return;
  }
  stream->exchange_->touch();
  stream->requestBodyBytes_ += static_cast<double>(data.size());
  double limit = settings_->http.maxBodyBytes;
  if (limit > 0 && stream->requestBodyBytes_ > limit) {
    session_.consume(id, data.size());
    stream->respondLocally(413, "body_too_large");
    return;
  }
  if (stream->bodyWanted_ && stream->pendingBody_.empty() && !stream->exchange_->upstreamFull()) {
    stream->exchange_->requestBody(data);  // straight on: no copy kept here
    session_.consume(id, data.size());
    upstreamDirty_.push_back(id);
    return;
  }
  stream->pendingBody_.append(data);  // bounded by the stream's window
}

void Http2Connection::onRequestEnd(int32_t id, std::string_view trailers) {
  Stream* stream = find(id);
  if (stream == nullptr || !stream->exchange_) return;
  stream->requestEnded_ = true;
  stream->trailers_.assign(trailers);
  if (!stream->hasBody_) {
    stream->endDelivered_ = true;
    stream->exchange_->requestEnd();
    stream->exchange_->forward();
    return;
  }
  stream->deliver();
}

void Http2Connection::onStreamClosed(int32_t id, uint32_t errorCode) {
  auto found = streams_.find(id);
  if (found == streams_.end()) return;
  std::unique_ptr<Stream> stream = std::move(found->second);
  streams_.erase(found);
  service_->traffic().http2StreamsActive.fetch_sub(1, std::memory_order_relaxed);
  if (stream->exchange_ && errorCode != 0 && logEnabled(LogLevel::Debug)) {
    logEvent(LogLevel::Debug, "http2_stream_reset",
             {{"service", service_->name()}, {"stream", id}, {"code", errorCode}});
  }
  stream->release();  // a reset by the client: its backend connection is closed, not pooled
  closed_.push_back(std::move(stream));
  updateIdleTimeout();
}

void Http2Connection::onResponseDrained(int32_t id) {
  if (Stream* stream = find(id)) {
    if (stream->exchange_) {
      stream->exchange_->touch();
      stream->exchange_->onClientDrained();  // the backend is read again
    }
  }
}

void Http2Connection::waitForRoom(int32_t id) {
  if (std::find(waitingForRoom_.begin(), waitingForRoom_.end(), id) == waitingForRoom_.end()) {
    waitingForRoom_.push_back(id);
  }
  session_.setConnectionDrainMark(kConnectionResponseBytes / 2);
}

void Http2Connection::onConnectionDrained() {
  std::vector<int32_t> waiting;
  waiting.swap(waitingForRoom_);
  for (int32_t id : waiting) onResponseDrained(id);  // each backend is read again
}

void Http2Connection::onStreamRefused(int32_t id, std::string_view reason, bool) {
  if (logEnabled(LogLevel::Debug)) {
    logEvent(LogLevel::Debug, "http2_stream_refused",
             {{"service", service_->name()},
              {"client", peer_.host()},
              {"stream", id},
              {"reason", reason}});
  }
}

// ---- the socket ----

void Http2Connection::onInput(StreamConnection&) {
  closed_.clear();  // outside every stream's callbacks here
  if (finished_) return;
  if (lingering_) {
    size_t dropped = client_->input().size();
    client_->consume(dropped);
    lingerBytes_ += dropped;
    if (lingerBytes_ > kLingerBytes) finish("closed");
    return;
  }
  std::string_view input = client_->input();
  if (input.empty()) return;
  idle_.touch();
  receiving_ = true;
  bool alive = session_.receive(input, now());
  receiving_ = false;
  client_->consume(input.size());
  if (!alive) {
    // The GOAWAY goes out, then the lingering close; what comes meanwhile is dropped.
    if (logEnabled(LogLevel::Debug)) {
      logEvent(LogLevel::Debug, "http2_connection_error",
               {{"service", service_->name()},
                {"client", peer_.host()},
                {"error", session_.failure().empty() ? std::string_view("goaway") : session_.failure()}});
    }
  }
  flushWrites();
}

void Http2Connection::onDrained(StreamConnection&) {
  closed_.clear();
  idle_.touch();
  client_->setDrainMark(0);
  flushWrites();
}

void Http2Connection::onClosed(StreamConnection&, int error) {
  closed_.clear();
  if (lingering_) {
    finish("closed");
    return;
  }
  if (error == 0 && !client_->input().empty()) onInput(*client_);
  finish(error != 0 ? "client_error" : "client_closed");
}

void Http2Connection::updateIdleTimeout() {
  // No stream open: the keep-alive timeout. Streams open: the idle timeout, from the last
  // byte either way (a client that never opens its window for a finished response is
  // idle too: the response waits in memory only that long).
  double window = streams_.empty() ? settings_->http.keepAliveTimeoutSeconds
                                   : settings_->idleTimeoutSeconds;
  if (window == idleWindow_) return;
  idleWindow_ = window;
  idle_.start(idleTimer_, window);
}

void Http2Connection::onIdleTimer() {
  closed_.clear();
  if (finished_ || !idle_.expired(idleTimer_)) return;
  if (streams_.empty() && !session_.gracefulFinished()) {
    // Nothing asked for the keep-alive timeout: GOAWAY naming the last stream taken, so a
    // request crossing it is known not to have been processed; then the last bytes.
    session_.finishGracefulClose();
    idleWindow_ = 0;
    updateIdleTimeout();
    flushWrites();
    return;
  }
  finish(streams_.empty() ? "keepalive_timeout" : "idle_timeout");
}

void Http2Connection::scheduleFlush() {
  if (finished_ || flushScheduled_) return;
  if (!flushEvent_) {
    flushEvent_.reset(event_new(
        base_, -1, 0,
        [](evutil_socket_t, short, void* self) {
          auto* connection = static_cast<Http2Connection*>(self);
          connection->flushScheduled_ = false;
          connection->closed_.clear();  // outside every stream's callbacks here
          connection->flushWrites();
        },
        this));
    if (!flushEvent_) {
      flushWrites();  // no event to wait for: at once, as before
      return;
    }
  }
  flushScheduled_ = true;
  // Activated now, it runs after the events this pass already has (the other backends'
  // answers), in the same pass: no added latency.
  event_active(flushEvent_.get(), EV_TIMEOUT, 0);
}

void Http2Connection::flushWrites() {
  if (finished_ || receiving_) return;
  for (int32_t id : upstreamDirty_) {
    Stream* stream = find(id);
    if (stream && stream->exchange_ && stream->exchange_->upstream()) {
      stream->exchange_->upstream()->flush();
    }
  }
  upstreamDirty_.clear();
  size_t high = settings_->bufferHighWatermark;
  while (client_->queued() < high) {
    std::string_view out = session_.nextOutput();
    if (out.empty()) break;
    client_->append(out);
  }
  publishCounters();
  if (client_->queued() > 0) idle_.touch();  // bytes moving out count as traffic
  bool drained = client_->flush();
  if (!client_->open()) {
    finish("client_error");
    return;
  }
  if (!drained) {
    client_->setDrainMark(settings_->bufferLowWatermark);  // onDrained: more output
    return;
  }
  if (session_.finished()) {
    linger();
    return;
  }
  if (session_.closing() && !closingTimerArmed_) {
    closingTimerArmed_ = true;
    closeTimer_.arm(kGracefulPingSeconds);
  }
}

void Http2Connection::publishCounters() {
  H2ServerSession::Counters& counters = session_.counters();
  // Every flush comes here; most passes counted nothing.
  if (counters.glitches == 0 && counters.framesRefused == 0 && counters.goawaysSent == 0 &&
      counters.goawaysReceived == 0 && counters.resetsSent.empty() &&
      counters.resetsReceived.empty()) {
    return;
  }
  ServiceTraffic& traffic = service_->traffic();
  if (counters.glitches) ServiceTraffic::add(traffic.http2Glitches, counters.glitches);
  if (counters.framesRefused) ServiceTraffic::add(traffic.http2FramesRefused, counters.framesRefused);
  if (counters.goawaysSent) ServiceTraffic::add(traffic.http2GoawaysSent, counters.goawaysSent);
  if (counters.goawaysReceived) {
    ServiceTraffic::add(traffic.http2GoawaysReceived, counters.goawaysReceived);
  }
  for (auto& [code, count] : counters.resetsSent) traffic.http2Reset(true, code, count);
  for (auto& [code, count] : counters.resetsReceived) traffic.http2Reset(false, code, count);
  counters.glitches = counters.framesRefused = counters.goawaysSent = counters.goawaysReceived = 0;
  counters.resetsSent.clear();
  counters.resetsReceived.clear();
}

// ---- endings ----

void Http2Connection::closeIfIdle() {
  if (finished_) return;
  session_.beginGracefulClose();
  flushWrites();
}

void Http2Connection::onSettingsTimer() {
  closed_.clear();
  if (finished_ || !session_.settingsAckPending()) return;
  // RFC 9113 §6.5.3: SETTINGS not acknowledged in time is a connection error.
  session_.terminate(kH2SettingsTimeout);
  client_->pauseReading();
  flushWrites();  // the GOAWAY; the idle timer closes a client that does not read it
}

void Http2Connection::linger() {
  if (lingering_) return;
  lingering_ = true;
  settingsTimer_.cancel();
  idleTimer_.cancel();
  client_->shutdownWrite();  // FIN after the GOAWAY: the client knows nothing more comes
  client_->consume(client_->input().size());
  client_->resumeReading();
  closeTimer_.arm(kLingerSeconds);
}

void Http2Connection::onCloseTimer() {
  closed_.clear();
  if (finished_) return;
  if (lingering_) {
    finish("closed");
    return;
  }
  if (!session_.gracefulFinished()) {
    // The client did not answer the PING: the second step goes without the round trip.
    session_.finishGracefulClose();
    flushWrites();
    if (finished_) return;
  }
  // What remains is open streams finishing and the last bytes, under the idle timer.
}

void Http2Connection::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  publishCounters();
  if (counted_) {
    timeval at;
    event_base_gettimeofday_cached(base_, &at);
    service_->traffic().connectionEnded(secondsBetween(connectedAt_, at));
  }
  settingsTimer_.cancel();
  closeTimer_.cancel();
  idleTimer_.cancel();
  flushEvent_.reset();
  client_->close();
  for (auto& [id, stream] : streams_) {
    stream->release();
    service_->traffic().http2StreamsActive.fetch_sub(1, std::memory_order_relaxed);
  }
  for (auto& [id, stream] : streams_) closed_.push_back(std::move(stream));
  streams_.clear();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()},
            {"mode", "http2"},
            {"reason", reason},
            {"streams", session_.streamsBegun()}});
  owner_.sessionFinished(this);
}

}  // namespace readygate
