// TcpSession implementation: connect with retry, forward with backpressure, half-close.
#include "proxy/net/tcp_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/log.h"

namespace readygate {
namespace {

double secondsBetween(const timeval& from, const timeval& to) {
  return static_cast<double>(to.tv_sec - from.tv_sec) +
         static_cast<double>(to.tv_usec - from.tv_usec) / 1e6;
}

void setNoDelay(bufferevent* bev) {
  int on = 1;
  evutil_socket_t fd = bufferevent_getfd(bev);
  if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

}  // namespace

TcpSession::TcpSession(event_base* base, std::shared_ptr<Service> service, evutil_socket_t clientFd,
                       SessionOwner& owner)
    : base_(base), service_(std::move(service)), owner_(owner) {
  client_.bev.reset(bufferevent_socket_new(base_, clientFd, BEV_OPT_CLOSE_ON_FREE));
}

TcpSession::~TcpSession() {
  if (backend_) backend_->connectionClosed();
}

void TcpSession::start() {
  if (!client_.bev) {
    finish("bufferevent_failed");
    return;
  }
  bufferevent_setcb(client_.bev.get(), &TcpSession::onClientRead, &TcpSession::onClientWrite,
                    &TcpSession::onClientEvent, this);
  setNoDelay(client_.bev.get());
  // Client reads wait for the upstream connection: until then its bytes stay in the
  // kernel's socket buffer instead of ours.
  connectTimer_.reset(evtimer_new(base_, &TcpSession::onConnectTimeout, this));
  idleTimer_.reset(evtimer_new(base_, &TcpSession::onIdleCheck, this));
  touch();
  startedAt_ = lastActivity_;
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.connectionsTotal);
  traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  timeval idle = toTimeval(service_->config().idleTimeoutSeconds);
  evtimer_add(idleTimer_.get(), &idle);
  connectNextBackend();
}

void TcpSession::connectNextBackend() {
  auto snapshot = service_->snapshot();
  std::shared_ptr<Backend> backend = service_->balancer().pick(*snapshot, tried_);
  ServiceTraffic& traffic = service_->traffic();
  if (!backend) {
    if (tried_.empty()) {
      ServiceTraffic::add(traffic.noReadyBackend);
      // Per connection, so debug: readygate_no_ready_backend_total and the
      // backend_state lines (ready_backends=0) tell operators without flooding the log.
      logEvent(LogLevel::Debug, "no_ready_backend", {{"service", service_->name()}});
      finish("no_ready_backend");
    } else {
      finish("all_backends_failed");
    }
    return;
  }
  if (!tried_.empty()) ServiceTraffic::add(traffic.retries);
  if (snapshot->failOpen && tried_.empty()) ServiceTraffic::add(traffic.failOpen);
  tried_.push_back(backend.get());
  backend_ = std::move(backend);
  backend_->connectionOpened();

  upstream_ = Side{};
  upstream_.bev.reset(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE));
  if (!upstream_.bev) {
    onConnectFailed("bufferevent_failed");
    return;
  }
  bufferevent_setcb(upstream_.bev.get(), &TcpSession::onUpstreamRead, &TcpSession::onUpstreamWrite,
                    &TcpSession::onUpstreamEvent, this);
  timeval timeout = toTimeval(service_->config().connectTimeoutSeconds);
  evtimer_add(connectTimer_.get(), &timeout);
  const SocketAddress& address = backend_->address();
  if (bufferevent_socket_connect(upstream_.bev.get(), address.sockaddrPtr(),
                                 static_cast<int>(address.length())) != 0) {
    onConnectFailed(errno == ECONNREFUSED ? "connect_refused" : "connect_error");
  }
}

void TcpSession::onConnectFailed(std::string_view reason) {
  evtimer_del(connectTimer_.get());
  logEvent(LogLevel::Warn, "upstream_connect_failed",
           {{"service", service_->name()},
            {"backend", backend_->name()},
            {"reason", reason},
            {"attempt", tried_.size()}});
  upstream_ = Side{};
  backend_->connectFailed();
  backend_->connectionClosed();
  backend_.reset();
  if (tried_.size() > static_cast<size_t>(service_->config().connectRetries)) {
    finish("connect_retries_exhausted");
    return;
  }
  connectNextBackend();
}

void TcpSession::onUpstreamConnected() {
  evtimer_del(connectTimer_.get());
  upstreamConnected_ = true;
  setNoDelay(upstream_.bev.get());
  touch();
  bufferevent_enable(client_.bev.get(), EV_READ);
  bufferevent_enable(upstream_.bev.get(), EV_READ);
  logEvent(LogLevel::Debug, "session_connected",
           {{"service", service_->name()}, {"backend", backend_->name()}});
}

void TcpSession::forward(Side& from, Side& to) {
  touch();
  evbuffer* output = moveInput(from, to);
  if (evbuffer_get_length(output) >= kHighWatermark) {
    // The far end reads slower than this one sends: stop reading until it catches up.
    bufferevent_disable(from.bev.get(), EV_READ);
    from.pausedByPeer = true;
    bufferevent_setwatermark(to.bev.get(), EV_WRITE, kLowWatermark, 0);
  }
}

