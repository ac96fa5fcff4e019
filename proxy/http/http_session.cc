// HttpSession implementation.
#include "proxy/http/http_session.h"

#include <sys/socket.h>

#include <cstdio>
#include <random>

#include "config/route_match.h"
#include "proxy/core/log.h"
#include "proxy/http/request_checks.h"
#include "proxy/net/socket_tuning.h"

namespace readygate {
namespace {

/// 16 random hex digits into `id` (its buffer reused): for requests that came without one.
void newRequestId(std::string& id) {
  thread_local std::mt19937_64 random(std::random_device{}());
  char text[20];
  snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  id.assign(text, 16);
}

MessageReader::Limits requestLimits(const HttpSettings& http) {
  return MessageReader::Limits{static_cast<size_t>(http.maxHeaderBytes),
                               static_cast<size_t>(http.maxUrlBytes),
                               static_cast<size_t>(http.maxHeaderBytes)};
}

/// A backend's head may be larger than a client's (cookies, CSP), its trailers may not.
MessageReader::Limits responseLimits(const HttpSettings& http) {
  return MessageReader::Limits{256 * 1024, 1 << 20, static_cast<size_t>(http.maxHeaderBytes)};
}

}  // namespace

HttpSession::HttpSession(const SessionContext& context, evutil_socket_t clientFd,
                         const SocketAddress& peer)
    : base_(context.base),
      service_(context.service),
      settings_(service_->settings()),
      target_(service_),
      targetSettings_(settings_),
      leases_(context.leases),
      pool_(context.pool),
      owner_(context.owner),
      draining_(context.draining),
      clientAddress_(peer.host()),
      peer_(peer),
      client_(std::make_unique<StreamConnection>(base_, context.buffers, clientFd)),
      connector_(base_, target_, targetSettings_, leases_, static_cast<DrainTarget&>(*this),
                 static_cast<UpstreamConnector::Client&>(*this), context.buffers, &pool_),
      requestEvents_(this),
      responseEvents_(this),
      requestReader_(MessageReader::Kind::Request, requestLimits(settings_->http), requestEvents_),
      responseReaderStorage_(MessageReader::Kind::Response, responseLimits(settings_->http),
                             responseEvents_),
      timer_(Timer::calling<&HttpSession::onTimer>(base_, this)) {}

HttpSession::~HttpSession() = default;

SessionFactory HttpSession::factory() {
  return {[](const SessionContext& context, evutil_socket_t clientFd, const SocketAddress& peer) {
            return std::make_unique<HttpSession>(context, clientFd, peer);
          },
          errorResponse(503, "overloaded", false)};
}

void HttpSession::start() {
  FlushAtExit flush(this);
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.connectionsTotal);
  traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  event_base_gettimeofday_cached(base_, &connectedAt_);
  requestStartedAt_ = connectedAt_;
  client_->setHandler(this);
  client_->setNoDelay();
  client_->resumeReading();
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
}

// ---- client side ----

