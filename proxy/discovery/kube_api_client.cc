// KubeApiClient: connect, verified TLS, one GET, the answer streamed to its handler.
#include "proxy/discovery/kube_api_client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>
#include <utility>

#include "proxy/core/clock.h"
#include "proxy/core/file_reader.h"
#include "proxy/transport/tls_transport.h"

namespace readygate {
namespace {

double monotonicNow() {
  static const SteadyClock clock;
  return clock.now();
}

}  // namespace

std::variant<std::unique_ptr<KubeApiClient>, std::string> KubeApiClient::create(
    event_base* base, BufferPool& pool, const KubeApiTarget& target, size_t maxFileBytes) {
  auto address = SocketAddress::fromHostPort(target.host, target.port);
  if (std::holds_alternative<std::string>(address)) {
    return target.origin + ": the API server \"" + target.host +
           "\" must be a numeric address for now (host names are not resolved yet)";
  }
  TlsClientOptions options;
  options.verify = true;  // always: nothing about the API server is taken on trust
  options.caFile = target.caFile;
  options.caPem = target.caPem;
  options.serverName = target.serverName;
  options.certFile = target.clientCertFile;
  options.certPem = target.clientCertPem;
  options.keyFile = target.clientKeyFile;
  options.keyPem = target.clientKeyPem;
  options.maxFileBytes = maxFileBytes;
  auto tls = TlsClientContext::create(options);
  if (auto* error = std::get_if<std::string>(&tls)) return target.origin + ": " + *error;
  return std::unique_ptr<KubeApiClient>(
      new KubeApiClient(base, pool, target, std::get<SocketAddress>(address),
                        std::get<std::shared_ptr<TlsClientContext>>(tls), maxFileBytes));
}

KubeApiClient::KubeApiClient(event_base* base, BufferPool& pool, KubeApiTarget target,
                             SocketAddress address, std::shared_ptr<TlsClientContext> tls,
                             size_t maxFileBytes)
    : base_(base),
      pool_(pool),
      target_(std::move(target)),
      address_(address),
      tls_(std::move(tls)),
      maxFileBytes_(maxFileBytes),
      headTimer_(Timer::calling<&KubeApiClient::onTimeout>(base, this)),
      wholeTimer_(Timer::calling<&KubeApiClient::onWholeTimeout>(base, this)),
      startLater_(Timer::calling<&KubeApiClient::begin>(base, this)) {}

KubeApiClient::~KubeApiClient() = default;

std::optional<std::string> KubeApiClient::token(std::string& error) {
  if (target_.tokenFile.empty()) return target_.token;
  double now = monotonicNow();
  if (!tokenReadAt_ || now - *tokenReadAt_ >= kTokenRereadSeconds) {
    auto read = readRegularFile(target_.tokenFile, kMaxTokenBytes);
    if (const std::string* content = fileContent(read)) {
      token_ = withoutTrailingWhitespace(*content);
      tokenReadAt_ = now;
    } else if (token_.empty()) {
      error = "token file " + target_.tokenFile + ": " + fileError(read);
      return std::nullopt;
    }
    // A read that fails later keeps the token read before: it may still be good.
  }
  return token_;
}

void KubeApiClient::get(const std::string& target, Handler& handler, double wholeWithinSeconds) {
  cancel();
  handler_ = &handler;
  wholeWithinSeconds_ = wholeWithinSeconds;
  ++requestNumber_;
  std::string host = address_.family() == AF_INET6 ? "[" + target_.host + "]" : target_.host;
  request_ = "GET " + target + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(target_.port) +
             "\r\nAccept: application/json\r\nUser-Agent: readygate\r\nConnection: close\r\n";
  startLater_.armNow();
}

void KubeApiClient::begin() {
  std::string error;
  std::optional<std::string> bearer = token(error);
  if (!bearer) {
    finish(error);
    return;
  }
  if (!bearer->empty()) request_.append("Authorization: Bearer ").append(*bearer).append("\r\n");
  request_.append("\r\n");
  retiredReader_.reset();
  reader_ = std::make_unique<ApiResponseReader>(ApiResponseReader::Events{
      [this](int status) {
        headTimer_.cancel();
        if (handler_) handler_->onResponseHead(status);
      },
      [this](std::string_view piece) {
        if (handler_) handler_->onResponseBody(piece);
      },
      nullptr});
  headTimer_.arm(kHeadTimeoutSeconds);
  if (wholeWithinSeconds_ > 0) wholeTimer_.arm(wholeWithinSeconds_);
  int failed = 0;
  connection_ = StreamConnection::connectTo(base_, pool_, address_, *this, failed);
  if (!connection_) finish(std::string("connect: ") + strerror(failed));
}

void KubeApiClient::onConnected(StreamConnection& connection, int error) {
  if (error != 0) {
    finish(std::string("connect: ") + strerror(error));
    return;
  }
  SslPtr ssl = tls_->newSsl(target_.serverName.empty() ? target_.host : target_.serverName);
  if (!ssl) {
    finish("TLS: cannot set up a connection");
    return;
  }
  connection.useTransport(
      std::make_unique<TlsTransport>(std::move(ssl), connection.fd(), TlsTransport::Role::Client));
  connection.startHandshake();
}

void KubeApiClient::onHandshake(StreamConnection& connection, int error) {
  if (error != 0) {
    auto& tls = static_cast<TlsTransport&>(connection.transport());
    long verified = SSL_get_verify_result(tls.ssl());
    finish(std::string("TLS: ") + (verified != X509_V_OK ? X509_verify_cert_error_string(verified)
                                   : tls.failure().empty() ? "handshake failed"
                                                           : tls.failure().c_str()));
    return;
  }
  connection.resumeReading();
  std::string request = std::move(request_);
  request_.clear();
  connection.write(request);  // what the kernel does not take now goes as it can
}

void KubeApiClient::onInput(StreamConnection& connection) {
  uint64_t number = requestNumber_;
  std::string_view bytes = connection.input();
  bool good = reader_->feed(bytes);
  // The handler may have cancelled or started another request from a callback.
  if (number != requestNumber_ || !connection_) return;
  connection.consume(bytes.size());
  if (!good) {
    finish(reader_->error());
  } else if (reader_->complete()) {
    finish("");
  }
}

void KubeApiClient::onClosed(StreamConnection& connection, int error) {
  uint64_t number = requestNumber_;
  if (error != 0) {
    // TLS knows better than errno what went wrong (an EOF without close_notify, ...).
    auto* tls = dynamic_cast<TlsTransport*>(&connection.transport());
    finish("connection: " + (error == EPROTO && tls && !tls->failure().empty()
                                 ? tls->failure()
                                 : std::string(strerror(error))));
    return;
  }
  bool whole = reader_->finishAtClose();
  if (number != requestNumber_) return;
  finish(whole ? std::string() : reader_->error());
}

void KubeApiClient::onTimeout() {
  finish("no answer within " + std::to_string(static_cast<int>(kHeadTimeoutSeconds)) + " s");
}

void KubeApiClient::onWholeTimeout() {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", wholeWithinSeconds_);
  finish(std::string("no whole answer within ") + seconds + " s");
}

void KubeApiClient::finish(std::string error) {
  Handler* handler = handler_;
  cancel();
  if (handler) handler->onResponseDone(error);  // the last thing: it may start the next
}

void KubeApiClient::cancel() {
  ++requestNumber_;
  handler_ = nullptr;
  headTimer_.cancel();
  wholeTimer_.cancel();
  startLater_.cancel();
  request_.clear();
  // From inside the connection's own callback too: its callbacks end with ours.
  connection_.reset();
  if (reader_) retiredReader_ = std::move(reader_);
}

}  // namespace readygate
