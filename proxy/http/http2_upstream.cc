// Http2Upstream implementation.
#include "proxy/http/http2_upstream.h"

#include "proxy/core/log.h"

namespace readygate {

Http2Upstream::Http2Upstream(event_base* base, std::shared_ptr<Service> service,
                             std::shared_ptr<Backend> backend, std::string identity,
                             std::unique_ptr<StreamConnection> connection,
                             double idleTimeoutSeconds, const Clock& clock)
    : base_(base),
      clock_(clock),
      service_(std::move(service)),
      backend_(std::move(backend)),
      identity_(std::move(identity)),
      connection_(std::move(connection)),
      session_(H2ClientSession::Limits{}, *this),
      idleTimeoutSeconds_(idleTimeoutSeconds),
      idleSince_(clock.now()) {
  connection_->setHandler(this);
  backend_->h2ConnectionOpened();
}

Http2Upstream::~Http2Upstream() { markDead(); }

void Http2Upstream::markDead() {
  if (dead_) return;
  dead_ = true;
  if (connection_) connection_->close();
  flushEvent_.reset();
  flushScheduled_ = false;
  backend_->h2ConnectionClosed();
  service_->traffic().upstreamH2StreamsPerConnection.Observe(static_cast<double>(streamsCarried_));
}

bool Http2Upstream::start() {
  if (!session_.start()) {
    fail(false);
    return false;
  }
  connection_->setNoDelay();
  connection_->resumeReading();
  flush();
  return true;
}

Http2Upstream::StreamHandler* Http2Upstream::handler(int32_t stream) {
  auto found = handlers_.find(stream);
  return found == handlers_.end() ? nullptr : found->second;
}

int32_t Http2Upstream::open(StreamHandler& handler, const std::vector<HeaderField>& fields,
                            bool endStream) {
  if (!hasRoom()) return 0;
  int32_t id = session_.submitRequest(fields, endStream);
  if (id == 0) return 0;
  handlers_[id] = &handler;
  ++streamsCarried_;
  scheduleFlush();
  return id;
}

void Http2Upstream::sendBody(int32_t stream, std::string_view data) {
  session_.sendBody(stream, data);
  scheduleFlush();
}

void Http2Upstream::endRequest(int32_t stream, std::vector<HeaderField> trailers) {
  session_.endRequest(stream, std::move(trailers));
  scheduleFlush();
}

void Http2Upstream::consume(int32_t stream, size_t bytes) {
  session_.consume(stream, bytes);
  scheduleFlush();  // a WINDOW_UPDATE may be due
}

void Http2Upstream::release(int32_t stream) {
  // The exchange ended first (the client went, a timeout): the backend is told to stop;
  // a response that came before the whole request lets the request go.
  session_.release(stream);
  if (handlers_.erase(stream) == 0) {
    scheduleFlush();
    return;
  }
  if (handlers_.empty()) idleSince_ = clock_.now();
  scheduleFlush();
  maybeClose();
}

void Http2Upstream::retire() {
  if (closing_ || dead_) return;
  closing_ = true;
  session_.shutdown();
  scheduleFlush();
  maybeClose();
}

// ---- the socket ----

void Http2Upstream::onInput(StreamConnection& connection) {
  std::string_view input = connection.input();
  inCallback_ = true;
  bool alive = session_.receive(input);
  inCallback_ = false;
  connection.consume(input.size());
  if (uint64_t goaways = session_.counters().goawaysReceived; goaways != goawaysCounted_) {
    backend_->h2GoawaysReceived(goaways - goawaysCounted_);
    goawaysCounted_ = goaways;
    closing_ = true;  // no new stream goes here
  }
  if (!alive) {
    logEvent(LogLevel::Debug, "upstream_h2_connection_error",
             {{"backend", backend_->name()}, {"reason", session_.failure()}});
    flush();  // our GOAWAY, if there is one to say
    fail(false);
    return;
  }
  flush();
  if (session_.finished()) {
    // A connection error nghttp2 answered with GOAWAY: nothing more comes.
    logEvent(LogLevel::Debug, "upstream_h2_connection_error",
             {{"backend", backend_->name()}, {"reason", session_.failure()}});
    fail(false);
    return;
  }
  maybeClose();
}

void Http2Upstream::onClosed(StreamConnection& connection, int error) {
  // What came before the FIN (a GOAWAY, the last answers) counts first: the streams it
  // refused are retried as such, not as lost.
  if (error == 0 && !connection.input().empty()) {
    std::string_view input = connection.input();
    inCallback_ = true;
    session_.receive(input);
    inCallback_ = false;
    connection.consume(input.size());
    if (uint64_t goaways = session_.counters().goawaysReceived; goaways != goawaysCounted_) {
      backend_->h2GoawaysReceived(goaways - goawaysCounted_);
      goawaysCounted_ = goaways;
    }
  }
  fail(true);
}

void Http2Upstream::fail(bool connectionLost) {
  closing_ = true;
  // Each stream left hears once; the map is emptied first, as handlers release.
  std::unordered_map<int32_t, StreamHandler*> left;
  left.swap(handlers_);
  for (auto& [id, handler] : left) handler->onStreamFailed(kH2InternalError, connectionLost);
  markDead();
}

void Http2Upstream::maybeClose() {
  if (!closing_ || dead_ || !handlers_.empty() || inCallback_) return;
  flush();
  markDead();
}

void Http2Upstream::scheduleFlush() {
  if (dead_ || flushScheduled_) return;
  if (!flushEvent_) {
    flushEvent_.reset(event_new(
        base_, -1, 0,
        [](evutil_socket_t, short, void* self) {
          auto* upstream = static_cast<Http2Upstream*>(self);
          upstream->flushScheduled_ = false;
          upstream->flush();
        },
        this));
    if (!flushEvent_) {
      flush();  // no event to defer with: now
      return;
    }
  }
  flushScheduled_ = true;
  event_active(flushEvent_.get(), EV_TIMEOUT, 0);
}

void Http2Upstream::flush() {
  if (dead_ || !connection_ || !connection_->open()) return;
  for (std::string_view out = session_.nextOutput(); !out.empty(); out = session_.nextOutput()) {
    connection_->append(out);
  }
  connection_->flush();
}

// ---- the session ----

void Http2Upstream::onResponseHead(int32_t stream, MessageHead& head, bool endStream) {
  if (StreamHandler* h = handler(stream)) h->onStreamHead(head, endStream);
}

void Http2Upstream::onResponseData(int32_t stream, std::string_view data) {
  if (StreamHandler* h = handler(stream)) {
    h->onStreamData(data);
  } else {
    session_.consume(stream, data.size());  // nobody reads it: the window reopens
  }
}

void Http2Upstream::onResponseEnd(int32_t stream, std::vector<HeaderField>& trailers) {
  auto found = handlers_.find(stream);
  if (found == handlers_.end()) return;
  StreamHandler* h = found->second;
  handlers_.erase(found);  // over: the handler's release() finds nothing to reset
  if (handlers_.empty()) idleSince_ = clock_.now();
  h->onStreamEnd(trailers);
}

void Http2Upstream::onStreamClosed(int32_t stream, uint32_t errorCode) {
  auto found = handlers_.find(stream);
  if (found == handlers_.end()) return;
  StreamHandler* h = found->second;
  handlers_.erase(found);
  if (handlers_.empty()) idleSince_ = clock_.now();
  h->onStreamFailed(errorCode == 0 ? kH2InternalError : errorCode, false);
}

void Http2Upstream::onRequestDrained(int32_t stream) {
  if (StreamHandler* h = handler(stream)) h->onStreamDrained();
}

}  // namespace readygate
