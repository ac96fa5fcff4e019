// Http1Connection implementation.
#include "proxy/http/http1_connection.h"

#include <cstdio>

#include "proxy/core/log.h"
#include "proxy/http/http2_connection.h"
#include "proxy/http/message_writer.h"
#include "proxy/http/request_checks.h"

namespace readygate {
namespace {

MessageReader::Limits requestLimits(const HttpSettings& http) {
  return MessageReader::Limits{static_cast<size_t>(http.maxHeaderBytes),
                               static_cast<size_t>(http.maxUrlBytes),
                               static_cast<size_t>(http.maxHeaderBytes)};
}

/// Where response heads are formatted before they are queued: one per worker thread, so
/// neither a request nor an idle connection holds a buffer for them.
std::string& headScratch() {
  thread_local std::string scratch;
  scratch.clear();
  return scratch;
}

}  // namespace

Http1Connection::Http1Connection(const SessionContext& context, ClientConnection client)
    : base_(context.base),
      service_(context.service),
      settings_(service_->settings()),
      owner_(context.owner),
      draining_(context.draining),
      peer_(client.peer),
      local_(client.local),
      clientSubject_(client.clientSubject.empty()
                         ? nullptr
                         : std::make_unique<const std::string>(std::move(client.clientSubject))),
      client_(std::move(client.connection)),
      exchanges_(ExchangePool::of(
          context.perWorker,
          HttpExchange::Context{context.base, context.leases, context.pool, context.buffers})),
      requestEvents_(this),
      timer_(Timer::calling<&Http1Connection::onTimer>(base_, this)),
      idle_(base_),
      secure_(client.secure) {}

Http1Connection::~Http1Connection() { releaseExchange(); }

void Http1Connection::start() {
  FlushAtExit flush(this);
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.connectionsTotal);
  traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  event_base_gettimeofday_cached(base_, &connectedAt_);
  client_->setHandler(this);
  client_->setNoDelay();
  client_->resumeReading();
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
}

void Http1Connection::touch() {
  idle_.touch();
  if (exchange_) exchange_->touch();
}

// ---- requests ----

bool Http1Connection::handOverIfHttp2() {
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  std::string_view input = client_->input();
  size_t seen = std::min(input.size(), kPreface.size());
  if (seen == 0 || input.substr(0, seen) != kPreface.substr(0, seen)) return false;
  if (seen < kPreface.size()) return true;  // the rest of it within the keep-alive wait
  ClientConnection client;
  client.connection = std::move(client_);
  client.peer = peer_;
  client.local = local_;
  client.secure = secure_;
  if (clientSubject_) client.clientSubject = *clientSubject_;
  // The connection is counted once: the HTTP/2 session takes over this one's count.
  counted_ = false;
  finished_ = true;
  timer_.cancel();
  client.connection->setReadTimeout(0);
  client.connection->setHandler(nullptr);
  owner_.replaceSession(
      this, std::make_unique<Http2Connection>(
                Http2Connection::WorkerParts{base_, service_, exchanges_, owner_},
                std::move(client), connectedAt_));
  return true;
}

MessageHead& Http1Connection::beginExchange() {
  servedRequest_ = true;
  // Each request sees the settings and routes of now: a reload applies to the next
  // request of a kept-alive connection, not only to new connections.
  settings_ = service_->settings();
  if (!exchange_) exchange_ = exchanges_.acquire();
  exchange_->begin(HttpExchange::Origin{
      static_cast<ExchangeClient*>(this), static_cast<DrainTarget*>(this), service_, settings_,
      &peer_, &local_, secure_, client_->transport().serverName(),
      clientSubject_ ? std::string_view(*clientSubject_) : std::string_view()});
  return exchange_->request();
}

void Http1Connection::releaseExchange() {
  if (!exchange_) return;
  exchange_->endLocally(0);  // whatever it still holds of a backend goes
  exchanges_.release(std::move(exchange_));
}

