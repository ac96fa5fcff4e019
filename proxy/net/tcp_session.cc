// TcpSession implementation: connect, then pump bytes until both sides are shut.
#include "proxy/net/tcp_session.h"

#include "proxy/core/log.h"

namespace readygate {

TcpSession::TcpSession(const SessionContext& context, ClientConnection client)
    : base_(context.base),
      service_(context.service),
      settings_(service_->settings()),
      owner_(context.owner),
      client_(std::move(client.connection)),
      connector_(base_, service_, settings_, context.leases, static_cast<DrainTarget*>(this),
                 static_cast<UpstreamConnector::Client&>(*this), context.buffers),
      idleTimer_(Timer::calling<&TcpSession::onIdleCheck>(base_, this)),
      idle_(base_) {
  peer_ = client.peer;
  local_ = client.local;
  connector_.setClientAddresses(&peer_, &local_);
}

TcpSession::~TcpSession() = default;

SessionFactory TcpSession::factory() {
  return {[](const SessionContext& context, ClientConnection client) {
            return std::make_unique<TcpSession>(context, std::move(client));
          },
          ""};
}

void TcpSession::start() {
  client_->setNoDelay();
  // Client reads wait for the upstream connection: until then its bytes stay in the
  // kernel's socket buffer instead of ours.
  event_base_gettimeofday_cached(base_, &startedAt_);
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(traffic.connectionsTotal);
  traffic.connectionsActive.fetch_add(1, std::memory_order_relaxed);
  counted_ = true;
  idle_.start(idleTimer_, settings_->idleTimeoutSeconds);
  connector_.connect();
}

void TcpSession::onUpstreamFailed(std::string_view reason) { finish(reason); }

void TcpSession::onUpstreamConnected() {
  upstream_ = connector_.takeConnection();
  backendName_ = connector_.backend()->name();
  upstream_->setNoDelay();
  touch();
  logEvent(LogLevel::Debug, "session_connected",
           {{"service", service_->name()}, {"backend", backendName_}});
  pump_.emplace(*client_, *upstream_,
                BytePump::Watermarks{settings_->bufferHighWatermark, settings_->bufferLowWatermark},
                static_cast<BytePump::Owner&>(*this));
  pump_->start();
}

void TcpSession::onPumpActivity(bool fromClient, size_t bytes) {
  touch();
  if (bytes == 0) return;
  ServiceTraffic& traffic = service_->traffic();
  ServiceTraffic::add(fromClient ? traffic.bytesFromClients : traffic.bytesToClients, bytes);
}

void TcpSession::onPumpFailed(bool clientSide, int) {
  finish(clientSide ? "client_error" : "upstream_error");
}

void TcpSession::finish(std::string_view reason) {
  if (finished_) return;
  finished_ = true;
  if (counted_) {
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    service_->traffic().connectionEnded(secondsBetween(startedAt_, now));
  }
  idleTimer_.cancel();
  // Closing both sockets now (not at delete) so peers see the close at once; the objects
  // stay until the session goes (this may run inside one of their callbacks).
  client_->close();
  if (upstream_) upstream_->close();
  connector_.release();
  logEvent(LogLevel::Debug, "session_closed",
           {{"service", service_->name()}, {"backend", backendName_}, {"reason", reason}});
  owner_.sessionFinished(this);
}

void TcpSession::onIdleCheck() {
  if (idle_.expired(idleTimer_)) finish("idle_timeout");
}

}  // namespace readygate
