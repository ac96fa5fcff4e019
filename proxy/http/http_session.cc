// HttpSession implementation.
#include "proxy/http/http_session.h"

#include <sys/socket.h>

#include <cstdio>
#include <random>

#include "config/route_match.h"
#include "proxy/core/log.h"
#include "proxy/http/request_checks.h"
#include "proxy/net/socket_tuning.h"
#include "proxy/net/speculative_write.h"

namespace readygate {
namespace {

/// 16 random hex digits: a request id for requests that came without one.
std::string newRequestId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  char text[20];
  snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  return text;
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
      requestEvents_(this),
      responseEvents_(this),
      requestReader_(MessageReader::Kind::Request, requestLimits(settings_->http), requestEvents_) {
  client_.reset(bufferevent_socket_new(base_, clientFd, BEV_OPT_CLOSE_ON_FREE));
  timer_.reset(evtimer_new(base_, &HttpSession::onTimer, this));
}

HttpSession::~HttpSession() = default;

SessionFactory HttpSession::factory() {
  return {[](const SessionContext& context, evutil_socket_t clientFd, const SocketAddress& peer) {
            return std::make_unique<HttpSession>(context, clientFd, peer);
          },
          errorResponse(503, "overloaded", false)};
}

void HttpSession::start() {
  FlushAtExit flush(this);
  if (!client_) {
    finish("bufferevent_failed");
    return;
  }
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.connectionsTotal);
  traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  event_base_gettimeofday_cached(base_, &connectedAt_);
  requestStartedAt_ = connectedAt_;
  bufferevent_setcb(client_.get(), &HttpSession::onClientRead, &HttpSession::onClientWrite,
                    &HttpSession::onClientEvent, this);
  setNoDelay(client_.get());
  setSingleTransfer(client_.get(), settings_->bufferHighWatermark);
  holdWrites(client_.get());
  bufferevent_enable(client_.get(), EV_READ);
  armTimer(TimerPurpose::KeepAlive, settings_->http.keepAliveTimeoutSeconds);
}

// ---- client side ----

void HttpSession::processClientInput() {
  if (finished_) return;
  touch();
  evbuffer* input = bufferevent_get_input(client_.get());
  if (phase_ == Phase::Tunnel) {
    if (!upstream_) return;
    evbuffer* output = bufferevent_get_output(upstream_.get());
    evbuffer_add_buffer(output, input);
    flushNow(upstream_.get());
    if (evbuffer_get_length(output) >= settings_->bufferHighWatermark) {
      // The backend reads slower than the client sends: wait for it to catch up.
      bufferevent_disable(client_.get(), EV_READ);
      bufferevent_setwatermark(upstream_.get(), EV_WRITE, settings_->bufferLowWatermark, 0);
    }
    return;
  }
  if (phase_ == Phase::Closing) {
    evbuffer_drain(input, evbuffer_get_length(input));
    return;
  }
  bool resumeAfterHead = false;
  while (!finished_ && (!requestReader_.paused() || resumeAfterHead)) {
    if (resumeAfterHead) {
      resumeAfterHead = false;
      requestReader_.resume();
    }
    size_t length = evbuffer_get_length(input);
    if (length == 0) break;
    if (phase_ == Phase::AwaitingRequest && timerPurpose_ == TimerPurpose::KeepAlive) {
      // The first byte of a request: from now on its head must arrive in time (slowloris).
      armTimer(TimerPurpose::Header, settings_->http.headerTimeoutSeconds);
    }
    evbuffer_iovec chunk;
    evbuffer_peek(input, -1, nullptr, &chunk, 1);
    std::string_view piece(static_cast<const char*>(chunk.iov_base), chunk.iov_len);
    // A chunked body is checked before any of it is fed, so a bad chunk size stops the
    // bytes before it too from reaching the backend.
    bool checked = !(requestReader_.inBody() && request_.chunked) ||
                   requestReader_.validateAhead(std::span(&piece, 1));
    size_t consumed = checked ? requestReader_.feed(piece) : 0;
    evbuffer_drain(input, consumed);
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
  if (finished_ || !client_) return;
  // Bounded reading: while a request waits (for its backend, or for the response before
  // a pipelined one) or the backend reads slower than the client sends, stop reading.
  if (upstream_) flushNow(upstream_.get());  // before judging how full it is
  bool upstreamFull = upstream_ && evbuffer_get_length(bufferevent_get_output(upstream_.get())) >=
                                       settings_->bufferHighWatermark;
  bool waiting =
      requestReader_.paused() && evbuffer_get_length(input) >= settings_->bufferLowWatermark;
  if (upstreamFull || waiting) {
    bufferevent_disable(client_.get(), EV_READ);
    if (upstream_)
      bufferevent_setwatermark(upstream_.get(), EV_WRITE, settings_->bufferLowWatermark, 0);
  } else if (!clientEof_) {
    bufferevent_enable(client_.get(), EV_READ);
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
  evbuffer* input = bufferevent_get_input(client_.get());
  constexpr int kMaxPieces = 16;  // the bytes at hand: bounded by bufferBytes anyway
  evbuffer_iovec chunks[kMaxPieces];
  int count = evbuffer_peek(input, -1, nullptr, chunks, kMaxPieces);
  std::string_view pieces[kMaxPieces];
  size_t used = 0;
  for (int i = 0; i < count && i < kMaxPieces; ++i) {
    pieces[used++] =
        std::string_view(static_cast<const char*>(chunks[i].iov_base), chunks[i].iov_len);
  }
  requestReader_.validateAhead(std::span(pieces, used));
}

void HttpSession::onRequestHead(MessageHead& head) {
  request_ = std::move(head);
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
  generatedRequestId_ = request_.find("X-Request-Id") ? "" : newRequestId();
  bool trusted = false;
  for (const Cidr& network : http.trustedProxies) trusted = trusted || network.contains(peer_);
  ForwardingInfo info{clientAddress_, generatedRequestId_, http.forwardedHeaders, http.via,
                      trusted};
  replay_ = requestHeadForUpstream(request_, requestFraming_, info);
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
  if (upstream_ && !data.empty()) {
    bufferevent_write(upstream_.get(), data.data(), data.size());
  }
}

void HttpSession::startForwarding() {
  if (forwarding_ || finished_) return;
  forwarding_ = true;
  if (connector_) retiredConnector_ = std::move(connector_);
  connector_ = std::make_unique<UpstreamConnector>(
      base_, target_, targetSettings_, leases_, static_cast<DrainTarget&>(*this),
      static_cast<UpstreamConnector::Client&>(*this), &pool_);
  connector_->connect();
}

// ---- upstream side ----

void HttpSession::onUpstreamConnected() {
  FlushAtExit flush(this);
  upstream_ = connector_->takeConnection();
  retiredConnector_.reset();
  ServiceTraffic& traffic = target_->traffic();
  ServiceTraffic::add(connector_->reused() ? traffic.upstreamReused : traffic.upstreamOpened);
  bufferevent_setcb(upstream_.get(), &HttpSession::onUpstreamRead, &HttpSession::onUpstreamWrite,
                    &HttpSession::onUpstreamEvent, this);
  holdWrites(upstream_.get());  // a new one still has the connect's write event armed
  if (!connector_->reused()) {  // a pooled one has these already
    setNoDelay(upstream_.get());
    setSingleTransfer(upstream_.get(), targetSettings_->bufferHighWatermark);
  }
  bufferevent_enable(upstream_.get(), EV_READ);
  responseReader_ = std::make_unique<MessageReader>(
      MessageReader::Kind::Response, responseLimits(targetSettings_->http), responseEvents_);
  responseReader_->expectNoBody(request_.method == "HEAD");
  // What was sent before (the head, and on a retry the body so far) goes first.
  if (!replay_.empty()) {
    bufferevent_write(upstream_.get(), replay_.data(), replay_.size());
  }
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
    evbuffer* input = bufferevent_get_input(upstream_.get());
    size_t length = evbuffer_get_length(input);
    if (length == 0) break;
    evbuffer_iovec chunk;
    evbuffer_peek(input, -1, nullptr, &chunk, 1);
    size_t consumed = responseReader_->feed(
        std::string_view(static_cast<const char*>(chunk.iov_base), chunk.iov_len));
    evbuffer_drain(input, consumed);
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
  if (finished_ || !client_ || !upstream_) return;
  flushClient();  // before judging how full it is
  if (evbuffer_get_length(bufferevent_get_output(client_.get())) >=
      settings_->bufferHighWatermark) {
    bufferevent_disable(upstream_.get(), EV_READ);
    bufferevent_setwatermark(client_.get(), EV_WRITE, settings_->bufferLowWatermark, 0);
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
  if (std::shared_ptr<Backend> backend = connector_ ? connector_->backendPtr() : nullptr) {
    backend->responded(head.status);  // what outlier detection and the metrics count
  }
  upstreamKeepAlive_ = head.keepAlive;
  if (head.status == 101) {
    tunnelPending_ = true;
    writeClient(responseHeadForClient(head, BodyFraming::None, true, settings_->http.via));
    return;
  }
  bool noBody = request_.method == "HEAD" || head.status == 204 || head.status == 304 ||
                (head.contentLength && *head.contentLength == 0 && !head.chunked);
  responseFraming_ = framingFor(head, !noBody, request_.http10());
  if (responseFraming_ == BodyFraming::UntilClose || clientEof_ ||
      draining_.load(std::memory_order_relaxed)) {
    keepClient_ = false;  // shutting down: this is the client's last answer here
  }
  writeClient(responseHeadForClient(head, responseFraming_, keepClient_, settings_->http.via,
                                    request_.http10()));
}

void HttpSession::onResponseBody(std::string_view data) {
  responseBytes_ += static_cast<double>(data.size());
  if (responseFraming_ == BodyFraming::Chunked) {
    writeClient(chunkHeader(data.size()));
    writeClient(data);
    writeClient(kChunkEnd);
  } else {
    writeClient(data);
  }
}

void HttpSession::writeClient(std::string_view data) {
  event_base_gettimeofday_cached(base_, &lastActivity_);
  if (client_ && !data.empty()) bufferevent_write(client_.get(), data.data(), data.size());
}

void HttpSession::finishExchange() {
  if (responseFraming_ == BodyFraming::Chunked) writeClient(kLastChunk);
  ServiceTraffic& traffic = target_->traffic();
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
  traffic.requestDuration.Observe(secondsBetween(requestStartedAt_, now));
  if (connector_ && connector_->backend() != nullptr) {
    logAccess(responseStatus_, connector_->backend()->name());
  } else {
    logAccess(responseStatus_, "-");
  }
  // Nothing unread from the backend and nothing of the request still unsent to it.
  bool reusable = upstreamKeepAlive_ && requestComplete_ && upstream_ &&
                  evbuffer_get_length(bufferevent_get_input(upstream_.get())) == 0 &&
                  evbuffer_get_length(bufferevent_get_output(upstream_.get())) == 0;
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
    bufferevent_setcb(upstream_.get(), nullptr, nullptr, nullptr, nullptr);
    std::shared_ptr<Backend> backend = connector_ ? connector_->backendPtr() : nullptr;
    if (reusable && backend) {
      pool_.release(std::move(backend), std::move(upstream_), targetSettings_->http.upstreamMaxIdle,
                    targetSettings_->http.upstreamIdleTimeoutSeconds);
    }
    upstream_.reset();
  }
  responseReader_.reset();
  if (connector_) connector_->release();
}

void HttpSession::onUpstreamClosed() {
  if (phase_ == Phase::Tunnel) {
    evbuffer_add_buffer(bufferevent_get_output(client_.get()),
                        bufferevent_get_input(upstream_.get()));
    upstreamEof_ = true;
    passTunnelShutdowns();
    return;
  }
  if (!responseStarted_) {
    bool canRetry = replayable_ && requestComplete_ && connector_ != nullptr;
    upstream_.reset();
    responseReader_.reset();
    if (canRetry) {
      // Nothing of a response came: an idempotent request kept whole goes again, first
      // on a new connection to the same backend when a pooled one went stale, else to
      // another backend.
      ServiceTraffic::add(target_->traffic().requestRetries);
      if (!connector_->retryFresh()) connector_->retry("upstream_closed_before_response");
      return;
    }
    keepClient_ = keepClient_ && requestComplete_;
    if (connector_) connector_->release();
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
  // Whatever followed the 101 on either side is the new protocol's.
  evbuffer_add_buffer(bufferevent_get_output(client_.get()),
                      bufferevent_get_input(upstream_.get()));
  responseReader_.reset();
  bufferevent_enable(client_.get(), EV_READ);
  processClientInput();
}

bool HttpSession::flushClient() {
  if (phase_ == Phase::Forwarding && responseStarted_) {
    // A body still streaming: libevent's write event batches what several reads of the
    // backend bring into one write, where a write per read would cost more.
    if (evbuffer_get_length(bufferevent_get_output(client_.get())) == 0) return true;
    bufferevent_enable(client_.get(), EV_WRITE);
    return false;
  }
  return flushNow(client_.get());
}

void HttpSession::flushWrites() {
  if (finished_) return;
  bool clientDrained = !client_ || flushClient();
  bool upstreamDrained = !upstream_ || flushNow(upstream_.get());
  // What the write callbacks would have done had libevent written these bytes.
  if (clientDrained && phase_ == Phase::Closing) {
    finish(closeReason_);
    return;
  }
  if (phase_ == Phase::Tunnel &&
      ((clientDrained && upstreamEof_) || (upstreamDrained && clientEof_))) {
    passTunnelShutdowns();
  }
}

void HttpSession::passTunnelShutdowns() {
  if (finished_) return;
  if (clientEof_ && !upstreamShutdownSent_ && upstream_) {
    if (evbuffer_get_length(bufferevent_get_output(upstream_.get())) > 0) {
      bufferevent_setwatermark(upstream_.get(), EV_WRITE, 0, 0);  // called again when written
    } else {
      ::shutdown(bufferevent_getfd(upstream_.get()), SHUT_WR);
      upstreamShutdownSent_ = true;
    }
  }
  if (upstreamEof_ && !clientShutdownSent_) {
    if (evbuffer_get_length(bufferevent_get_output(client_.get())) > 0) {
      bufferevent_setwatermark(client_.get(), EV_WRITE, 0, 0);
    } else {
      ::shutdown(bufferevent_getfd(client_.get()), SHUT_WR);
      clientShutdownSent_ = true;
    }
  }
  if (clientShutdownSent_ && upstreamShutdownSent_) finish("tunnel_closed");
}

void HttpSession::logAccess(int status, std::string_view backend) {
  if (!settings_->http.accessLog) return;
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
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
            {"retries", connector_ && connector_->attempts() > 0 ? connector_->attempts() - 1 : 0},
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
  bufferevent_disable(client_.get(), EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(client_.get())) == 0) {
    finish(reason);
    return;
  }
  bufferevent_setwatermark(client_.get(), EV_WRITE, 0, 0);  // called once all is written
}

void HttpSession::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  if (counted_) {
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    service_->traffic().connectionEnded(secondsBetween(connectedAt_, now));
  }
  if (timer_) evtimer_del(timer_.get());
  client_.reset();
  upstream_.reset();
  responseReader_.reset();
  if (connector_) connector_->release();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()}, {"mode", "http"}, {"reason", reason}});
  owner_.sessionFinished(this);
}

