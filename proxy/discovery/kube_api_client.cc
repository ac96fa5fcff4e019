// KubeApiClient: connect, verified TLS, one GET, the answer streamed to its handler.
#include "proxy/discovery/kube_api_client.h"

#include <cctype>

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

/// A DNS name as a kubeconfig's server may carry one: dot-separated labels of letters,
/// digits and '-', at most 253 characters (nothing a resolver would refuse or misread).
bool isHostName(const std::string& text) {
  if (text.empty() || text.size() > 253 || text.front() == '.' || text.back() == '-') return false;
  char previous = '.';
  for (char c : text) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    if (!ok || (c == '.' && previous == '.')) return false;
    previous = c;
  }
  return true;
}

}  // namespace

std::variant<std::unique_ptr<KubeApiClient>, std::string> KubeApiClient::create(
    event_base* base, BufferPool& pool, const KubeApiTarget& target, size_t maxFileBytes,
    std::vector<std::string> resolvers) {
  // A numeric address is used as it is; a name is looked up (c-ares) before each request.
  auto numeric = SocketAddress::fromHostPort(target.host, target.port);
  std::optional<SocketAddress> address;
  if (auto* parsed = std::get_if<SocketAddress>(&numeric)) address = *parsed;
  if (!address && !isHostName(target.host)) {
    return target.origin + ": the API server \"" + target.host + "\" is not a host name or an address";
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
      new KubeApiClient(base, pool, target, address,
                        std::get<std::shared_ptr<TlsClientContext>>(tls), maxFileBytes,
                        std::move(resolvers)));
}

KubeApiClient::KubeApiClient(event_base* base, BufferPool& pool, KubeApiTarget target,
                             std::optional<SocketAddress> address,
                             std::shared_ptr<TlsClientContext> tls,
                             size_t maxFileBytes, std::vector<std::string> resolvers)
    : base_(base),
      pool_(pool),
      target_(std::move(target)),
      address_(address),
      tls_(std::move(tls)),
      maxFileBytes_(maxFileBytes),
      resolvers_(std::move(resolvers)),
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
  std::string host =
      address_ && address_->family() == AF_INET6 ? "[" + target_.host + "]" : target_.host;
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
  // The head's deadline covers the lookup too.
  headTimer_.arm(kHeadTimeoutSeconds);
  if (wholeWithinSeconds_ > 0) wholeTimer_.arm(wholeWithinSeconds_);
  if (address_) {
    connect(*address_);
    return;
  }
  if (!resolver_) {
    resolver_ = std::make_unique<DnsResolver>(base_, resolvers_, kHeadTimeoutSeconds / 4);
  }
  if (!resolver_->error().empty()) {
    finish("DNS: " + resolver_->error());
    return;
  }
  uint64_t number = requestNumber_;
  resolver_->resolve(target_.host, target_.port, DnsResolver::Family::Any,
                     [this, number](DnsResolver::Result result) {
                       if (number != requestNumber_) return;  // cancelled meanwhile
                       auto* addresses = std::get_if<std::vector<SocketAddress>>(&result);
                       if (addresses == nullptr || addresses->empty()) {
                         finish("DNS: " + target_.host + ": " +
                                (addresses ? std::string("no addresses")
                                           : std::get<std::string>(result)));
                         return;
                       }
                       connect(addresses->front());
                     });
}

void KubeApiClient::connect(const SocketAddress& address) {
  int failed = 0;
  connection_ = StreamConnection::connectTo(base_, pool_, address, *this, failed);
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
