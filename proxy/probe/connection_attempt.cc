// ConnectionAttempt implementation.
#include "proxy/probe/connection_attempt.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace readygate {

ConnectionAttempt::ConnectionAttempt(event_base* base, ProbeDone done)
    : base_(base),
      done_(std::move(done)),
      timeout_(Timer::calling<&ConnectionAttempt::onTimeout>(base, this)),
      deliver_(Timer::calling<&ConnectionAttempt::deliver>(base, this)) {}

void ConnectionAttempt::deliver() {
  // Last thing this object does: the owner may drop it from here on.
  ProbeDone done = std::move(done_);
  done(std::move(result_));
}

void ConnectionAttempt::onTimeout() { finish(ProbeResult::failed("timeout")); }

void ConnectionAttempt::begin(const SocketAddress& address, double timeoutSeconds) {
  timeout_.arm(timeoutSeconds);
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

void ConnectionAttempt::useTls(const TlsClientContext* tls, std::string serverName,
                               std::string alpn) {
  tls_ = tls;
  serverName_ = std::move(serverName);
  alpn_ = std::move(alpn);
}

void ConnectionAttempt::startTls() {
  tlsStarted_ = true;
  SslPtr ssl = tls_->newSsl(serverName_);
  if (ssl && !alpn_.empty()) {
    std::string offer = static_cast<char>(alpn_.size()) + alpn_;  // ALPN wire format
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(offer.data()),
                        static_cast<unsigned int>(offer.size()));
  }
  bufferevent* underlying = connection_.release();
  bufferevent_setcb(underlying, nullptr, nullptr, nullptr, nullptr);
  bufferevent* filter =
      ssl ? bufferevent_openssl_filter_new(base_, underlying, ssl.release(),
                                           BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)
          : nullptr;
  if (filter == nullptr) {
    bufferevent_free(underlying);
    finish(ProbeResult::failed("tls_handshake", "cannot set up TLS"));
    return;
  }
  // Many servers close without close_notify; that is the end of the answer, not an attack.
  bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
  connection_.reset(filter);
  bufferevent_setcb(filter, &ConnectionAttempt::onRead, nullptr, &ConnectionAttempt::onEvent, this);
  bufferevent_enable(filter, EV_READ | EV_WRITE);
}

void ConnectionAttempt::onTlsFailed() {
  unsigned long code = bufferevent_get_openssl_error(connection_.get());
  char text[256] = "handshake failed";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  finish(ProbeResult::failed("tls_handshake", text));
}

std::string ConnectionAttempt::negotiatedProtocol() const {
  SSL* ssl = tlsStarted_ && connection_ ? bufferevent_openssl_get_ssl(connection_.get()) : nullptr;
  if (ssl == nullptr) return "";
  const unsigned char* chosen = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &chosen, &length);
  return chosen == nullptr ? "" : std::string(reinterpret_cast<const char*>(chosen), length);
}

void ConnectionAttempt::finish(ProbeResult result) {
  if (finished_) return;
  finished_ = true;
  result_ = std::move(result);
  timeout_.cancel();
  if (resetOnClose_ && connection_) {
    evutil_socket_t fd = bufferevent_getfd(connection_.get());
    linger abort{1, 0};
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  }
  connection_.reset();  // close now: the probe's socket must not outlive its answer
  deliver_.armNow();
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
    if (attempt->tls_ != nullptr && !attempt->tlsStarted_) {
      attempt->startTls();  // TCP is up; connected once the handshake is done
      return;
    }
    attempt->connected_ = true;
    attempt->onConnected();
    return;
  }
  if (!attempt->connected_) {
    if (attempt->tlsStarted_) {
      attempt->onTlsFailed();
    } else {
      attempt->onConnectError(error);
    }
    return;
  }
  if (what & BEV_EVENT_EOF) {
    attempt->onEndOfStream();
    return;
  }
  attempt->onError(error);
}

}  // namespace readygate