void HttpSession::armTimer(TimerPurpose purpose, double seconds) {
  timerPurpose_ = purpose;
  timerSeconds_ = seconds;
  event_base_gettimeofday_cached(base_, &lastActivity_);
  if (purpose == TimerPurpose::None) {
    evtimer_del(timer_.get());
    return;
  }
  timeval delay = toTimeval(seconds);
  evtimer_add(timer_.get(), &delay);
}

// ---- callbacks ----

void HttpSession::onClientRead(bufferevent*, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  static_cast<HttpSession*>(self)->processClientInput();
}

void HttpSession::onClientWrite(bufferevent*, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  auto* session = static_cast<HttpSession*>(self);
  writesDrained(session->client_.get());
  session->touch();
  if (session->phase_ == Phase::Tunnel && session->upstreamEof_) {
    session->passTunnelShutdowns();
    return;
  }
  if (session->phase_ == Phase::Closing) {
    if (evbuffer_get_length(bufferevent_get_output(session->client_.get())) == 0) {
      session->finish(session->closeReason_);
    }
    return;
  }
  // The client caught up: read from the backend again.
  if (session->upstream_) {
    bufferevent_setwatermark(session->client_.get(), EV_WRITE, 0, 0);
    bufferevent_enable(session->upstream_.get(), EV_READ);
  }
}