void HttpSession::processClientInput() {
  if (finished_) return;
  touch();
  if (phase_ == Phase::Tunnel) return;  // the pump has the connection
  if (phase_ == Phase::Closing) {
    client_->consume(client_->input().size());
    return;
  }
  bool resumeAfterHead = false;
  while (!finished_ && (!requestReader_.paused() || resumeAfterHead)) {
    if (resumeAfterHead) {
      resumeAfterHead = false;
      requestReader_.resume();
    }
    std::string_view piece = client_->input();
    if (piece.empty()) break;
    if (phase_ == Phase::AwaitingRequest && timerPurpose_ == TimerPurpose::KeepAlive) {
      // The first byte of a request: from now on its head must arrive in time (slowloris).
      armTimer(TimerPurpose::Header, settings_->http.headerTimeoutSeconds);
    }
    // A chunked body is checked before any of it is fed, so a bad chunk size stops the
    // bytes before it too from reaching the backend.
    bool checked = !(requestReader_.inBody() && request_.chunked) ||
                   requestReader_.validateAhead(std::span(&piece, 1));
    size_t consumed = checked ? requestReader_.feed(piece) : 0;
    client_->consume(consumed);
    if (!requestReader_.failed() && headArrived_ && request_.chunked && phase_ != Phase::Closing) {
      validateBufferedRequest();  // before the head goes anywhere
    }
    if (requestReader_.failed()) {
      requestFailed();
      return;
    }
    if (headArrived_) {
      headArrived_ = false;
      if (phase_ == Phase::Closing) return;  // refused (400, 413): already answered
      if (requestHasBody_) {
        startForwarding();  // the body waits in the socket until the backend is connected
      } else {
        resumeAfterHead = true;  // its end follows at once; then forward
      }
    }
    if (requestEnded_) {
      requestEnded_ = false;
      requestComplete_ = true;
      if (requestFraming_ == BodyFraming::Chunked) writeUpstream(kLastChunk);
      if (!forwarding_) {
        startForwarding();
      } else if (upstream_ && !responseStarted_) {
        // All of it is sent: from now on only the backend's answer is waited for.
        event_base_gettimeofday_cached(base_, &sentAt_);
        armTimer(TimerPurpose::Response, targetSettings_->http.responseTimeoutSeconds);
      }
    }
    if (consumed == 0 && !requestReader_.paused()) break;
  }
  if (finished_ || !client_->open()) return;
  // Bounded reading: while the backend reads slower than the client sends, stop reading.
  // A request that waits (for its backend, or for the response before a pipelined one)
  // leaves its bytes in the read block, and a full block stops reading by itself.
  if (upstream_) upstream_->flush();  // before judging how full it is
  if (upstream_ && upstream_->queued() >= settings_->bufferHighWatermark) {
    client_->pauseReading();
    upstream_->setDrainMark(settings_->bufferLowWatermark);
  } else if (!clientEof_) {
    client_->resumeReading();
  }
}

void HttpSession::requestFailed() {
  const MessageReader::Error& error = requestReader_.error();
  if (phase_ == Phase::Forwarding && responseStarted_) {
    // Its response is under way: no error response can follow; the client is cut.
    finish("request_" + error.reason);
    return;
  }
  keepClient_ = false;
  request_ = MessageHead{};  // not the request before: the access log says "-"
  generatedRequestId_.clear();
  respondError(error.status, error.reason);
}

void HttpSession::validateBufferedRequest() {
  std::string_view input = client_->input();  // the bytes at hand: one read block
  requestReader_.validateAhead(std::span(&input, 1));
}

void HttpSession::onRequestHead(MessageHead& head) {
  std::swap(request_, head);  // the reader reuses the last request's buffers
  // Each request sees the settings and routes of now: a reload applies to the next
  // request of a kept-alive connection, not only to new connections.
  settings_ = service_->settings();
  headArrived_ = true;
  requestComplete_ = false;
  responseStarted_ = false;
  responseEnded_ = false;
  interim_ = false;
  forwarding_ = false;
  requestBodyBytes_ = 0;
  keepClient_ = request_.keepAlive;
  event_base_gettimeofday_cached(base_, &requestStartedAt_);
  const HttpSettings& http = settings_->http;
  if (std::optional<std::string> refused = prepareRequest(request_)) {
    keepClient_ = false;
    respondError(400, *refused);
    return;
  }
  if (http.maxBodyBytes > 0 && request_.contentLength &&
      static_cast<double>(*request_.contentLength) > http.maxBodyBytes) {
    keepClient_ = false;
    respondError(413, "body_too_large");
    return;
  }
  requestHasBody_ = request_.chunked || (request_.contentLength && *request_.contentLength > 0);
  requestFraming_ = framingFor(request_, requestHasBody_, false);
  phase_ = Phase::Forwarding;
  if (!route()) return;
  armTimer(TimerPurpose::None, 0);
  if (request_.find("X-Request-Id")) {
    generatedRequestId_.clear();
  } else {
    newRequestId(generatedRequestId_);
  }
  bool trusted = false;
  for (const Cidr& network : http.trustedProxies) trusted = trusted || network.contains(peer_);
  ForwardingInfo info{clientAddress_, generatedRequestId_, http.forwardedHeaders, http.via,
                      trusted};
  replay_.clear();
  appendRequestHeadForUpstream(replay_, request_, requestFraming_, info);
  replayable_ = isIdempotent(request_.method) && !request_.upgrade;
}