MessageReader& Http1Connection::reader() {
  if (!requestReader_) {
    // The limits as they are now: a reload's new maxHeaderBytes reaches kept-alive
    // connections from their next request.
    requestReader_ = std::make_unique<MessageReader>(
        MessageReader::Kind::Request, requestLimits(settings_->http), requestEvents_);
  }
  return *requestReader_;
}

void Http1Connection::processClientInput() {
  if (finished_) return;
  touch();
  if (phase_ == Phase::Tunnel) return;  // the pump has the connection
  if (phase_ == Phase::Closing) {
    client_->consume(client_->input().size());
    return;
  }
  if (!servedRequest_ && phase_ == Phase::AwaitingRequest && !secure_ &&
      settings_->http2.enabled && handOverIfHttp2()) {
    return;  // nothing of this object may be used now: the HTTP/2 session has the client
  }
  ++inputDepth_;  // a local answer made while reading may read again, nested
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{inputDepth_};
  bool resumeAfterHead = false;
  while (!finished_ && (!reader().paused() || resumeAfterHead)) {
    MessageReader& requestReader = reader();
    if (resumeAfterHead) {
      resumeAfterHead = false;
      requestReader.resume();
    }
    std::string_view piece = client_->input();
    if (piece.empty()) break;
    // A chunked body is checked before any of it is fed, so a bad chunk size stops the
    // bytes before it too from reaching the backend.
    bool chunked = exchange_ && exchange_->request().chunked;
    bool checked =
        !(requestReader.inBody() && chunked) || requestReader.validateAhead(std::span(&piece, 1));
    size_t consumed = checked ? requestReader.feed(piece) : 0;
    client_->consume(consumed);
    if (phase_ == Phase::AwaitingRequest && timerPurpose_ == TimerPurpose::KeepAlive &&
        requestReader.midMessage()) {
      // A request has begun and its head is not all here: from its first byte (this
      // pass) the head must arrive in time (slowloris). A head that came whole in one
      // read never needs the timer.
      armTimer(TimerPurpose::Header, settings_->http.headerTimeoutSeconds);
    }
    if (!requestReader.failed() && headArrived_ && exchange_ && exchange_->request().chunked &&
        phase_ != Phase::Closing) {
      validateBufferedRequest();  // before the head goes anywhere
    }
    if (requestReader.failed()) {
      requestFailed();
      return;
    }
    if (headArrived_) {
      headArrived_ = false;
      if (phase_ == Phase::Closing) return;  // refused (400, 413): already answered
      if (requestHasBody_) {
        exchange_->forward();  // the body waits in the socket until the backend is connected
      } else {
        resumeAfterHead = true;  // its end follows at once; then forward
      }
    }
    if (requestEnded_) {
      requestEnded_ = false;
      requestComplete_ = true;
      if (exchange_ && phase_ == Phase::Forwarding) {
        exchange_->requestEnd();
        if (!exchange_->forwarding()) exchange_->forward();
      }
    }
    if (consumed == 0 && !requestReader.paused()) break;
  }
  if (finished_ || !client_->open()) return;
  if (inputDepth_ == 1 && phase_ == Phase::AwaitingRequest && !exchange_ &&
      client_->input().empty() && requestReader_ && !requestReader_->midMessage() &&
      !requestReader_->failed()) {
    // Between requests the reader holds nothing: an idle connection goes without it
    // (its 400 bytes are most of what a kept-alive connection costs beyond TLS).
    requestReader_.reset();
  }
  // Bounded reading: while the backend reads slower than the client sends, stop reading.
  // A request that waits (for its backend, or for the response before a pipelined one)
  // leaves its bytes in the read block, and a full block stops reading by itself.
  if (exchange_ && exchange_->upstreamFull()) {
    client_->pauseReading();
  } else if (!clientEof_) {
    client_->resumeReading();
  }
}