void HttpSession::onClientEvent(bufferevent*, short what, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  auto* session = static_cast<HttpSession*>(self);
  if (what & BEV_EVENT_EOF) {
    session->clientEof_ = true;
    bool betweenRequests =
        session->phase_ == Phase::AwaitingRequest && !session->requestReader_.midMessage();
    if (betweenRequests || session->phase_ == Phase::Closing) {
      session->finish("client_closed");
    } else if (session->phase_ == Phase::Tunnel) {
      if (session->upstream_) {
        evbuffer_add_buffer(bufferevent_get_output(session->upstream_.get()),
                            bufferevent_get_input(session->client_.get()));
      }
      bufferevent_disable(session->client_.get(), EV_READ);
      session->passTunnelShutdowns();
    } else if (!session->requestComplete_) {
      session->finish("client_closed_mid_request");
    } else {
      // Half-closed after a whole request: the response still goes out, then we close.
      session->keepClient_ = false;
      bufferevent_disable(session->client_.get(), EV_READ);
    }
    return;
  }
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) session->finish("client_error");
}

void HttpSession::onUpstreamRead(bufferevent*, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  auto* session = static_cast<HttpSession*>(self);
  if (session->phase_ == Phase::Tunnel) {
    session->touch();
    evbuffer* output = bufferevent_get_output(session->client_.get());
    evbuffer_add_buffer(output, bufferevent_get_input(session->upstream_.get()));
    flushNow(session->client_.get());
    if (evbuffer_get_length(output) >= session->settings_->bufferHighWatermark) {
      bufferevent_disable(session->upstream_.get(), EV_READ);
      bufferevent_setwatermark(session->client_.get(), EV_WRITE,
                               session->settings_->bufferLowWatermark, 0);
    }
    return;
  }
  session->processUpstreamInput();
}