evbuffer* TcpSession::moveInput(Side& from, Side& to) {
  evbuffer* input = bufferevent_get_input(from.bev.get());
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(&from == &client_ ? traffic.bytesFromClients : traffic.bytesToClients,
                      evbuffer_get_length(input));
  evbuffer* output = bufferevent_get_output(to.bev.get());
  evbuffer_add_buffer(output, input);
  return output;
}

void TcpSession::onDrained(Side& to, Side& from) {
  touch();
  size_t pending = evbuffer_get_length(bufferevent_get_output(to.bev.get()));
  if (from.pausedByPeer && pending <= kLowWatermark && !from.eof) {
    from.pausedByPeer = false;
    bufferevent_enable(from.bev.get(), EV_READ);
  }
  passShutdownIfFlushed(from, to);
}

void TcpSession::onEndOfStream(Side& from, Side& to) {
  from.eof = true;
  // Whatever arrived with the FIN still goes out before ours.
  moveInput(from, to);
  passShutdownIfFlushed(from, to);
  finishIfBothClosed();
}

void TcpSession::passShutdownIfFlushed(Side& from, Side& to) {
  if (!from.eof || to.shutdownSent) return;
  if (evbuffer_get_length(bufferevent_get_output(to.bev.get())) > 0) {
    // Be called again once everything is written, not only down to the low watermark.
    bufferevent_setwatermark(to.bev.get(), EV_WRITE, 0, 0);
    return;
  }
  ::shutdown(bufferevent_getfd(to.bev.get()), SHUT_WR);
  to.shutdownSent = true;
}

void TcpSession::finishIfBothClosed() {
  if (client_.shutdownSent && upstream_.shutdownSent) finish("closed");
}

void TcpSession::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  if (counted_) {
    ServiceTraffic& traffic = service_->traffic();
    traffic.connectionsActive.fetch_sub(1, std::memory_order_relaxed);
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    traffic.connectionDuration.Observe(secondsBetween(startedAt_, now));
  }
  if (connectTimer_) evtimer_del(connectTimer_.get());
  if (idleTimer_) evtimer_del(idleTimer_.get());
  // Closing both sockets now (not at delete) so peers see the close at once; the
  // bufferevents themselves defer their free past any callback that is running.
  client_.bev.reset();
  upstream_.bev.reset();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()},
            {"backend", backend_ ? backend_->name() : std::string("-")},
            {"reason", reason}});
  owner_.sessionFinished(this);
}

void TcpSession::touch() { event_base_gettimeofday_cached(base_, &lastActivity_); }

void TcpSession::onClientRead(bufferevent*, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  session->forward(session->client_, session->upstream_);
}

void TcpSession::onUpstreamRead(bufferevent*, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  session->forward(session->upstream_, session->client_);
}

void TcpSession::onClientWrite(bufferevent*, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  session->onDrained(session->client_, session->upstream_);
  session->finishIfBothClosed();
}

void TcpSession::onUpstreamWrite(bufferevent*, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  session->onDrained(session->upstream_, session->client_);
  session->finishIfBothClosed();
}

void TcpSession::onClientEvent(bufferevent*, short what, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  if (what & BEV_EVENT_EOF) {
    if (!session->upstreamConnected_) {
      session->finish("client_closed_before_connect");
      return;
    }
    session->onEndOfStream(session->client_, session->upstream_);
    return;
  }
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) session->finish("client_error");
}

void TcpSession::onUpstreamEvent(bufferevent*, short what, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  if (!session->upstreamConnected_) {
    if (what & BEV_EVENT_CONNECTED) {
      session->onUpstreamConnected();
    } else {
      int error = EVUTIL_SOCKET_ERROR();
      session->onConnectFailed(error == ECONNREFUSED ? "connect_refused" : "connect_error");
    }
    return;
  }
  if (what & BEV_EVENT_EOF) {
    session->onEndOfStream(session->upstream_, session->client_);
    return;
  }
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) session->finish("upstream_error");
}

void TcpSession::onConnectTimeout(evutil_socket_t, short, void* self) {
  static_cast<TcpSession*>(self)->onConnectFailed("connect_timeout");
}

void TcpSession::onIdleCheck(evutil_socket_t, short, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  timeval now;
  event_base_gettimeofday_cached(session->base_, &now);
  double idleFor = secondsBetween(session->lastActivity_, now);
  double limit = session->service_->config().idleTimeoutSeconds;
  if (idleFor >= limit) {
    session->finish("idle_timeout");
    return;
  }
  // Re-arm for the rest of the window rather than on every byte: touching a timer
  // per read would cost more than the bytes.
  timeval rest = toTimeval(limit - idleFor);
  evtimer_add(session->idleTimer_.get(), &rest);
}

}  // namespace readygate