void Http1Connection::requestFailed() {
  const MessageReader::Error& error = reader().error();
  if (phase_ == Phase::Forwarding && exchange_ && exchange_->responseStarted()) {
    // Its response is under way: no error response can follow; the client is cut.
    finish("request_" + error.reason);
    return;
  }
  keepClient_ = false;
  if (exchange_) {
    // Not the request as far as it was read: the access log says "-".
    MessageHead& request = exchange_->request();
    request.method.clear();
    request.target.clear();
    request.headers.clear();
  }
  respondError(error.status, error.reason);
}

void Http1Connection::validateBufferedRequest() {
  std::string_view input = client_->input();  // the bytes at hand: one read block
  reader().validateAhead(std::span(&input, 1));
}

void Http1Connection::onRequestHead(MessageHead& request) {
  headArrived_ = true;
  requestComplete_ = false;
  requestBodyBytes_ = 0;
  keepClient_ = request.keepAlive;
  const HttpSettings& http = settings_->http;
  if (std::optional<std::string> refused = prepareRequest(request)) {
    keepClient_ = false;
    respondError(400, *refused);
    return;
  }
  if (local_.length() == 0 && request.find("Host") == nullptr) {
    // HTTP/1.0 without Host: the exchange names the address reached instead. Asked of
    // the kernel only now, not for every connection.
    local_ = SocketAddress::localOf(client_->fd());
  }
  if (http.maxBodyBytes > 0 && request.contentLength &&
      static_cast<double>(*request.contentLength) > http.maxBodyBytes) {
    keepClient_ = false;
    respondError(413, "body_too_large");
    return;
  }
  requestHasBody_ = request.chunked || (request.contentLength && *request.contentLength > 0);
  phase_ = Phase::Forwarding;
  if (std::optional<HttpExchange::Refusal> refusal = exchange_->prepare(requestHasBody_)) {
    keepClient_ = keepClient_ && !requestHasBody_;
    respondError(refusal->status, refusal->reason, refusal->location);
    return;
  }
  armTimer(TimerPurpose::None, 0);
}

void Http1Connection::onRequestBody(std::string_view data) {
  if (!exchange_ || phase_ != Phase::Forwarding) return;  // refused: nothing goes on
  requestBodyBytes_ += static_cast<double>(data.size());
  double limit = settings_->http.maxBodyBytes;
  if (limit > 0 && requestBodyBytes_ > limit) {
    keepClient_ = false;
    if (exchange_->responseStarted()) {
      finish("body_too_large");
    } else {
      respondError(413, "body_too_large");
    }
    return;
  }
  exchange_->requestBody(data);
}

// ---- responses (ExchangeClient) ----

void Http1Connection::onResponseHead(const MessageHead& response, bool hasBody) {
  const MessageHead& request = exchange_->request();
  std::string& head = headScratch();
  if (response.status >= 100 && response.status < 200 && response.status != 101) {
    // 100 Continue and friends: HTTP/1.0 has no interim responses.
    if (request.http10()) return;
    char line[32];
    int length = snprintf(line, sizeof line, "HTTP/1.1 %d ", response.status);
    head.append(line, static_cast<size_t>(length)).append(response.reason).append("\r\n\r\n");
    writeClient(head);
    return;
  }
  if (response.status == 101) {
    appendResponseHeadForClient(head, response, BodyFraming::None, true, settings_->http.via);
    writeClient(head);
    return;
  }
  responseFraming_ = framingFor(response, hasBody, request.http10());
  if (responseFraming_ == BodyFraming::UntilClose || clientEof_ ||
      draining_.load(std::memory_order_relaxed)) {
    keepClient_ = false;  // shutting down: this is the client's last answer here
  }
  appendResponseHeadForClient(
      head, response, responseFraming_, keepClient_, settings_->http.via, request.http10(),
      secure_ ? std::string_view(settings_->hstsHeader) : std::string_view());
  writeClient(head);
}