bool HttpSession::route() {
  target_ = service_;
  targetSettings_ = settings_;
  if (settings_->routes.empty()) return true;
  // prepareRequest put an absolute-form target's authority in Host.
  std::string_view host;
  std::string_view path = request_.target;
  if (const std::string* header = request_.find("Host")) host = *header;
  int index = settings_->http.normalizedPathMatching
                  ? matchRoute(settings_->routes, host, normalizePathForMatching(path))
                  : matchRoute(settings_->routes, host, path);
  if (index < 0) {
    if (settings_->ownBackends) return true;
    keepClient_ = keepClient_ && !requestHasBody_;
    respondError(404, "no_route");
    return false;
  }
  std::shared_ptr<Service> target = settings_->routeTargets[static_cast<size_t>(index)].lock();
  if (!target) {
    keepClient_ = keepClient_ && !requestHasBody_;
    respondError(503, "route_target_gone");
    return false;
  }
  target_ = std::move(target);
  targetSettings_ = target_->settings();
  return true;
}

void HttpSession::onRequestBody(std::string_view data) {
  requestBodyBytes_ += static_cast<double>(data.size());
  double limit = settings_->http.maxBodyBytes;
  if (limit > 0 && requestBodyBytes_ > limit) {
    keepClient_ = false;
    if (responseStarted_) {
      finish("body_too_large");
    } else {
      respondError(413, "body_too_large");
    }
    return;
  }
  if (requestFraming_ == BodyFraming::Chunked) {
    std::string header = chunkHeader(data.size());
    writeUpstream(header);
    writeUpstream(data);
    writeUpstream(kChunkEnd);
  } else {
    writeUpstream(data);
  }
}

void HttpSession::writeUpstream(std::string_view data) {
  if (replayable_) {
    if (replay_.size() + data.size() <= kReplayBytes) {
      replay_.append(data);
    } else {
      replayable_ = false;  // too big to keep: this request is not sent twice
      replay_.clear();
    }
  }
  if (upstream_ && !data.empty()) upstream_->append(data);  // sent as the pass ends
}

void HttpSession::startForwarding() {
  if (forwarding_ || finished_) return;
  forwarding_ = true;
  connector_.retarget(target_, targetSettings_);
  connector_.connect();
}

// ---- upstream side ----

void HttpSession::onUpstreamConnected() {
  FlushAtExit flush(this);
  upstream_ = connector_.takeConnection();
  ServiceTraffic& traffic = target_->traffic();
  ServiceTraffic::add(connector_.reused() ? traffic.upstreamReused : traffic.upstreamOpened);
  upstream_->setHandler(this);
  if (!connector_.reused()) upstream_->setNoDelay();  // a pooled one has it already
  upstream_->resumeReading();
  responseReaderStorage_.restart(responseLimits(targetSettings_->http));
  responseReader_ = &responseReaderStorage_;
  responseReader_->expectNoBody(request_.method == "HEAD");
  // What was sent before (the head, and on a retry the body so far) goes first.
  if (!replay_.empty()) upstream_->append(replay_);
  if (!replayable_) replay_.clear();
  event_base_gettimeofday_cached(base_, &sentAt_);
  // The response timeout counts from the end of the request; an upload under way is
  // watched by the idle timeout (a slow client is not a slow backend).
  if (requestComplete_) {
    armTimer(TimerPurpose::Response, targetSettings_->http.responseTimeoutSeconds);
  } else {
    armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
    requestReader_.resume();
    processClientInput();
  }
}

void HttpSession::onUpstreamFailed(std::string_view reason) {
  FlushAtExit flush(this);
  keepClient_ = keepClient_ && requestComplete_;
  respondError(reason == "no_ready_backend" ? 503 : 502, reason);
}

void HttpSession::processUpstreamInput() {
  touch();
  while (!finished_ && upstream_ && responseReader_) {
    if (responseReader_->paused()) {
      if (responseEnded_) {
        responseEnded_ = false;
        if (tunnelPending_) {
          startTunnel();
          return;
        }
        if (interim_) {
          interim_ = false;
          responseReader_->resume();
          continue;
        }
        finishExchange();
        return;
      }
      responseReader_->resume();  // after a head: the body streams
    }
    std::string_view input = upstream_->input();
    if (input.empty()) break;
    size_t consumed = responseReader_->feed(input);
    if (!upstream_) return;  // the response ended the exchange and let the backend go
    upstream_->consume(consumed);
    if (responseReader_->failed()) {
      // A copy: releasing the upstream frees the reader and its error with it.
      std::string reason = responseReader_->error().reason;
      if (!responseStarted_) {
        keepClient_ = false;
        releaseUpstream(false);
        respondError(502, reason);
      } else {
        finish("upstream_" + reason);
      }
      return;
    }
    if (consumed == 0 && !responseReader_->paused()) break;
  }
  if (finished_ || !client_->open() || !upstream_) return;
  if (client_->queued() >= settings_->bufferHighWatermark) {
    // The client reads slower than the backend sends: wait for it to catch up.
    upstream_->pauseReading();
    client_->setDrainMark(settings_->bufferLowWatermark);
  }
}

