// ClientPreamble implementation.
#include "proxy/net/client_preamble.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/core/log.h"
#include "proxy/transport/client_trust.h"
#include "proxy/transport/proxy_protocol.h"

namespace readygate {
namespace {

ProxyProtocolVersions versionsOf(ProxyProtocolVersion accept) {
  switch (accept) {
    case ProxyProtocolVersion::V1:
      return ProxyProtocolVersions::V1;
    case ProxyProtocolVersion::V2:
      return ProxyProtocolVersions::V2;
    case ProxyProtocolVersion::Any:
      break;
  }
  return ProxyProtocolVersions::Any;
}

}  // namespace

ClientPreamble::ClientPreamble(event_base* base, BufferPool& buffers, int fd,
                               const SocketAddress& peer, std::shared_ptr<Service> service,
                               Owner& owner)
    : base_(base),
      buffers_(buffers),
      fd_(fd),
      service_(std::move(service)),
      settings_(service_->settings()),
      owner_(owner),
      deadline_(Timer::calling<&ClientPreamble::onDeadline>(base, this)) {
  client_.peer = peer;
}

ClientPreamble::~ClientPreamble() {
  proxyEvent_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void ClientPreamble::start() {
  event_base_gettimeofday_cached(base_, &acceptedAt_);
  deadline_.arm(settings_->tls ? settings_->handshakeTimeoutSeconds : kProxyHeaderTimeoutSeconds);
  if (settings_->proxyProtocol) {
    proxyEvent_.reset(
        event_new(base_, fd_, EV_READ | EV_PERSIST, &ClientPreamble::onProxyReadable, this));
    event_add(proxyEvent_.get(), nullptr);
    return;
  }
  secure();
}

void ClientPreamble::abort() {
  deadline_.cancel();
  proxyEvent_.reset();
  if (client_.connection) client_.connection->close();
}

double ClientPreamble::secondsSinceAccept() const {
  timeval now;
  event_base_gettimeofday_cached(base_, &now);
  return secondsBetween(acceptedAt_, now);
}

void ClientPreamble::onProxyReadable(evutil_socket_t, short, void* self) {
  static_cast<ClientPreamble*>(self)->readProxyHeader();
}

void ClientPreamble::readProxyHeader() {
  char peeked[kMaxProxyHeaderBytes];
  size_t room = kMaxProxyHeaderBytes - header_.size();
  ssize_t got = ::recv(fd_, peeked, room, MSG_PEEK);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (got <= 0) {
    fail(got == 0 ? "proxy_header_eof" : "proxy_header_read_error");
    return;
  }
  std::string seen = header_;
  seen.append(peeked, static_cast<size_t>(got));
  ProxyHeaderParse parse = parseProxyHeader(seen, versionsOf(settings_->proxyProtocol->accept));
  if (parse.status == ProxyHeaderParse::Status::Invalid) {
    logEvent(LogLevel::Debug, "proxy_header_refused",
             {{"service", service_->name()},
              {"client", client_.peer.host()},
              {"error", parse.error}});
    fail("proxy_header_invalid");
    return;
  }
  // Everything peeked is the header's while it is incomplete (no CRLF yet, or fewer bytes
  // than v2's length says); once complete, only up to its end is taken.
  size_t take = parse.status == ProxyHeaderParse::Status::Done ? parse.length - header_.size()
                                                               : static_cast<size_t>(got);
  ssize_t taken = ::recv(fd_, peeked, take, 0);
  if (taken != static_cast<ssize_t>(take)) {
    fail("proxy_header_read_error");
    return;
  }
  header_.append(peeked, take);
  if (parse.status == ProxyHeaderParse::Status::NeedMore) return;
  proxyEvent_.reset();
  if (parse.header.hasAddresses) {
    client_.peer = parse.header.source;
    client_.local = parse.header.destination;
  }
  secure();
}

void ClientPreamble::secure() {
  int fd = fd_;
  fd_ = -1;
  client_.connection = std::make_unique<StreamConnection>(base_, buffers_, fd);
  if (!settings_->tls) {
    done();
    return;
  }
  SslPtr ssl = settings_->tls->newSsl();
  if (!ssl) {
    fail("tls_no_memory");
    return;
  }
  auto transport = std::make_unique<TlsTransport>(std::move(ssl), fd, TlsTransport::Role::Server);
  tls_ = transport.get();
  client_.connection->useTransport(std::move(transport));
  client_.connection->setHandler(this);
  client_.connection->startHandshake();
}

void ClientPreamble::onHandshake(StreamConnection&, int error) {
  const char* result = TlsServerContext::resultOf(*tls_, error);
  service_->traffic().handshakeEnded(result, error == 0 ? tls_->version() : "unknown",
                                     secondsSinceAccept());
  if (error == 0 && SSL_session_reused(tls_->ssl()) == 1) {
    ServiceTraffic::add(service_->traffic().tlsResumed);
  }
  if (error != 0) {
    if (logEnabled(LogLevel::Debug)) {
      logEvent(LogLevel::Debug, "tls_handshake_failed",
               {{"service", service_->name()},
                {"client", client_.peer.host()},
                {"result", result},
                {"error", tls_->failure().empty() ? strerror(error) : tls_->failure()}});
    }
    fail("tls_handshake_failed");
    return;
  }
  client_.secure = true;
  if (!settings_->clientSubjectHeader.empty()) {
    client_.clientSubject = verifiedClientSubject(tls_->ssl());
  }
  done();
}

void ClientPreamble::onDeadline() {
  if (tls_ != nullptr) {
    service_->traffic().handshakeEnded("timeout", "unknown", secondsSinceAccept());
    logEvent(LogLevel::Debug, "tls_handshake_timeout",
             {{"service", service_->name()}, {"client", client_.peer.host()}});
  } else {
    ServiceTraffic::add(service_->traffic().proxyHeaderRefused);
  }
  abort();
  owner_.onPreambleFailed(*this);
}

void ClientPreamble::fail(std::string_view reason) {
  if (reason.starts_with("proxy_header")) ServiceTraffic::add(service_->traffic().proxyHeaderRefused);
  abort();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  owner_.onPreambleFailed(*this);
}

void ClientPreamble::done() {
  deadline_.cancel();
  if (settings_->sendProxyProtocol && client_.local.length() == 0) {
    client_.local = SocketAddress::localOf(client_.connection->fd());
  }
  client_.connection->setHandler(nullptr);
  owner_.onPreambleDone(*this, std::move(client_));
}

}  // namespace readygate
