// ConnectionAttempt implementation.
#include "proxy/probe/connection_attempt.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace readygate {

ConnectionAttempt::ConnectionAttempt(event_base* base, ProbeDone done)
    : base_(base), done_(std::move(done)) {
  deliver_.reset(evtimer_new(
      base_,
      [](evutil_socket_t, short, void* self) {
        auto* attempt = static_cast<ConnectionAttempt*>(self);
        // Last thing this object does: the owner may drop it from here on.
        ProbeDone done = std::move(attempt->done_);
        done(std::move(attempt->result_));
      },
      this));
  timeout_.reset(evtimer_new(
      base_,
      [](evutil_socket_t, short, void* self) {
        static_cast<ConnectionAttempt*>(self)->finish(ProbeResult::failed("timeout"));
      },
      this));
}

void ConnectionAttempt::begin(const SocketAddress& address, double timeoutSeconds) {
  timeval timeout = toTimeval(timeoutSeconds);
  evtimer_add(timeout_.get(), &timeout);
  evutil_socket_t fd = newStreamSocket(address.family());
  if (fd < 0 && isLocalResourceError(errno)) {
    finish(ProbeResult::localResource(std::string("socket: ") + strerror(errno)));
    return;
  }
  connection_.reset(fd < 0 ? nullptr : bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE));
  if (!connection_) {
    if (fd >= 0) evutil_closesocket(fd);
    finish(ProbeResult::failed("connect_error", "bufferevent_socket_new failed"));
    return;
  }
  bufferevent_setcb(connection_.get(), &ConnectionAttempt::onRead, nullptr,
                    &ConnectionAttempt::onEvent, this);
  if (bufferevent_socket_connect(connection_.get(), address.sockaddrPtr(),
                                 static_cast<int>(address.length())) != 0) {
    onConnectError(errno);
  }
}

void ConnectionAttempt::wrapConnection(
    const std::function<bufferevent*(bufferevent* underlying)>& wrap) {
  bufferevent* underlying = connection_.release();
  bufferevent_setcb(underlying, nullptr, nullptr, nullptr, nullptr);
  bufferevent* wrapped = wrap(underlying);
  if (wrapped == nullptr) {
    bufferevent_free(underlying);
    finish(ProbeResult::failed("tls_handshake", "cannot set up TLS"));
    return;
  }
  connection_.reset(wrapped);
  connected_ = false;
  bufferevent_setcb(connection_.get(), &ConnectionAttempt::onRead, nullptr,
                    &ConnectionAttempt::onEvent, this);
}

void ConnectionAttempt::finish(ProbeResult result) {
  if (finished_) return;
  finished_ = true;
  result_ = std::move(result);
  evtimer_del(timeout_.get());
  if (resetOnClose_ && connection_) {
    evutil_socket_t fd = bufferevent_getfd(connection_.get());
    linger abort{1, 0};
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  }
  connection_.reset();  // close now: the probe's socket must not outlive its answer
  timeval now{0, 0};
  evtimer_add(deliver_.get(), &now);
}

void ConnectionAttempt::onConnectError(int error) {
  if (isLocalResourceError(error)) {
    finish(ProbeResult::localResource(std::string("connect: ") + strerror(error)));
  } else if (error == ECONNREFUSED) {
    finish(ProbeResult::failed("connect_refused", "connection refused"));
  } else {
    finish(ProbeResult::failed("connect_error", error ? strerror(error) : "connect failed"));
  }
}

void ConnectionAttempt::onError(int error) {
  finish(ProbeResult::failed("connection_closed", error ? strerror(error) : "connection error"));
}

void ConnectionAttempt::onRead(bufferevent*, void* self) {
  auto* attempt = static_cast<ConnectionAttempt*>(self);
  if (!attempt->finished_) attempt->onReadable();
}

void ConnectionAttempt::onEvent(bufferevent*, short what, void* self) {
  auto* attempt = static_cast<ConnectionAttempt*>(self);
  if (attempt->finished_) return;
  int error = EVUTIL_SOCKET_ERROR();
  if (what & BEV_EVENT_CONNECTED) {
    attempt->connected_ = true;
    attempt->onConnected();
    return;
  }
  if (!attempt->connected_) {
    attempt->onConnectError(error);
    return;
  }
  if (what & BEV_EVENT_EOF) {
    attempt->onEndOfStream();
    return;
  }
  attempt->onError(error);
}

}  // namespace readygate