void HttpSession::onResponseHead(MessageHead& head) {
  if (head.status == 101 && !upgradeAccepted(request_, head)) {
    // Only an answer to a request that asked to upgrade, naming what it offered: anything
    // else leaves the connection in a state nobody knows (RFC 9110 §15.2.2).
    responseReader_->reject(502, "unexpected_101");
    return;
  }
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // 100 Continue and friends: passed on to a client that can take them.
    interim_ = true;
    if (!request_.http10()) {
      std::string line = "HTTP/1.1 " + std::to_string(head.status) + " " + head.reason + "\r\n\r\n";
      writeClient(line);
    }
    return;
  }
  responseStarted_ = true;
  responseStatus_ = head.status;
  responseBytes_ = 0;
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
  upstreamSeconds_ = secondsBetween(requestStartedAt_, now);
  target_->traffic().firstByte.Observe(secondsBetween(sentAt_, now));
  armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
  if (std::shared_ptr<Backend> backend = connector_.backendPtr()) {
    backend->responded(head.status);  // what outlier detection and the metrics count
  }
  upstreamKeepAlive_ = head.keepAlive;
  if (head.status == 101) {
    tunnelPending_ = true;
    responseHead_.clear();
    appendResponseHeadForClient(responseHead_, head, BodyFraming::None, true, settings_->http.via);
    writeClient(responseHead_);
    return;
  }
  bool noBody = request_.method == "HEAD" || head.status == 204 || head.status == 304 ||
                (head.contentLength && *head.contentLength == 0 && !head.chunked);
  responseFraming_ = framingFor(head, !noBody, request_.http10());
  if (responseFraming_ == BodyFraming::UntilClose || clientEof_ ||
      draining_.load(std::memory_order_relaxed)) {
    keepClient_ = false;  // shutting down: this is the client's last answer here
  }
  responseHead_.clear();
  appendResponseHeadForClient(responseHead_, head, responseFraming_, keepClient_,
                              settings_->http.via, request_.http10());
  writeClient(responseHead_);
}

void HttpSession::onResponseBody(std::string_view data) {
  responseBytes_ += static_cast<double>(data.size());
  touch();
  // Straight from the backend's read block to the client's socket, with the head before
  // it when that still waits: one system call and no copy unless the client is slow.
  if (responseFraming_ == BodyFraming::Chunked) {
    char header[24];
    int length = snprintf(header, sizeof header, "%zx\r\n", data.size());
    std::string_view parts[] = {std::string_view(header, static_cast<size_t>(length)), data,
                                kChunkEnd};
    client_->writeParts(parts);
  } else {
    client_->write(data);
  }
}

void HttpSession::writeClient(std::string_view data) {
  touch();
  if (!data.empty()) client_->append(data);  // sent as the pass ends
}

void HttpSession::finishExchange() {
  if (responseFraming_ == BodyFraming::Chunked) writeClient(kLastChunk);
  ServiceTraffic& traffic = target_->traffic();
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
  traffic.requestDuration.Observe(secondsBetween(requestStartedAt_, now));
  if (connector_.backend() != nullptr) {
    logAccess(responseStatus_, connector_.backend()->name());
  } else {
    logAccess(responseStatus_, "-");
  }
  // Nothing unread from the backend and nothing of the request still unsent to it.
  bool reusable = upstreamKeepAlive_ && requestComplete_ && upstream_ &&
                  upstream_->input().empty() && upstream_->queued() == 0;
  releaseUpstream(reusable);
  if (!requestComplete_ || !keepClient_) {
    // Answered before the request was all read: the connection cannot carry another.
    closeAfterFlush(requestComplete_ ? "closed" : "response_before_request_end");
    return;
  }
  phase_ = Phase::AwaitingRequest;
  forwarding_ = false;
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
  requestReader_.resume();
  processClientInput();  // a pipelined request may be waiting already
}

