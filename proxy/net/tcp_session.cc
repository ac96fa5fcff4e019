// TcpSession implementation: forward with backpressure, half-close.
#include "proxy/net/tcp_session.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/log.h"
#include "proxy/net/socket_tuning.h"
#include "proxy/net/speculative_write.h"

namespace readygate {

TcpSession::TcpSession(event_base* base, std::shared_ptr<Service> service, evutil_socket_t clientFd,
                       BackendLeases& leases, SessionOwner& owner)
    : base_(base), service_(std::move(service)), settings_(service_->settings()), owner_(owner) {
  client_.bev.reset(bufferevent_socket_new(base_, clientFd, BEV_OPT_CLOSE_ON_FREE));
  connector_ = std::make_unique<UpstreamConnector>(base_, service_, settings_, leases,
                                                   static_cast<DrainTarget&>(*this),
                                                   static_cast<UpstreamConnector::Client&>(*this));
}

TcpSession::~TcpSession() = default;

SessionFactory TcpSession::factory() {
  return {[](const SessionContext& context, evutil_socket_t clientFd, const SocketAddress&) {
            return std::make_unique<TcpSession>(context.base, context.service, clientFd,
                                                context.leases, context.owner);
          },
          ""};
}

void TcpSession::start() {
  if (!client_.bev) {
    finish("bufferevent_failed");
    return;
  }
  bufferevent_setcb(client_.bev.get(), &TcpSession::onClientRead, &TcpSession::onClientWrite,
                    &TcpSession::onClientEvent, this);
  setNoDelay(client_.bev.get());
  setSingleTransfer(client_.bev.get(), settings_->bufferHighWatermark);
  holdWrites(client_.bev.get());
  // Client reads wait for the upstream connection: until then its bytes stay in the
  // kernel's socket buffer instead of ours.
  idleTimer_.reset(evtimer_new(base_, &TcpSession::onIdleCheck, this));
  touch();
  startedAt_ = lastActivity_;
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.connectionsTotal);
  traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  timeval idle = toTimeval(settings_->idleTimeoutSeconds);
  evtimer_add(idleTimer_.get(), &idle);
  connector_->connect();
}

void TcpSession::onUpstreamFailed(std::string_view reason) { finish(reason); }

void TcpSession::onUpstreamConnected() {
  upstream_ = Side{};
  upstream_.bev = connector_->takeConnection();
  backendName_ = connector_->backend()->name();
  bufferevent_setcb(upstream_.bev.get(), &TcpSession::onUpstreamRead, &TcpSession::onUpstreamWrite,
                    &TcpSession::onUpstreamEvent, this);
  upstreamConnected_ = true;
  setNoDelay(upstream_.bev.get());
  setSingleTransfer(upstream_.bev.get(), settings_->bufferHighWatermark);
  holdWrites(upstream_.bev.get());  // the connect left its write event armed
  touch();
  bufferevent_enable(client_.bev.get(), EV_READ);
  bufferevent_enable(upstream_.bev.get(), EV_READ);
  logEvent(LogLevel::Debug, "session_connected",
           {{"service", service_->name()}, {"backend", backendName_}});
}

void TcpSession::forward(Side& from, Side& to) {
  touch();
  evbuffer* output = moveInput(from, to);
  flushNow(to.bev.get());  // at once; libevent's write event only for what is left
  if (evbuffer_get_length(output) >= settings_->bufferHighWatermark) {
    // The far end reads slower than this one sends: stop reading until it catches up.
    bufferevent_disable(from.bev.get(), EV_READ);
    from.pausedByPeer = true;
    bufferevent_setwatermark(to.bev.get(), EV_WRITE, settings_->bufferLowWatermark, 0);
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
  writesDrained(to.bev.get());
  touch();
  size_t pending = evbuffer_get_length(bufferevent_get_output(to.bev.get()));
  if (from.pausedByPeer && pending <= settings_->bufferLowWatermark && !from.eof) {
    from.pausedByPeer = false;
    bufferevent_enable(from.bev.get(), EV_READ);
  }
  passShutdownIfFlushed(from, to);
}

void TcpSession::onEndOfStream(Side& from, Side& to) {
  from.eof = true;
  // Whatever arrived with the FIN still goes out before ours.
  moveInput(from, to);
  flushNow(to.bev.get());
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
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    service_->traffic().connectionEnded(secondsBetween(startedAt_, now));
  }
  if (idleTimer_) evtimer_del(idleTimer_.get());
  // Closing both sockets now (not at delete) so peers see the close at once; the
  // bufferevents themselves defer their free past any callback that is running.
  client_.bev.reset();
  upstream_.bev.reset();
  connector_->release();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()}, {"backend", backendName_}, {"reason", reason}});
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
  if (what & BEV_EVENT_EOF) {
    session->onEndOfStream(session->upstream_, session->client_);
    return;
  }
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) session->finish("upstream_error");
}

void TcpSession::onIdleCheck(evutil_socket_t, short, void* self) {
  auto* session = static_cast<TcpSession*>(self);
  timeval now;
  event_base_gettimeofday_cached(session->base_, &now);
  double idleFor = secondsBetween(session->lastActivity_, now);
  double limit = session->settings_->idleTimeoutSeconds;
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
