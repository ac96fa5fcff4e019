// UpstreamConnector implementation.
#include "proxy/upstream/upstream_connector.h"

#include <algorithm>
#include <cerrno>
#include <limits>

#include <openssl/x509.h>
#include <sys/socket.h>

#include "proxy/core/log.h"
#include "proxy/transport/proxy_protocol.h"
#include "proxy/transport/tls_transport.h"

namespace readygate {

UpstreamConnector::UpstreamConnector(event_base* base, std::shared_ptr<Service> service,
                                     std::shared_ptr<const ServiceSettings> settings,
                                     BackendLeases& leases, DrainTarget* drainTarget,
                                     Client& client, BufferPool& buffers, UpstreamPool* pool)
    : base_(base),
      service_(std::move(service)),
      settings_(std::move(settings)),
      leases_(leases),
      drainTarget_(drainTarget),
      client_(client),
      buffers_(buffers),
      timer_(Timer::calling<&UpstreamConnector::onTimeout>(base, this)),
      deferredFailure_(Timer::calling<&UpstreamConnector::onDeferredFailure>(base, this)),
      backoffTimer_(Timer::calling<&UpstreamConnector::onBackoff>(base, this)),
      pool_(pool),
      deferredConnected_(Timer::calling<&UpstreamConnector::onDeferredConnected>(base, this)) {}

void UpstreamConnector::onDeferredConnected() { client_.onUpstreamConnected(); }

void UpstreamConnector::onBackoff() {
  tried_.clear();  // every one refused: any of them may be back now
  tryNext();
}

UpstreamConnector::~UpstreamConnector() = default;

void UpstreamConnector::retarget(std::shared_ptr<Service> service,
                                 std::shared_ptr<const ServiceSettings> settings,
                                 DrainTarget& drainTarget) {
  drainTarget_ = &drainTarget;
  if (service_ != service) service_ = std::move(service);
  if (settings_ != settings) settings_ = std::move(settings);
}

void UpstreamConnector::connect() {
  release();
  tried_.clear();
  backoffs_ = 0;
  lastRefused_ = false;
  freshRetried_ = false;
  closeRetried_ = false;
  reused_ = false;
  unprocessedRetries_ = 0;
  unprocessedKept_ = 0;
  tlsFailure_ = {};
  event_base_gettimeofday_cached(base_, &firstAttemptAt_);
  tryNext();
}

void UpstreamConnector::release() {
  timer_.cancel();
  backoffTimer_.cancel();
  deferredConnected_.cancel();
  deferredFailure_.cancel();  // whoever let go wants no outcome any more
  abandonPending();
  connection_.reset();
  lease_.reset();
}

void UpstreamConnector::tryNext() {
  auto snapshot = service_->snapshot();
  std::shared_ptr<Backend> backend = settings_->balancer->pick(*snapshot, tried_, clock_.now());
  ServiceTraffic& traffic = service_->traffic();
  if (!backend) {
    timeval now;
    event_base_gettimeofday_cached(base_, &now);
    double elapsed = static_cast<double>(now.tv_sec - firstAttemptAt_.tv_sec) +
                     static_cast<double>(now.tv_usec - firstAttemptAt_.tv_usec) / 1e6;
    if (!tried_.empty() && lastRefused_ && backoffs_ < kMaxBackoffs) {
      // 25 ms, 50 ms, ... 400 ms: a restart on the same port is over in well under a second.
      double delay = std::min(0.025 * static_cast<double>(1 << backoffs_), 0.4);
      if (elapsed + delay < settings_->connectTimeoutSeconds) {
        ++backoffs_;
        backoffTimer_.arm(delay);
        return;
      }
    }
    if (tried_.empty()) {
      ServiceTraffic::add(traffic.noReadyBackend);
      // Per connection, so debug: readygate_no_ready_backend_total and the
      // backend_state lines (ready_backends=0) tell operators without flooding the log.
      logEvent(LogLevel::Debug, "no_ready_backend", {{"service", service_->name()}});
      fail("no_ready_backend");
    } else {
      // Every backend failed its TLS handshake: that, not a generic failure, is the answer's
      // reason (a wrong CA or name is what the operator must see in the access log).
      fail(tlsFailure_.empty() ? std::string_view("all_backends_failed") : tlsFailure_);
    }
    return;
  }
  if (!tried_.empty()) ServiceTraffic::add(traffic.retries);
  if (snapshot->failOpen && tried_.empty()) ServiceTraffic::add(traffic.failOpen);
  tried_.push_back(backend.get());
  reused_ = false;
  if (const TlsClientContext* tls = settings_->upstreamTls.get()) {
    // The name goes into the pool's key: a connection made for one name never carries a
    // request for another, nor one of another context (a reload's new certificate).
    serverName_ = tls->nameFor(requestName_);
    if (serverName_.empty()) serverName_ = backend->address().host();
    identity_ = std::to_string(tls->id());
    identity_.append(1, ' ').append(serverName_);
  } else {
    identity_.clear();
  }
  if (multiplexed_ != nullptr) {
    if (multiplexed_->hasRoom(*backend, identity_)) {
      lease_.emplace(std::move(backend), leases_, *drainTarget_);
      reused_ = true;
      deferredConnected_.armNow();  // never inside connect()
      return;
    }
  } else if (pool_ != nullptr && !settings_->sendProxyProtocol) {
    if (std::unique_ptr<StreamConnection> idle = pool_->take(*backend, identity_)) {
      lease_.emplace(std::move(backend), leases_, *drainTarget_);
      connection_ = std::move(idle);
      connection_->setHandler(this);
      reused_ = true;
      deferredConnected_.armNow();  // never inside connect()
      return;
    }
  }
  lease_.emplace(std::move(backend), leases_, *drainTarget_);
  connectLeased();
}

void UpstreamConnector::connectLeased() {
  int error = 0;
  connection_ = StreamConnection::connectTo(base_, buffers_, lease_->backend().address(),
                                            static_cast<StreamConnection::Handler&>(*this), error);
  if (!connection_) {
    onConnectFailed(error == ECONNREFUSED ? "connect_refused" : "connect_error");
    return;
  }
  if (multiplexed_ != nullptr) {
    multiplexed_->connectStarted(lease_->backendPtr(), identity_);
    pendingMultiplexed_ = true;
  }
  if (settings_->sendProxyProtocol && clientAddress_ && localAddress_ && !settings_->upstreamTls) {
    // Sent as soon as the connection is up, before anything of the client's.
    connection_->append(*settings_->sendProxyProtocol == ProxyProtocolVersion::V1
                            ? proxyHeaderV1(*clientAddress_, *localAddress_)
                            : proxyHeaderV2(*clientAddress_, *localAddress_));
  }
  timer_.arm(settings_->connectTimeoutSeconds);
  event_base_gettimeofday_cached(base_, &connectStartedAt_);
}

void UpstreamConnector::onConnectFailed(std::string_view reason) {
  timer_.cancel();
  tlsFailure_ = {};
  lastRefused_ = reason == "connect_refused" || reason == "connect_error";
  lease_->backend().connectFailed();
  moveOn("upstream_connect_failed", reason, "connect_retries_exhausted");
}

void UpstreamConnector::retry(std::string_view reason) {
  if (!lease_) return;
  // A new connection that closed before answering may be a pod going down for a restart:
  // once, it may be tried again after the backoff when no other backend is left. A
  // backend that keeps doing it is not retried further.
  lastRefused_ = !reused_ && !closeRetried_;
  closeRetried_ = true;
  moveOn("upstream_retry", reason, "retries_exhausted");
}

bool UpstreamConnector::retryFresh() {
  if (!lease_ || !reused_ || freshRetried_) return false;
  freshRetried_ = true;
  reused_ = false;
  logEvent(LogLevel::Debug, "upstream_stale_connection",
           {{"service", service_->name()}, {"backend", lease_->backend().name()}});
  abandonPending();
  connection_.reset();
  connectLeased();
  return true;
}

void UpstreamConnector::abandonPending() {
  if (!pendingMultiplexed_) return;
  pendingMultiplexed_ = false;
  if (lease_) multiplexed_->connectAbandoned(lease_->backend(), identity_);
}

bool UpstreamConnector::retryUnprocessed() {
  if (!lease_ || unprocessedRetries_ >= kMaxUnprocessed) return false;
  ++unprocessedRetries_;
  const Backend& backend = lease_->backend();
  logEvent(LogLevel::Debug, "upstream_stream_unprocessed",
           {{"service", service_->name()}, {"backend", backend.name()}});
  // A backend still in rotation (a connection aged out, its pod not leaving) may take
  // the request on a new connection; one leaving is not asked again.
  if (backend.inRotation() && backend.retireDeadline() == std::numeric_limits<double>::infinity() &&
      !tried_.empty() && tried_.back() == &backend) {
    tried_.pop_back();
  } else {
    ++unprocessedKept_;  // excluded from now on, but not counted against `retries`
  }
  timer_.cancel();
  deferredConnected_.cancel();
  abandonPending();
  connection_.reset();
  lease_.reset();
  reused_ = false;
  tryNext();
  return true;
}

void UpstreamConnector::pooledWentStale() {
  // Between the pool and the client: the backend closed it (or spoke out of turn) before
  // any request was written. As for a stale connection found after sending: once, a new
  // connection to the same backend, else the next backend.
  if (!connection_ || !reused_) return;
  deferredConnected_.cancel();
  if (!retryFresh()) moveOn("upstream_stale_connection", "closed_while_pooled", "retries_exhausted");
}

void UpstreamConnector::moveOn(std::string_view event, std::string_view reason,
                               std::string_view exhausted) {
  logEvent(LogLevel::Warn, event,
           {{"service", service_->name()},
            {"backend", lease_->backend().name()},
            {"reason", reason},
            {"attempt", tried_.size()}});
  abandonPending();
  connection_.reset();
  lease_.reset();
  if (tried_.size() > static_cast<size_t>(settings_->retries) + unprocessedKept_) {
    fail(exhausted);
    return;
  }
  tryNext();
}

std::shared_ptr<Backend> UpstreamConnector::backendPtr() const {
  return lease_ ? lease_->backendPtr() : nullptr;
}

void UpstreamConnector::fail(std::string_view reason) {
  // Reported from the next loop pass: the client may be inside connect() still.
  failure_ = reason;
  deferredFailure_.armNow();
}

void UpstreamConnector::onDeferredFailure() { client_.onUpstreamFailed(failure_); }

void UpstreamConnector::onConnected(StreamConnection&, int error) {
  if (error != 0) {
    onConnectFailed(error == ECONNREFUSED ? "connect_refused" : "connect_error");
    return;
  }
  if (settings_->upstreamTls) {
    startTls();
    return;
  }
  connected();
}

void UpstreamConnector::startTls() {
  if (settings_->sendProxyProtocol && clientAddress_ && localAddress_) {
    // Before the handshake and outside it: a plain write on a socket just connected has
    // the whole send buffer free, so it goes at once or the connection is no good.
    std::string header = *settings_->sendProxyProtocol == ProxyProtocolVersion::V1
                             ? proxyHeaderV1(*clientAddress_, *localAddress_)
                             : proxyHeaderV2(*clientAddress_, *localAddress_);
    ssize_t sent = ::send(connection_->fd(), header.data(), header.size(), MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(header.size())) {
      onConnectFailed("connect_error");
      return;
    }
  }
  const Backend& backend = lease_->backend();
  std::string sessionKey = backend.address().toString();
  sessionKey.append(1, ' ').append(serverName_);
  SslPtr ssl = settings_->upstreamTls->newSsl(serverName_, sessionKey);
  if (!ssl) {
    onConnectFailed("tls_failed");
    return;
  }
  connection_->useTransport(
      std::make_unique<TlsTransport>(std::move(ssl), connection_->fd(), TlsTransport::Role::Client));
  connection_->startHandshake();  // still under the connect timeout
}

void UpstreamConnector::onHandshake(StreamConnection& connection, int error) {
  auto& tls = static_cast<TlsTransport&>(connection.transport());
  ServiceTraffic& traffic = service_->traffic();
  if (error == 0) {
    ServiceTraffic::add(SSL_session_reused(tls.ssl()) == 1 ? traffic.upstreamTlsResumed
                                                            : traffic.upstreamTlsFull);
    connected();
    return;
  }
  timer_.cancel();
  long verified = SSL_get_verify_result(tls.ssl());
  bool verifyFailed = verified != X509_V_OK;
  ServiceTraffic::add(verifyFailed ? traffic.upstreamTlsVerifyFailed : traffic.upstreamTlsFailed);
  // The details are the operator's, in the warning; the client's 502 says the kind.
  logEvent(LogLevel::Warn, "upstream_tls_failed",
           {{"service", service_->name()},
            {"backend", lease_->backend().name()},
            {"server_name", serverName_},
            {"error", verifyFailed ? std::string(X509_verify_cert_error_string(verified))
                                   : (tls.failure().empty() ? std::string("handshake failed")
                                                            : tls.failure())}});
  // A certificate that does not verify is the configuration's or the pod's problem, not
  // an outage: it is not counted against the backend's health (outlier detection).
  lastRefused_ = false;
  if (!verifyFailed) lease_->backend().connectFailed();
  tlsFailure_ = verifyFailed ? "upstream_tls_verify_failed" : "upstream_tls_handshake_failed";
  moveOn("upstream_connect_failed", verifyFailed ? "tls_verify_failed" : "tls_handshake_failed",
         tlsFailure_);
}

void UpstreamConnector::connected() {
  timer_.cancel();
  lease_->backend().connected();
  timeval now;
  evutil_gettimeofday(&now, nullptr);
  service_->traffic().connectDuration.Observe(
      static_cast<double>(now.tv_sec - connectStartedAt_.tv_sec) +
      static_cast<double>(now.tv_usec - connectStartedAt_.tv_usec) / 1e6);
  client_.onUpstreamConnected();
}

void UpstreamConnector::onTimeout() { onConnectFailed("connect_timeout"); }

}  // namespace readygate