void HttpSession::releaseUpstream(bool reusable) {
  if (upstream_) {
    std::shared_ptr<Backend> backend = connector_.backendPtr();
    if (reusable && backend) {
      pool_.release(std::move(backend), std::move(upstream_), targetSettings_->http.upstreamMaxIdle,
                    targetSettings_->http.upstreamIdleTimeoutSeconds);
    }
    upstream_.reset();  // closed unless pooled; allowed inside its own callback
  }
  responseReader_ = nullptr;
  connector_.release();
}

void HttpSession::onUpstreamClosed() {
  if (!responseStarted_) {
    bool canRetry = replayable_ && requestComplete_;
    upstream_.reset();
    responseReader_ = nullptr;
    if (canRetry) {
      // Nothing of a response came: an idempotent request kept whole goes again, first
      // on a new connection to the same backend when a pooled one went stale, else to
      // another backend.
      ServiceTraffic::add(target_->traffic().requestRetries);
      if (!connector_.retryFresh()) connector_.retry("upstream_closed_before_response");
      return;
    }
    keepClient_ = keepClient_ && requestComplete_;
    connector_.release();
    respondError(502, "upstream_closed_before_response");
    return;
  }
  if (responseReader_ && responseReader_->finish()) {
    // A body that ends at the close: that was its end.
    responseEnded_ = true;
    upstreamKeepAlive_ = false;
    processUpstreamInput();
    return;
  }
  finish("upstream_closed_mid_response");
}

void HttpSession::startTunnel() {
  phase_ = Phase::Tunnel;
  armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
  responseReader_ = nullptr;
  // Whatever followed the 101 on either side is the new protocol's: the pump forwards
  // what waits in both inputs first, then bytes both ways as TCP mode does.
  pump_.emplace(*client_, *upstream_,
                BytePump::Watermarks{settings_->bufferHighWatermark, settings_->bufferLowWatermark},
                static_cast<BytePump::Owner&>(*this));
  pump_->start(clientEof_, false);
}

void HttpSession::onPumpFailed(bool clientSide, int) {
  if (clientSide) {
    finish("client_error");
    return;
  }
  // A reset is no half-close: what came before it went out; then the client is closed.
  client_->setHandler(this);
  closeAfterFlush("tunnel_upstream_error");
}

void HttpSession::flushWrites() {
  if (finished_) return;
  bool clientDrained = client_->flush();
  if (upstream_) upstream_->flush();
  // What the drain callback would have done had the bytes waited for the socket.
  if (clientDrained && phase_ == Phase::Closing) finish(closeReason_);
}

void HttpSession::logAccess(int status, std::string_view backend) {
  if (!settings_->http.accessLog) return;
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
  size_t attempts = connector_.attempts();
  std::string_view path = request_.target;
  path = path.substr(0, std::min(path.size(), size_t{512}));  // a log line stays a line
  const std::string* requestId = request_.find("X-Request-Id");
  logEvent(LogLevel::Info, "access",
           {{"service", target_->name()},
            {"client", clientAddress_},
            {"method", request_.method.empty() ? std::string("-") : request_.method},
            {"path", path.empty() ? std::string_view("-") : path},
            {"status", status},
            {"bytes", static_cast<uint64_t>(responseBytes_)},
            {"duration_seconds", secondsBetween(requestStartedAt_, now)},
            {"backend", backend},
            {"upstream_seconds", upstreamSeconds_},
            {"retries", attempts > 0 ? attempts - 1 : 0},
            {"request_id", requestId ? *requestId : generatedRequestId_}});
}

// ---- endings ----

void HttpSession::closeIfIdle() {
  if (phase_ == Phase::AwaitingRequest && !requestReader_.midMessage()) finish("shutdown_idle");
}

void HttpSession::respondError(int status, std::string_view reason) {
  if (finished_) return;
  if (logEnabled(LogLevel::Debug)) {
    logEvent(LogLevel::Debug, "http_error",
             {{"service", service_->name()},
              {"status", status},
              {"reason", reason},
              {"client", clientAddress_}});
  }
  ServiceTraffic::add(target_->traffic().localResponses[static_cast<size_t>(status / 100 - 1)]);
  responseBytes_ = 0;
  upstreamSeconds_ = 0;
  logAccess(status, "-");
  releaseUpstream(false);
  bool keep = keepClient_ && requestComplete_ && phase_ != Phase::Closing &&
              !draining_.load(std::memory_order_relaxed);
  writeClient(errorResponse(status, reason, keep));
  if (!keep) {
    closeAfterFlush(reason);
    return;
  }
  phase_ = Phase::AwaitingRequest;
  forwarding_ = false;
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
  requestReader_.resume();
  processClientInput();
}