void Http1Connection::onResponseBody(std::string_view data) {
  touch();
  // Straight from the backend's read block to the client's socket, with the head before
  // it when that still waits: one system call and no copy unless the client is slow.
  if (responseFraming_ == BodyFraming::Chunked) {
    ChunkHeader header(data.size());
    std::string_view parts[] = {header.view(), data, kChunkEnd};
    client_->writeParts(parts);
  } else {
    client_->write(data);
  }
}

void Http1Connection::onResponseEnd() {
  if (responseFraming_ == BodyFraming::Chunked) writeClient(kLastChunk);
  responseFraming_ = BodyFraming::None;
  releaseExchange();
  if (!requestComplete_ || !keepClient_) {
    // Answered before the request was all read: the connection cannot carry another.
    closeAfterFlush(requestComplete_ ? "closed" : "response_before_request_end");
    return;
  }
  phase_ = Phase::AwaitingRequest;
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
  if (requestReader_) requestReader_->resume();
  processClientInput();  // a pipelined request may be waiting already
}

void Http1Connection::onLocalResponse(int status, std::string_view reason, bool keepClient) {
  keepClient_ = keepClient_ && keepClient;
  respondError(status, reason);
}

void Http1Connection::onUpgraded(StreamConnection& upstream) {
  phase_ = Phase::Tunnel;
  // Whatever followed the 101 on either side is the new protocol's: the pump forwards
  // what waits in both inputs first, then bytes both ways as TCP mode does.
  pump_ = std::make_unique<BytePump>(
      *client_, upstream,
      BytePump::Watermarks{settings_->bufferHighWatermark, settings_->bufferLowWatermark},
      static_cast<BytePump::Owner&>(*this));
  pump_->start(clientEof_, false);
}

void Http1Connection::onRequestBodyWanted() {
  if (clientEof_ || phase_ != Phase::Forwarding) return;
  if (!requestComplete_ && requestReader_) requestReader_->resume();  // after its head, the body
  processClientInput();
}

void Http1Connection::onPumpFailed(bool clientSide, int) {
  if (clientSide) {
    finish("client_error");
    return;
  }
  // A reset is no half-close: what came before it went out; then the client is closed.
  client_->setHandler(this);
  closeAfterFlush("tunnel_upstream_error");
}

void Http1Connection::flushWrites() {
  if (finished_) return;
  bool clientDrained = client_->flush();
  if (exchange_ && exchange_->upstream()) exchange_->upstream()->flush();
  // What the drain callback would have done had the bytes waited for the socket.
  if (clientDrained && phase_ == Phase::Closing) finish(*closeReason_);
}

void Http1Connection::writeClient(std::string_view data) {
  touch();
  if (!data.empty()) client_->append(data);  // sent as the pass ends
}

// ---- the client's connection ----

void Http1Connection::onInput(StreamConnection&) {
  FlushAtExit flush(this);
  processClientInput();
}

void Http1Connection::onDrained(StreamConnection&) {
  FlushAtExit flush(this);
  touch();
  if (phase_ == Phase::Closing) {
    if (client_->queued() == 0) finish(*closeReason_);
    return;
  }
  // The client caught up: read from the backend again.
  client_->setDrainMark(0);
  if (exchange_) exchange_->onClientDrained();
}

void Http1Connection::onClosed(StreamConnection&, int error) {
  FlushAtExit flush(this);
  if (error != 0) {
    finish("client_error");
    return;
  }
  clientEof_ = true;
  bool betweenRequests =
      phase_ == Phase::AwaitingRequest && !(requestReader_ && requestReader_->midMessage());
  if (betweenRequests || phase_ == Phase::Closing) {
    finish("client_closed");
  } else if (!requestComplete_) {
    finish("client_closed_mid_request");
  } else {
    // Half-closed after a whole request: the response still goes out, then we close.
    keepClient_ = false;
  }
}

// ---- endings ----