void HttpSession::onUpstreamWrite(bufferevent*, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  auto* session = static_cast<HttpSession*>(self);
  writesDrained(session->upstream_.get());
  session->touch();
  if (session->phase_ == Phase::Tunnel && session->clientEof_) {
    session->passTunnelShutdowns();
    return;
  }
  // The backend caught up with the request body: read from the client again.
  if (session->client_ && !session->clientEof_ && session->phase_ != Phase::Closing) {
    bufferevent_setwatermark(session->upstream_.get(), EV_WRITE, 0, 0);
    if (session->phase_ == Phase::Tunnel) bufferevent_enable(session->client_.get(), EV_READ);
    session->processClientInput();
  }
}

void HttpSession::onUpstreamEvent(bufferevent*, short what, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  auto* session = static_cast<HttpSession*>(self);
  if ((what & BEV_EVENT_ERROR) && session->phase_ == Phase::Tunnel) {
    // A reset is no half-close: what came before it goes out, then the client is closed.
    evbuffer_add_buffer(bufferevent_get_output(session->client_.get()),
                        bufferevent_get_input(session->upstream_.get()));
    session->closeAfterFlush("tunnel_upstream_error");
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (what & BEV_EVENT_EOF) session->processUpstreamInput();  // bytes that came with the FIN
    if (!session->finished_ && session->upstream_) session->onUpstreamClosed();
  }
}

void HttpSession::onTimer(evutil_socket_t, short, void* self) {
  FlushAtExit flush(static_cast<HttpSession*>(self));
  auto* session = static_cast<HttpSession*>(self);
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
        timeval rest = toTimeval(session->timerSeconds_ - idleFor);
        evtimer_add(session->timer_.get(), &rest);
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