void HttpSession::closeAfterFlush(std::string_view reason) {
  if (finished_) return;
  phase_ = Phase::Closing;
  closeReason_ = reason;
  releaseUpstream(false);
  armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
  client_->pauseReading();
  if (client_->flush()) {
    finish(reason);
    return;
  }
  client_->setDrainMark(0);  // onDrained once all is written
}

void HttpSession::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  if (counted_) {
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    service_->traffic().connectionEnded(secondsBetween(connectedAt_, now));
  }
  timer_.cancel();
  // Both sockets close now, so peers see it at once; the objects stay until the session
  // goes (this may run inside one of their callbacks).
  client_->close();
  if (upstream_) upstream_->close();
  responseReader_ = nullptr;
  connector_.release();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()}, {"mode", "http"}, {"reason", reason}});
  owner_.sessionFinished(this);
}

void HttpSession::armTimer(TimerPurpose purpose, double seconds) {
  timerPurpose_ = purpose;
  timerSeconds_ = seconds;
  event_base_gettimeofday_cached(base_, &lastActivity_);
  if (purpose == TimerPurpose::None) {
    timer_.cancel();
    return;
  }
  timer_.arm(seconds);
}

// ---- callbacks ----

void HttpSession::onInput(StreamConnection& connection) {
  FlushAtExit flush(this);
  if (&connection == client_.get()) {
    processClientInput();
  } else {
    processUpstreamInput();
  }
}

void HttpSession::onDrained(StreamConnection& connection) {
  FlushAtExit flush(this);
  touch();
  if (&connection == client_.get()) {
    if (phase_ == Phase::Closing) {
      if (client_->queued() == 0) finish(closeReason_);
      return;
    }
    // The client caught up: read from the backend again.
    client_->setDrainMark(0);
    if (upstream_) upstream_->resumeReading();
    return;
  }
  // The backend caught up with the request body: read from the client again.
  upstream_->setDrainMark(0);
  if (!clientEof_ && phase_ != Phase::Closing) processClientInput();
}

void HttpSession::onClosed(StreamConnection& connection, int error) {
  FlushAtExit flush(this);
  if (&connection == client_.get()) {
    onClientClosed(error);
    return;
  }
  if (error == 0) processUpstreamInput();  // bytes that came before the FIN
  if (!finished_ && upstream_) onUpstreamClosed();
}

void HttpSession::onClientClosed(int error) {
  if (error != 0) {
    finish("client_error");
    return;
  }
  clientEof_ = true;
  bool betweenRequests = phase_ == Phase::AwaitingRequest && !requestReader_.midMessage();
  if (betweenRequests || phase_ == Phase::Closing) {
    finish("client_closed");
  } else if (!requestComplete_) {
    finish("client_closed_mid_request");
  } else {
    // Half-closed after a whole request: the response still goes out, then we close.
    keepClient_ = false;
  }
}

void HttpSession::onTimer() {
  FlushAtExit flush(this);
  HttpSession* session = this;
  switch (session->timerPurpose_) {
    case TimerPurpose::KeepAlive:
      session->finish("keepalive_timeout");
      break;
    case TimerPurpose::Header:
      session->keepClient_ = false;
      session->respondError(408, "header_timeout");
      break;
    case TimerPurpose::Response:
      session->keepClient_ = false;
      session->respondError(504, "response_timeout");
      break;
    case TimerPurpose::Idle: {
      // Idle means no byte either way: re-armed for the rest of the window rather than
      // moved on every read, which would cost a timer operation per read.
      timeval now;
      event_base_gettimeofday_cached(session->base_, &now);
      double idleFor = secondsBetween(session->lastActivity_, now);
      if (idleFor < session->timerSeconds_) {
        session->timer_.arm(session->timerSeconds_ - idleFor);
        break;
      }
      session->finish("idle_timeout");
      break;
    }
    case TimerPurpose::None:
      break;
  }
}

}  // namespace readygate
