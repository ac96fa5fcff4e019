// UpstreamConnector implementation.
#include "proxy/upstream/upstream_connector.h"

#include <algorithm>
#include <cerrno>

#include "proxy/core/log.h"

namespace readygate {

UpstreamConnector::UpstreamConnector(event_base* base, std::shared_ptr<Service> service,
                                     std::shared_ptr<const ServiceSettings> settings,
                                     BackendLeases& leases, DrainTarget& drainTarget,
                                     Client& client, UpstreamPool* pool)
    : base_(base),
      service_(std::move(service)),
      settings_(std::move(settings)),
      leases_(leases),
      drainTarget_(drainTarget),
      client_(client),
      pool_(pool) {}

event* UpstreamConnector::timer(EventPtr& slot, event_callback_fn callback) {
  if (!slot) slot.reset(evtimer_new(base_, callback, this));
  return slot.get();
}

void UpstreamConnector::disarm(EventPtr& slot) {
  if (slot) evtimer_del(slot.get());
}

void UpstreamConnector::onDeferredConnected(evutil_socket_t, short, void* self) {
  static_cast<UpstreamConnector*>(self)->client_.onUpstreamConnected();
}

void UpstreamConnector::onBackoff(evutil_socket_t, short, void* self) {
  auto* connector = static_cast<UpstreamConnector*>(self);
  connector->tried_.clear();  // every one refused: any of them may be back now
  connector->tryNext();
}

UpstreamConnector::~UpstreamConnector() = default;

void UpstreamConnector::connect() {
  event_base_gettimeofday_cached(base_, &firstAttemptAt_);
  tryNext();
}

void UpstreamConnector::release() {
  disarm(timer_);
  disarm(backoffTimer_);
  disarm(deferredConnected_);
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
        timeval wait = toTimeval(delay);
        evtimer_add(timer(backoffTimer_, &UpstreamConnector::onBackoff), &wait);
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
      fail("all_backends_failed");
    }
    return;
  }
  if (!tried_.empty()) ServiceTraffic::add(traffic.retries);
  if (snapshot->failOpen && tried_.empty()) ServiceTraffic::add(traffic.failOpen);
  tried_.push_back(backend.get());
  reused_ = false;
  if (pool_ != nullptr) {
    if (BufferEventPtr idle = pool_->take(*backend)) {
      lease_ = std::make_unique<BackendLease>(std::move(backend), leases_, drainTarget_);
      connection_ = std::move(idle);
      reused_ = true;
      timeval now{0, 0};
      // Never inside connect().
      evtimer_add(timer(deferredConnected_, &UpstreamConnector::onDeferredConnected), &now);
      return;
    }
  }
  lease_ = std::make_unique<BackendLease>(std::move(backend), leases_, drainTarget_);
  connectLeased();
}

void UpstreamConnector::connectLeased() {
  const SocketAddress& target = lease_->backend().address();
  evutil_socket_t fd = newStreamSocket(target.family());
  connection_.reset(fd < 0 ? nullptr : bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE));
  if (!connection_) {
    if (fd >= 0) evutil_closesocket(fd);
    onConnectFailed("bufferevent_failed");
    return;
  }
  bufferevent_setcb(connection_.get(), nullptr, nullptr, &UpstreamConnector::onEvent, this);
  timeval timeout = toTimeval(settings_->connectTimeoutSeconds);
  evtimer_add(timer(timer_, &UpstreamConnector::onTimeout), &timeout);
  event_base_gettimeofday_cached(base_, &connectStartedAt_);
  const SocketAddress& address = lease_->backend().address();
  if (bufferevent_socket_connect(connection_.get(), address.sockaddrPtr(),
                                 static_cast<int>(address.length())) != 0) {
    onConnectFailed(errno == ECONNREFUSED ? "connect_refused" : "connect_error");
  }
}

void UpstreamConnector::onConnectFailed(std::string_view reason) {
  disarm(timer_);
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
  connection_.reset();
  connectLeased();
  return true;
}

void UpstreamConnector::moveOn(std::string_view event, std::string_view reason,
                               std::string_view exhausted) {
  logEvent(LogLevel::Warn, event,
           {{"service", service_->name()},
            {"backend", lease_->backend().name()},
            {"reason", reason},
            {"attempt", tried_.size()}});
  connection_.reset();
  lease_.reset();
  if (tried_.size() > static_cast<size_t>(settings_->retries)) {
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
  timeval now{0, 0};
  evtimer_add(timer(deferredFailure_, &UpstreamConnector::onDeferredFailure), &now);
}

void UpstreamConnector::onDeferredFailure(evutil_socket_t, short, void* self) {
  auto* connector = static_cast<UpstreamConnector*>(self);
  connector->client_.onUpstreamFailed(connector->failure_);
}

void UpstreamConnector::onEvent(bufferevent* bev, short what, void* self) {
  auto* connector = static_cast<UpstreamConnector*>(self);
  if (what & BEV_EVENT_CONNECTED) {
    disarm(connector->timer_);
    connector->lease_->backend().connected();
    timeval now;
    evutil_gettimeofday(&now, nullptr);
    connector->service_->traffic().connectDuration.Observe(
        static_cast<double>(now.tv_sec - connector->connectStartedAt_.tv_sec) +
        static_cast<double>(now.tv_usec - connector->connectStartedAt_.tv_usec) / 1e6);
    bufferevent_setcb(bev, nullptr, nullptr, nullptr, nullptr);
    connector->client_.onUpstreamConnected();
    return;
  }
  int error = EVUTIL_SOCKET_ERROR();
  connector->onConnectFailed(error == ECONNREFUSED ? "connect_refused" : "connect_error");
}

void UpstreamConnector::onTimeout(evutil_socket_t, short, void* self) {
  static_cast<UpstreamConnector*>(self)->onConnectFailed("connect_timeout");
}

}  // namespace readygate