void Http1Connection::closeIfIdle() {
  if (phase_ == Phase::AwaitingRequest && !(requestReader_ && requestReader_->midMessage())) {
    finish("shutdown_idle");
  }
}

void Http1Connection::respondError(int status, std::string_view reason, std::string_view location) {
  if (finished_) return;
  if (logEnabled(LogLevel::Debug)) {
    logEvent(LogLevel::Debug, "http_error",
             {{"service", service_->name()},
              {"status", status},
              {"reason", reason},
              {"client", peer_.host()}});
  }
  // Counted and logged by an exchange: the request's, or one begun for a request that
  // never got as far as a head.
  if (!exchange_) beginExchange();
  exchange_->endLocally(status, reason);
  releaseExchange();
  bool keep = keepClient_ && requestComplete_ && phase_ != Phase::Closing &&
              !draining_.load(std::memory_order_relaxed);
  std::string extra;
  if (!location.empty()) extra.append("Location: ").append(location).append("\r\n");
  if (secure_ && !settings_->hstsHeader.empty()) {
    extra.append("Strict-Transport-Security: ").append(settings_->hstsHeader).append("\r\n");
  }
  writeClient(errorResponse(status, reason, keep, extra));
  if (!keep) {
    closeAfterFlush(reason);
    return;
  }
  phase_ = Phase::AwaitingRequest;
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
  if (requestReader_) requestReader_->resume();
  processClientInput();
}

void Http1Connection::closeAfterFlush(std::string_view reason) {
  if (finished_) return;
  phase_ = Phase::Closing;
  closeReason_ = std::make_unique<const std::string>(reason);
  releaseExchange();
  armTimer(TimerPurpose::Closing, service_->settings()->idleTimeoutSeconds);
  client_->pauseReading();
  if (client_->flush()) {
    finish(reason);
    return;
  }
  client_->setDrainMark(0);  // onDrained once all is written
}

void Http1Connection::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  if (counted_) {
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    service_->traffic().connectionEnded(secondsBetween(connectedAt_, now));
  }
  timer_.cancel();
  // The socket closes now, so the peer sees it at once; the object stays until the
  // session goes (this may run inside one of its callbacks). The exchange closes its
  // backend's.
  client_->close();
  releaseExchange();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()}, {"mode", "http"}, {"reason", reason}});
  owner_.sessionFinished(this);
}

void Http1Connection::armTimer(TimerPurpose purpose, double seconds) {
  // The keep-alive wait is the client's read timeout: an idle connection, the most
  // numerous kind, then has no timer event of its own (timer_ makes one on first use).
  if (purpose == TimerPurpose::KeepAlive) {
    client_->setReadTimeout(seconds);
  } else if (timerPurpose_ == TimerPurpose::KeepAlive) {
    client_->setReadTimeout(0);
  }
  timerPurpose_ = purpose;
  if (purpose == TimerPurpose::None || purpose == TimerPurpose::KeepAlive) {
    timer_.cancel();
  } else if (purpose == TimerPurpose::Closing) {
    idle_.start(timer_, seconds);
  } else {
    timer_.arm(seconds);
  }
}

void Http1Connection::onReadTimeout(StreamConnection&) {
  if (timerPurpose_ != TimerPurpose::KeepAlive) return;
  FlushAtExit flush(this);
  finish("keepalive_timeout");
}

void Http1Connection::onTimer() {
  FlushAtExit flush(this);
  switch (timerPurpose_) {
    case TimerPurpose::Header:
      keepClient_ = false;
      respondError(408, "header_timeout");
      break;
    case TimerPurpose::Closing:
      // The last bytes are not taken: idle while they do not move.
      if (idle_.expired(timer_)) finish("idle_timeout");
      break;
    case TimerPurpose::None:
    case TimerPurpose::KeepAlive:  // the client's read timeout: onReadTimeout
      break;
  }
}

}  // namespace readygate
