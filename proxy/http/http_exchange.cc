// HttpExchange and ExchangePool implementation.
#include "proxy/http/http_exchange.h"

#include <random>

#include "config/route_match.h"
#include "proxy/core/log.h"
#include "proxy/http/grpc_status.h"
#include "proxy/http/http2_upstream_pool.h"
#include "proxy/http/request_checks.h"

namespace readygate {
namespace {

/// 16 random hex digits into `id` (its buffer reused): for requests that came without one.
void newRequestId(std::string& id) {
  thread_local std::mt19937_64 random(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = random();
  id.resize(16);
  for (int i = 15; i >= 0; --i, bits >>= 4) id[static_cast<size_t>(i)] = kHex[bits & 0xf];
}

/// A backend's head may be larger than a client's (cookies, CSP), its trailers may not.
MessageReader::Limits responseLimits(const HttpSettings& http) {
  return MessageReader::Limits{256 * 1024, 1 << 20, static_cast<size_t>(http.maxHeaderBytes)};
}

/// A Host header's name without its port ("[::1]:8443" -> "[::1]"), without copying.
std::string_view hostWithoutPort(std::string_view host) {
  if (host.starts_with("[")) {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

/// A Host header as a TLS server name: the host as routes compare it (no port, lowercase,
/// no trailing dot), and an IPv6 literal without its brackets.
std::string upstreamServerName(std::string_view host) {
  std::string name = routeHost(host);
  if (name.size() > 1 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  return name;
}

/// Trailer lines ("name: value\r\n", as the HTTP/2 client side hands them over) as
/// fields for an HTTP/2 backend.
std::vector<HeaderField> trailerFields(std::string_view lines) {
  std::vector<HeaderField> fields;
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    fields.push_back(HeaderField{std::string(line.substr(0, colon)), std::string(value)});
  }
  return fields;
}

/// A trailers-only gRPC answer that says the call was not taken: CANCELLED or UNAVAILABLE,
/// with no message of the application's.
bool refusedWhileShuttingDown(const MessageHead& head) {
  if (head.status != 200) return false;
  const std::string* status = head.find("grpc-status");
  return status != nullptr && (*status == "1" || *status == "14");
}

}  // namespace

HttpExchange::HttpExchange(const Context& context)
    : base_(context.base),
      pool_(context.pool),
      connector_(context.base, nullptr, nullptr, context.leases, nullptr,
                 static_cast<UpstreamConnector::Client&>(*this), context.buffers, &context.pool),
      responseEvents_(this),
      responseReader_(MessageReader::Kind::Response, MessageReader::Limits{}, responseEvents_),
      timer_(Timer::calling<&HttpExchange::onTimer>(context.base, this)),
      idle_(context.base),
      deadline_(Timer::calling<&HttpExchange::onDeadline>(context.base, this)),
      waitOver_(Timer::calling<&HttpExchange::onWaitOver>(context.base, this)),
      multiplexedPool_(context.multiplexed) {}

HttpExchange::~HttpExchange() = default;

void HttpExchange::begin(const Origin& origin) {
  client_ = origin.client;
  drainTarget_ = origin.drainTarget;
  service_ = origin.service;
  settings_ = origin.settings;
  peer_ = origin.peer;
  if (!(clientAddressOf_ == *peer_)) {
    clientAddress_ = peer_->host();
    clientAddressOf_ = *peer_;
  }
  secure_ = origin.secure;
  serverName_ = origin.serverName;
  clientSubject_ = origin.clientSubject;
  local_ = origin.local;
  connector_.setClientAddresses(origin.peer, origin.local);
  target_ = service_;
  targetSettings_ = settings_;
  reading_ = false;
  timerPurpose_ = TimerPurpose::None;
  forwarding_ = false;
  requestComplete_ = false;
  requestFraming_ = BodyFraming::None;
  replay_.clear();
  replayable_ = false;
  generatedRequestId_.clear();
  responseStarted_ = false;
  responseEnded_ = false;
  idleAfterHead_ = false;
  interim_ = false;
  tunnelPending_ = false;
  upstreamKeepAlive_ = false;
  responseStatus_ = 0;
  responseBytes_ = 0;
  upstreamSeconds_ = 0;
  multiplexed_ = false;
  waitingOn_ = nullptr;
  stream_ = nullptr;
  streamId_ = 0;
  requestTrailers_.clear();
  responseTrailers_.clear();
  unconsumed_ = 0;
  requestHasBody_ = false;
  grpcStatus_.clear();
  event_base_gettimeofday_cached(base_, &requestStartedAt_);
  idle_.touch();
}

std::optional<HttpExchange::Refusal> HttpExchange::listenerRefusal() const {
  const std::string* host = request_.find("Host");
  if (settings_->redirectToHttps) {
    if (host == nullptr || host->empty()) return Refusal{400, "no_host_to_redirect_to"};
    const HttpsRedirect& redirect = *settings_->redirectToHttps;
    std::string location = "https://" + routeHost(*host);
    if (redirect.port != 443) location += ":" + std::to_string(redirect.port);
    // The target as the client sent it, path and query (an absolute form's is its path).
    std::string_view target = request_.target;
    if (!target.starts_with("/")) {
      size_t scheme = target.find("://");
      size_t path = scheme == std::string_view::npos ? std::string_view::npos
                                                     : target.find('/', scheme + 3);
      target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
    }
    location += target;
    return Refusal{redirect.status, "redirect_to_https", std::move(location)};
  }
  // 421 (RFC 9110 15.5.20): the connection's certificate was chosen for another name than
  // the one asked for now; a client reusing a connection across names must open one
  // for this name. Without SNI there was no choice to contradict.
  if (secure_ && !serverName_.empty() && host != nullptr && settings_->tls &&
      !equalsIgnoreCase(hostWithoutPort(*host), serverName_)) {
    // Only a Host other than the SNI name can choose another certificate.
    std::shared_ptr<const ServerCertificates> certificates = settings_->tls->certificates();
    if (certificates->choose(routeHost(*host)).certificate !=
        certificates->choose(serverName_).certificate) {
      return Refusal{421, "misdirected_request"};
    }
  }
  return std::nullopt;
}

std::optional<HttpExchange::Refusal> HttpExchange::prepare(bool hasBody) {
  event_base_gettimeofday_cached(base_, &requestStartedAt_);
  requestFraming_ = framingFor(request_, hasBody, false);
  if (settings_->redirectToHttps || secure_) {
    if (std::optional<Refusal> refusal = listenerRefusal()) return refusal;
  }
  if (!settings_->routes.empty()) {
    // prepareRequest put an absolute-form target's authority in Host.
    std::string_view host;
    std::string_view path = request_.target;
    if (const std::string* header = request_.find("Host")) host = *header;
    int index = settings_->http.normalizedPathMatching
                    ? matchRoute(settings_->routes, host, normalizePathForMatching(path))
                    : matchRoute(settings_->routes, host, path);
    if (index >= 0) {
      std::shared_ptr<Service> target = settings_->routeTargets[static_cast<size_t>(index)].lock();
      if (!target) return Refusal{503, "route_target_gone"};
      target_ = std::move(target);
      targetSettings_ = target_->settings();
    } else if (!settings_->ownBackends) {
      return Refusal{404, "no_route"};
    }
  }
  const HttpSettings& http = settings_->http;
  if (!request_.find("X-Request-Id")) newRequestId(generatedRequestId_);
  bool trusted = false;
  for (const Cidr& network : http.trustedProxies) trusted = trusted || network.contains(*peer_);
  ForwardingInfo info{clientAddress_, generatedRequestId_, http.forwardedHeaders, http.via,
                      trusted, secure_, settings_->clientSubjectHeader, clientSubject_};
  if (local_ != nullptr && local_->length() > 0 && request_.find("Host") == nullptr) {
    // HTTP/1.0 without Host: the address the client reached is the authority it meant.
    hostIfMissing_ = local_->toString();
    info.hostIfMissing = hostIfMissing_;
  }
  requestHasBody_ = hasBody;
  if (const std::string* timeout = request_.find("grpc-timeout")) {
    // The client's deadline for the whole call (gRPC's PROTOCOL-HTTP2), bounded by ours.
    if (std::optional<double> seconds = grpcTimeoutSeconds(*timeout)) {
      deadline_.arm(std::min(*seconds, targetSettings_->http.responseTimeoutSeconds));
    }
  }
  multiplexed_ = targetSettings_->multiplexed() && multiplexedPool_ != nullptr;
  if (multiplexed_) {
    if (request_.upgrade) return Refusal{501, "upgrade_to_h2_backend"};  // no extended CONNECT
    requestFieldsForH2Upstream(h2Fields_, request_, info,
                               targetSettings_->upstreamProtocol == UpstreamProtocol::H2);
    // replay_ keeps the body alone, whatever the method: a stream the backend never
    // began may go elsewhere, and an idempotent one after a lost connection.
    replayable_ = true;
    return std::nullopt;
  }
  appendRequestHeadForUpstream(replay_, request_, requestFraming_, info);
  replayable_ = isIdempotent(request_.method) && !request_.upgrade;
  return std::nullopt;
}

void HttpExchange::forward() {
  if (forwarding_) return;
  forwarding_ = true;
  if (targetSettings_->upstreamTls) {
    // The name the backend's certificate must carry is the one the client asked for.
    upstreamName_.clear();
    if (const std::string* host = request_.find("Host")) upstreamName_ = upstreamServerName(*host);
    connector_.setServerName(upstreamName_);
  }
  connector_.retarget(target_, targetSettings_, *drainTarget_);
  connector_.setMultiplexed(multiplexed_ ? multiplexedPool_ : nullptr);
  connector_.connect();
}

void HttpExchange::requestBody(std::string_view data) {
  if (multiplexed_) {
    writeUpstream(data);  // kept while small; HTTP/2 frames it
    if (stream_ != nullptr) stream_->sendBody(streamId_, data);
    return;
  }
  if (requestFraming_ == BodyFraming::Chunked) {
    writeUpstream(ChunkHeader(data.size()).view());
    writeUpstream(data);
    writeUpstream(kChunkEnd);
  } else {
    writeUpstream(data);
  }
}

void HttpExchange::requestEnd(std::string_view trailers) {
  requestComplete_ = true;
  if (multiplexed_) {
    requestTrailers_.assign(trailers);
    if (stream_ != nullptr) {
      if (requestHasBody_) stream_->endRequest(streamId_, trailerFields(requestTrailers_));
      if (!responseStarted_) {
        event_base_gettimeofday_cached(base_, &sentAt_);
        armTimer(TimerPurpose::Response, targetSettings_->http.responseTimeoutSeconds);
      }
    }
    return;
  }
  if (requestFraming_ == BodyFraming::Chunked) {
    if (trailers.empty()) {
      writeUpstream(kLastChunk);
    } else {
      writeUpstream("0\r\n");
      writeUpstream(trailers);
      writeUpstream(kChunkEnd);
    }
  }
  if (upstream_ && !responseStarted_) {
    // All of it is sent: from now on only the backend's answer is waited for.
    event_base_gettimeofday_cached(base_, &sentAt_);
    armTimer(TimerPurpose::Response, targetSettings_->http.responseTimeoutSeconds);
  }
}

void HttpExchange::writeUpstream(std::string_view data) {
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

bool HttpExchange::upstreamFull() {
  if (stream_ != nullptr) {
    if (stream_->queuedBody(streamId_) < settings_->bufferHighWatermark) return false;
    stream_->setDrainMark(streamId_, settings_->bufferLowWatermark);  // onStreamDrained then
    return true;
  }
  if (!upstream_) return false;
  upstream_->flush();  // before judging how full it is
  if (upstream_->queued() < settings_->bufferHighWatermark) return false;
  upstream_->setDrainMark(settings_->bufferLowWatermark);  // onRequestBodyWanted then
  return true;
}

void HttpExchange::onClientDrained() {
  if (upstream_) upstream_->resumeReading();
  if (stream_ != nullptr && unconsumed_ > 0) {
    stream_->consume(streamId_, unconsumed_);  // the backend may send this stream more
    unconsumed_ = 0;
  }
}

// ---- upstream side ----

void HttpExchange::onUpstreamConnected() {
  FlushAtExit flush(client_);
  if (multiplexed_) {
    openStream();
    return;
  }
  upstream_ = connector_.takeConnection();
  ServiceTraffic& traffic = target_->traffic();
  ServiceTraffic::add(connector_.reused() ? traffic.upstreamReused : traffic.upstreamOpened);
  upstream_->setHandler(this);
  if (!connector_.reused()) upstream_->setNoDelay();  // a pooled one has it already
  upstream_->resumeReading();
  responseReader_.restart(responseLimits(targetSettings_->http));
  responseReader_.expectNoBody(request_.method == "HEAD");
  reading_ = true;
  // What was sent before (the head, and on a retry the body so far) goes first.
  if (!replay_.empty()) upstream_->append(replay_);
  if (!replayable_) replay_.clear();
  event_base_gettimeofday_cached(base_, &sentAt_);
  // The response timeout counts from the end of the request; an upload under way is
  // watched by the idle timeout (a slow client is not a slow backend).
  if (requestComplete_) {
    armTimer(TimerPurpose::Response, targetSettings_->http.responseTimeoutSeconds);
    return;
  }
  armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
  client_->onRequestBodyWanted();
}

void HttpExchange::openStream() {
  std::unique_ptr<StreamConnection> fresh = connector_.takeConnection();
  ServiceTraffic& traffic = target_->traffic();
  Http2Upstream* connection = nullptr;
  if (fresh) {
    if (targetSettings_->upstreamProtocol == UpstreamProtocol::H2 && fresh->transport().alpn() != "h2") {
      // TLS went through but the backend would not speak HTTP/2 on it.
      fresh.reset();
      multiplexedPool_->connectAbandoned(*connector_.backend(), connector_.identity());
      connector_.retry("upstream_h2_not_negotiated");
      return;
    }
    ServiceTraffic::add(traffic.upstreamOpened);
    ServiceTraffic::add(traffic.upstreamH2Connections);
    connection = multiplexedPool_->adopt(target_, connector_.backendPtr(), connector_.identity(),
                                         std::move(fresh),
                                         targetSettings_->http.upstreamIdleTimeoutSeconds);
  } else if (const Backend* backend = connector_.backend()) {
    connection = multiplexedPool_->find(*backend, connector_.identity());
    if (connection != nullptr) {
      ServiceTraffic::add(traffic.upstreamReused);
    } else if (multiplexedPool_->wait(*backend, connector_.identity(), *this)) {
      waitingOn_ = backend;  // a connection being made will take this stream too
      return;
    }
  }
  int32_t id = connection != nullptr ? connection->open(*this, h2Fields_, !requestHasBody_) : 0;
  if (id == 0) {
    // The connection that had room a moment ago is full or gone: a new one to the same
    // backend, else another backend.
    if (!connector_.retryFresh()) connector_.retry("upstream_h2_no_stream");
    return;
  }
  stream_ = connection;
  streamId_ = id;
  // On a second attempt, the body so far goes first.
  if (!replay_.empty()) stream_->sendBody(streamId_, replay_);
  if (!replayable_) replay_.clear();
  event_base_gettimeofday_cached(base_, &sentAt_);
  if (requestComplete_) {
    if (requestHasBody_) stream_->endRequest(streamId_, trailerFields(requestTrailers_));
    armTimer(TimerPurpose::Response, targetSettings_->http.responseTimeoutSeconds);
    return;
  }
  armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
  client_->onRequestBodyWanted();
}

void HttpExchange::noteGrpcStatus(const std::vector<HeaderField>& fields) {
  for (const HeaderField& field : fields) {
    if (field.name == "grpc-status") {
      grpcStatus_ = field.value;
      target_->traffic().countGrpcStatus(field.value);
      return;
    }
  }
}

void HttpExchange::onStreamHead(MessageHead& head, bool endStream) {
  FlushAtExit flush(client_);
  touch();
  if (head.status == 101) {
    failResponse("unexpected_101");  // HTTP/2 has no upgrade
    return;
  }
  if (head.status < 200) {
    client_->onResponseHead(head, false);
    return;
  }
  if (endStream && stream_ != nullptr && stream_->goawayReceived() && refusedWhileShuttingDown(head) &&
      replayable_ && targetSettings_->retryUnprocessedStreams) {
    // A gRPC server shutting down (grpcio does) answers the streams that crossed its
    // GOAWAY with a bare CANCELLED or UNAVAILABLE and never runs them: as a refused stream.
    timer_.cancel();
    stream_->release(streamId_);
    stream_ = nullptr;
    streamId_ = 0;
    ServiceTraffic::add(target_->traffic().unprocessedStreamRetries);
    if (connector_.retryUnprocessed()) return;
    connector_.release();
    client_->onLocalResponse(502, "upstream_stream_refused", requestComplete_);
    return;
  }
  noteGrpcStatus(head.headers);  // a trailers-only answer carries it in its head
  onResponseHead(head, endStream);
  if (!endStream && stream_ != nullptr) armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
}

void HttpExchange::onStreamData(std::string_view data) {
  FlushAtExit flush(client_);
  Http2Upstream* connection = stream_;
  int32_t id = streamId_;
  onResponseBody(data);
  if (stream_ != connection || streamId_ != id) return;  // the client let the exchange go
  if (client_->clientQueued() >= settings_->bufferHighWatermark) {
    // The client reads slower than the backend sends: this stream's window stays shut
    // until it catches up (the connection's other streams go on).
    unconsumed_ += data.size();
    client_->wantClientDrained(settings_->bufferLowWatermark);
    return;
  }
  stream_->consume(streamId_, data.size());
}

void HttpExchange::onStreamEnd(std::vector<HeaderField>& trailers) {
  FlushAtExit flush(client_);
  touch();
  if (grpcStatus_.empty()) noteGrpcStatus(trailers);
  responseTrailers_ = std::move(trailers);
  finishExchange();
}

void HttpExchange::onStreamFailed(uint32_t code, bool connectionLost) {
  FlushAtExit flush(client_);
  stream_ = nullptr;  // gone from its connection
  streamId_ = 0;
  unconsumed_ = 0;
  if (responseStarted_) {
    client_->onExchangeCut(connectionLost ? "upstream_closed_mid_response" : "upstream_stream_reset");
    return;
  }
  timer_.cancel();
  if (code == kH2RefusedStream && replayable_ && targetSettings_->retryUnprocessedStreams) {
    // The backend never began it (RFC 9113 §8.7): nothing reached an application, so
    // it goes elsewhere outside the retry budget and the client never knows.
    ServiceTraffic::add(target_->traffic().unprocessedStreamRetries);
    if (connector_.retryUnprocessed()) return;
  }
  if (connectionLost && replayable_ && requestComplete_ && isIdempotent(request_.method)) {
    ServiceTraffic::add(target_->traffic().requestRetries);
    if (!connector_.retryFresh()) connector_.retry("upstream_closed_before_response");
    return;
  }
  connector_.release();
  std::string_view reason = code == kH2RefusedStream ? "upstream_stream_refused"
                            : connectionLost         ? "upstream_closed_before_response"
                                                     : "upstream_stream_reset";
  client_->onLocalResponse(502, reason, requestComplete_);
}

void HttpExchange::onStreamDrained() {
  FlushAtExit flush(client_);
  touch();
  client_->onRequestBodyWanted();
}

void HttpExchange::onWaitOver() {
  FlushAtExit flush(client_);
  waitingOn_ = nullptr;
  openStream();
}

void HttpExchange::onDeadline() {
  FlushAtExit flush(client_);
  if (responseStarted_) {
    client_->onExchangeCut("grpc_deadline");
  } else {
    client_->onLocalResponse(504, "grpc_deadline", false);
  }
}

void HttpExchange::onUpstreamFailed(std::string_view reason) {
  FlushAtExit flush(client_);
  client_->onLocalResponse(reason == "no_ready_backend" ? 503 : 502, reason, requestComplete_);
}

void HttpExchange::onInput(StreamConnection&) {
  FlushAtExit flush(client_);
  processUpstreamInput();
}

void HttpExchange::onDrained(StreamConnection&) {
  FlushAtExit flush(client_);
  touch();
  // The backend caught up with the request body: read from the client again.
  upstream_->setDrainMark(0);
  client_->onRequestBodyWanted();
}

void HttpExchange::onClosed(StreamConnection&, int error) {
  FlushAtExit flush(client_);
  if (error == 0) processUpstreamInput();  // bytes that came before the FIN
  if (upstream_) onUpstreamClosed();  // still this exchange's: nothing above ended it
}

void HttpExchange::processUpstreamInput() {
  touch();
  while (upstream_ && reading_) {
    if (responseReader_.paused()) {
      if (responseEnded_) {
        responseEnded_ = false;
        if (tunnelPending_) {
          reading_ = false;
          armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
          client_->onUpgraded(*upstream_);
          return;
        }
        if (interim_) {
          interim_ = false;
          responseReader_.resume();
          continue;
        }
        finishExchange();
        return;
      }
      responseReader_.resume();  // after a head: the body streams
    }
    std::string_view input = upstream_->input();
    if (input.empty()) break;
    size_t consumed = responseReader_.feed(input);
    upstream_->consume(consumed);
    if (responseReader_.failed()) {
      // A copy: the reader is restarted by the next exchange the client may begin.
      std::string reason = responseReader_.error().reason;
      failResponse(reason);
      return;
    }
    if (consumed == 0 && !responseReader_.paused()) break;
  }
  if (!upstream_) return;
  if (idleAfterHead_) {
    // The body goes on after this pass: from now on the idle timeout watches it. A
    // response that came whole in one read never needed the timer moved.
    idleAfterHead_ = false;
    armTimer(TimerPurpose::Idle, service_->settings()->idleTimeoutSeconds);
  }
  if (client_->clientQueued() >= settings_->bufferHighWatermark) {
    // The client reads slower than the backend sends: wait for it to catch up.
    upstream_->pauseReading();
    client_->wantClientDrained(settings_->bufferLowWatermark);
  }
}

void HttpExchange::failResponse(std::string_view reason) {
  if (!responseStarted_) {
    client_->onLocalResponse(502, reason, false);
    return;
  }
  std::string cut = "upstream_" + std::string(reason);
  client_->onExchangeCut(cut);
}

void HttpExchange::onResponseHead(MessageHead& head, bool endStream) {
  if (head.status == 101 && !upgradeAccepted(request_, head)) {
    // Only an answer to a request that asked to upgrade, naming what it offered: anything
    // else leaves the connection in a state nobody knows (RFC 9110 §15.2.2).
    responseReader_.reject(502, "unexpected_101");
    return;
  }
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // 100 Continue and friends: passed on to a client that can take them.
    interim_ = true;
    client_->onResponseHead(head, false);
    return;
  }
  responseStarted_ = true;
  responseStatus_ = head.status;
  responseBytes_ = 0;
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
  upstreamSeconds_ = secondsBetween(requestStartedAt_, now);
  target_->traffic().firstByte.Observe(secondsBetween(sentAt_, now));
  idleAfterHead_ = true;  // the idle timer, once this pass ends with the response unfinished
  if (std::shared_ptr<Backend> backend = connector_.backendPtr()) {
    backend->responded(head.status);  // what outlier detection and the metrics count
  }
  upstreamKeepAlive_ = head.keepAlive;
  if (head.status == 101) {
    tunnelPending_ = true;
    client_->onResponseHead(head, false);
    return;
  }
  bool noBody = endStream || request_.method == "HEAD" || head.status == 204 || head.status == 304 ||
                (head.contentLength && *head.contentLength == 0 && !head.chunked);
  client_->onResponseHead(head, !noBody);
}

void HttpExchange::onResponseBody(std::string_view data) {
  responseBytes_ += static_cast<double>(data.size());
  touch();
  client_->onResponseBody(data);
}

void HttpExchange::finishExchange() {
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
  if (!responseTrailers_.empty()) client_->onResponseTrailers(responseTrailers_);
  client_->onResponseEnd();
}

void HttpExchange::releaseUpstream(bool reusable) {
  timer_.cancel();
  deadline_.cancel();
  timerPurpose_ = TimerPurpose::None;
  reading_ = false;
  waitOver_.cancel();
  if (waitingOn_ != nullptr) {
    multiplexedPool_->cancelWait(*waitingOn_, *this);
    waitingOn_ = nullptr;
  }
  if (stream_ != nullptr) {
    stream_->release(streamId_);  // reset unless it is over
    stream_ = nullptr;
    streamId_ = 0;
    unconsumed_ = 0;
  }
  if (upstream_) {
    std::shared_ptr<Backend> backend = connector_.backendPtr();
    // A connection that began with a PROXY header speaks for one client only.
    if (reusable && backend && !targetSettings_->sendProxyProtocol) {
      pool_.release(std::move(backend), std::move(upstream_), connector_.identity(),
                    targetSettings_->http.upstreamMaxIdle,
                    targetSettings_->http.upstreamIdleTimeoutSeconds);
    }
    upstream_.reset();  // closed unless pooled; allowed inside its own callback
  }
  connector_.release();
}

void HttpExchange::onUpstreamClosed() {
  if (!responseStarted_) {
    bool canRetry = replayable_ && requestComplete_;
    upstream_.reset();
    reading_ = false;
    if (canRetry) {
      // Nothing of a response came: an idempotent request kept whole goes again, first
      // on a new connection to the same backend when a pooled one went stale, else to
      // another backend.
      ServiceTraffic::add(target_->traffic().requestRetries);
      if (!connector_.retryFresh()) connector_.retry("upstream_closed_before_response");
      return;
    }
    connector_.release();
    client_->onLocalResponse(502, "upstream_closed_before_response", requestComplete_);
    return;
  }
  if (reading_ && responseReader_.finish()) {
    // A body that ends at the close: that was its end.
    responseEnded_ = true;
    upstreamKeepAlive_ = false;
    processUpstreamInput();
    return;
  }
  client_->onExchangeCut("upstream_closed_mid_response");
}

void HttpExchange::endLocally(int status, std::string_view reason, int grpcStatus) {
  if (grpcStatus >= 0 && status != 0) {
    grpcStatus_ = std::to_string(grpcStatus);
    target_->traffic().countGrpcStatus(grpcStatus_);
  }
  if (status != 0) {
    ServiceTraffic::add(target_->traffic().localResponses[static_cast<size_t>(status / 100 - 1)]);
    responseBytes_ = 0;
    upstreamSeconds_ = 0;
    logAccess(status, "-", reason.empty() ? std::string_view("-") : reason);
  }
  releaseUpstream(false);
}

void HttpExchange::logAccess(int status, std::string_view backend, std::string_view reason) {
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
            {"method", request_.method.empty() ? std::string_view("-") : request_.method},
            {"path", path.empty() ? std::string_view("-") : path},
            {"status", status},
            {"bytes", static_cast<uint64_t>(responseBytes_)},
            {"duration_seconds", secondsBetween(requestStartedAt_, now)},
            {"backend", backend},
            {"upstream_seconds", upstreamSeconds_},
            {"retries", attempts > 0 ? attempts - 1 : 0},
            {"reason", reason},
            {"request_id", requestId ? std::string_view(*requestId) : generatedRequestId_},
            {"grpc_status", grpcStatus_.empty() ? std::string_view("-") : std::string_view(grpcStatus_)}});
}

void HttpExchange::armTimer(TimerPurpose purpose, double seconds) {
  timerPurpose_ = purpose;
  if (purpose == TimerPurpose::Idle) {
    idle_.start(timer_, seconds);
  } else {
    timer_.arm(seconds);
  }
}

void HttpExchange::onTimer() {
  FlushAtExit flush(client_);
  switch (timerPurpose_) {
    case TimerPurpose::Response:
      client_->onLocalResponse(504, "response_timeout", false);
      break;
    case TimerPurpose::Idle:
      // Idle means no byte either way, on either side (the client's touch this too).
      if (idle_.expired(timer_)) client_->onExchangeCut("idle_timeout");
      break;
    case TimerPurpose::None:
      break;
  }
}

// ---- the pool ----

ExchangePool::ExchangePool(const HttpExchange::Context& context)
    : multiplexed_(std::make_unique<Http2UpstreamPool>(context.base, clock_)), context_(context) {
  context_.multiplexed = multiplexed_.get();
}

ExchangePool::~ExchangePool() {
  // Idle exchanges hold no stream; the connections go after them.
  free_.clear();
}

std::unique_ptr<HttpExchange> ExchangePool::acquire() {
  if (free_.empty()) return std::make_unique<HttpExchange>(context_);
  std::unique_ptr<HttpExchange> exchange = std::move(free_.back());
  free_.pop_back();
  return exchange;
}

void ExchangePool::release(std::unique_ptr<HttpExchange> exchange) {
  if (exchange) free_.push_back(std::move(exchange));
}

void ExchangePool::sweep() {
  // Spare exchanges beyond a few go: a burst of concurrent requests leaves no lasting
  // memory. Never inside a callback of theirs: idle ones run none.
  if (free_.size() > kKeptAfterSweep) free_.resize(kKeptAfterSweep);
  multiplexed_->sweep();
}

ExchangePool& ExchangePool::of(std::unique_ptr<WorkerLocal>& slot,
                               const HttpExchange::Context& context) {
  if (!slot) slot = std::make_unique<ExchangePool>(context);
  return static_cast<ExchangePool&>(*slot);  // the slot is the HTTP sessions' alone
}

}  // namespace readygate
